// Per-request DataLoaders: a request batches every lookup of one kind into a
// single query, and caches it for the life of the request only. Each loader
// is made on first use: a subscription's context (held as long as its socket)
// that never loads anything holds none. Lazy inside this object, not on the
// context, because Yoga copies the context's properties (which would run a
// getter there).
//
// Ours rather than @pothos/plugin-dataloader (looked at 2026-12): its
// loadableObject / t.loadable would move each batch function into its object
// type and keep loaders per context in a WeakMap, but it would not make the
// code smaller where it matters. node(id:) and nodes(ids:) are our own
// (schema/node.ts: each ID answered on its own, a refused one an error at its
// position); the plugin's loadableNode feeds the Relay plugin's node fields,
// which are off, so node.ts would still call loaders by hand. Who may see a
// row (the services' visible(), which asks for credentials before it looks
// at what was found, so an existing and a missing ID answer alike) is checked
// after the load only where the ID came from the client; loads that follow a
// row the viewer already sees skip it. A loadable type has one load function
// for every field that loads it, so that check would still sit in those
// resolvers. And the fan-out drops a subscription's context's loaders (memory
// per socket), where a WeakMap keyed by that context keeps them as long as
// the socket stays open.
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
  waitlistEntry: (services: Services) => new DataLoader((ids: readonly string[]) => services.waitlist.byIds(ids)),
  holdLines: (services: Services) => new DataLoader((holdIds: readonly string[]) => services.holds.linesByHoldIds(holdIds)),
  transfer: (services: Services) => new DataLoader((ids: readonly string[]) => services.transfers.byIds(ids)),
  location: (services: Services) => new DataLoader((ids: readonly string[]) => services.locations.byIds(ids)),
  /** What the price rule needs per product, from the process's price book (memory; misses read in one statement). */
  pricing: (services: Services) => new DataLoader((ids: readonly string[]) => services.prices.pricing(ids)),
  priceList: (services: Services) => new DataLoader((ids: readonly string[]) => services.priceLists.byIds(ids)),
  stockLevels: (services: Services) => new DataLoader((productIds: readonly string[]) => services.locations.levelsByProductIds(productIds)),
  orderAllocations: (services: Services) =>
    new DataLoader((orderIds: readonly string[]) => services.locations.allocations("order", orderIds)),
  holdAllocations: (services: Services) => new DataLoader((holdIds: readonly string[]) => services.locations.allocations("hold", holdIds)),
  /** A product's counts now with what its holds past expiry still count and when the next lapses (Product.available, reserved). */
  holdReading: (services: Services) => new DataLoader((ids: readonly string[]) => services.products.holdReadings(ids)),
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
  get waitlistEntry() {
    return this.get("waitlistEntry");
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
  get pricing() {
    return this.get("pricing");
  }
  get priceList() {
    return this.get("priceList");
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
  get holdReading() {
    return this.get("holdReading");
  }
}

export const createLoaders = (services: Services, rc: RequestContext) => new Loaders(services, rc);
