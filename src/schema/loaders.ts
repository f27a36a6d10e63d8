// Per-request DataLoaders: a request batches every lookup of one kind into a
// single query, and caches it for the life of the request only. Each loader
// is made on first use: a subscription's context (held as long as its socket)
// that never loads anything holds none. Lazy inside this object, not on the
// context, because Yoga copies the context's properties (which would run a
// getter there).
import DataLoader from "dataloader";
import type { OrderStatus } from "../generated/prisma/enums.js";
import type { PageRequest } from "../db/keyset.js";
import type { Services } from "../services/index.js";
import type { RequestContext } from "../auth/viewer.js";

export interface CustomerOrdersKey {
  customerId: string;
  page: PageRequest;
  status: OrderStatus | null;
}

// The request's context goes along for where its reads may go (a read replica, see db/replicas.ts).
const loaders = {
  product: (services: Services, rc: RequestContext) => new DataLoader((ids: readonly string[]) => services.products.byIds(ids, rc)),
  customer: (services: Services, rc: RequestContext) => new DataLoader((ids: readonly string[]) => services.customers.byIds(ids, rc)),
  order: (services: Services, rc: RequestContext) => new DataLoader((ids: readonly string[]) => services.orders.byIds(ids, rc)),
  orderItems: (services: Services, rc: RequestContext) =>
    new DataLoader((orderIds: readonly string[]) => services.orders.itemsByOrderIds(orderIds, rc)),
  hold: (services: Services) => new DataLoader((ids: readonly string[]) => services.holds.byIds(ids)),
  holdLines: (services: Services) => new DataLoader((holdIds: readonly string[]) => services.holds.linesByHoldIds(holdIds)),
  transfer: (services: Services) => new DataLoader((ids: readonly string[]) => services.transfers.byIds(ids)),
  location: (services: Services) => new DataLoader((ids: readonly string[]) => services.locations.byIds(ids)),
  stockLevels: (services: Services) => new DataLoader((productIds: readonly string[]) => services.locations.levelsByProductIds(productIds)),
  orderAllocations: (services: Services) =>
    new DataLoader((orderIds: readonly string[]) => services.locations.allocations("order", orderIds)),
  holdAllocations: (services: Services) => new DataLoader((holdIds: readonly string[]) => services.locations.allocations("hold", holdIds)),
  /** What product.reserved still counts for holds past expiry (Product.available and reserved, when not known with the row). */
  lapsedReserved: (services: Services) => new DataLoader((ids: readonly string[]) => services.products.lapsedReserved(ids)),
  // Keys that share a page and filter are fetched together; different pages
  // (rare within one request) get a query each.
  customerOrders: (services: Services, rc: RequestContext) =>
    new DataLoader(
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
              rc,
            );
            group.forEach((k, i) => results.set(k, pages[i]!));
          }),
        );
        return keys.map((k) => results.get(k)!);
      },
      { cacheKeyFn: (k) => JSON.stringify([k.customerId, k.page, k.status]) },
    ),
};

type Made = { -readonly [K in keyof typeof loaders]?: ReturnType<(typeof loaders)[K]> };

export class Loaders {
  private readonly made: Made = {};

  constructor(
    private readonly services: Services,
    private readonly rc: RequestContext,
  ) {}

  private get<K extends keyof typeof loaders>(key: K): ReturnType<(typeof loaders)[K]> {
    return (this.made[key] ??= loaders[key](this.services, this.rc) as Made[K]) as ReturnType<(typeof loaders)[K]>;
  }

  get product() {
    return this.get("product");
  }
  get customer() {
    return this.get("customer");
  }
  get order() {
    return this.get("order");
  }
  get orderItems() {
    return this.get("orderItems");
  }
  get customerOrders() {
    return this.get("customerOrders");
  }
  get hold() {
    return this.get("hold");
  }
  get holdLines() {
    return this.get("holdLines");
  }
  get transfer() {
    return this.get("transfer");
  }
  get location() {
    return this.get("location");
  }
  get stockLevels() {
    return this.get("stockLevels");
  }
  get orderAllocations() {
    return this.get("orderAllocations");
  }
  get holdAllocations() {
    return this.get("holdAllocations");
  }
  get lapsedReserved() {
    return this.get("lapsedReserved");
  }
}

export const createLoaders = (services: Services, rc: RequestContext) => new Loaders(services, rc);
