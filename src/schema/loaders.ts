// Per-request DataLoaders: a request batches every lookup of one kind into a
// single query, and caches it for the life of the request only.
import DataLoader from "dataloader";
import type { OrderStatus } from "../generated/prisma/enums.js";
import type { PageRequest } from "../db/keyset.js";
import type { Services } from "../services/index.js";

export interface CustomerOrdersKey {
  customerId: string;
  page: PageRequest;
  status: OrderStatus | null;
}

export function createLoaders(services: Services) {
  return {
    product: new DataLoader((ids: readonly string[]) => services.products.byIds(ids)),
    customer: new DataLoader((ids: readonly string[]) => services.customers.byIds(ids)),
    order: new DataLoader((ids: readonly string[]) => services.orders.byIds(ids)),
    orderItems: new DataLoader((orderIds: readonly string[]) => services.orders.itemsByOrderIds(orderIds)),
    // Keys that share a page and filter are fetched together; different pages
    // (rare within one request) get a query each.
    customerOrders: new DataLoader(
      async (keys: readonly CustomerOrdersKey[]) => {
        const groups = new Map<string, CustomerOrdersKey[]>();
        for (const k of keys) {
          const g = JSON.stringify([k.page, k.status]);
          groups.set(g, [...(groups.get(g) ?? []), k]);
        }
        const results = new Map<CustomerOrdersKey, Awaited<ReturnType<Services["orders"]["pagesByCustomers"]>>[number]>();
        await Promise.all(
          [...groups.values()].map(async (group) => {
            const pages = await services.orders.pagesByCustomers(
              group.map((k) => k.customerId),
              group[0]!.page,
              group[0]!.status,
            );
            group.forEach((k, i) => results.set(k, pages[i]!));
          }),
        );
        return keys.map((k) => results.get(k)!);
      },
      { cacheKeyFn: (k) => JSON.stringify([k.customerId, k.page, k.status]) },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
