// Live stock and order status for subscriptions. Stock comes from the
// process-wide StockHub (one pub/sub subscription per product); a stock
// subscription is its validated request, which the shared fan-out
// (src/fanout) serves for all subscribers at once, over graphql-ws and SSE
// alike. Order status is a per-subscriber live feed.
import type { OrderStatus } from "../generated/prisma/enums.js";
import type { PubSubBackend } from "../realtime/pubsub.js";
import { expiresAt, type RequestContext } from "../auth/viewer.js";
import { NotFoundError, ValidationError } from "../errors/domain-errors.js";
import type { ProductService } from "./product.service.js";
import type { OrderService, OrderRow } from "./order.service.js";
import { liveFeed } from "./live-feed.js";
import { StockHub, type StockChange } from "./stock-hub.js";
import { requireInt } from "./limits.js";
import type { LocationService } from "./location.service.js";

export type { StockChange };

export const MAX_SUBSCRIBED_PRODUCTS = 100;
export const MAX_UPDATES_PER_SECOND = 1000;
/** A store screen watches its own location or a few: a bound on the filter every change is checked against. */
export const MAX_SUBSCRIBED_LOCATIONS = 20;

export interface StockWatchRequest {
  /** Database ids, distinct, each an existing product. */
  productIds: string[];
  /** At most this many updates per product per second (the newest state each time); null = every change. */
  maxUpdatesPerSecond: number | null;
  /** Database ids, distinct, each an existing location: only changes that touch one, and only their levels; null = all. */
  locationIds?: string[] | null;
  /** When the subscriber's token expires (ms since the epoch). */
  expiresAt?: number;
}

export interface OrderStatusChange {
  order: OrderRow;
  status: OrderStatus;
  previousStatus: OrderStatus | null;
  version: number;
  occurredAt: Date;
}

export class LiveService {
  readonly stock: StockHub;

  constructor(
    private readonly pubsub: PubSubBackend,
    products: ProductService,
    private readonly orders: OrderService,
    private readonly defaults: { maxUpdatesPerSecond: number } = { maxUpdatesPerSecond: 0 },
    stock?: StockHub,
    private readonly locations?: Pick<LocationService, "byIds">,
  ) {
    this.stock = stock ?? new StockHub(pubsub, products);
  }

  async stockChanges(
    ctx: RequestContext,
    productIds: string[],
    opts: { maxUpdatesPerSecond?: number | null; locationIds?: string[] | null } = {},
  ): Promise<StockWatchRequest> {
    const ids = [...new Set(productIds)];
    if (ids.length === 0) throw new ValidationError("productIds", "Subscribe to at least one product");
    if (ids.length > MAX_SUBSCRIBED_PRODUCTS) {
      throw new ValidationError("productIds", `At most ${MAX_SUBSCRIBED_PRODUCTS} products per subscription`);
    }
    const rate = opts.maxUpdatesPerSecond ?? (this.defaults.maxUpdatesPerSecond || null);
    if (rate !== null) requireInt("maxUpdatesPerSecond", rate, 1, MAX_UPDATES_PER_SECOND);
    const locationIds = await this.knownLocations(opts.locationIds);
    const current = await this.stock.current(ids);
    const missing = current.findIndex((c) => !c);
    if (missing >= 0) throw new NotFoundError("Product", ids[missing]!);
    return { productIds: ids, maxUpdatesPerSecond: rate, locationIds, expiresAt: expiresAt(ctx) };
  }

  /** The locations a subscription filters on, checked: distinct, a bounded few, each one that exists. */
  private async knownLocations(locationIds: string[] | null | undefined): Promise<string[] | null> {
    if (locationIds == null) return null;
    const ids = [...new Set(locationIds)];
    if (ids.length === 0) throw new ValidationError("locationIds", "Name at least one location, or leave locationIds out for all");
    if (ids.length > MAX_SUBSCRIBED_LOCATIONS) {
      throw new ValidationError("locationIds", `At most ${MAX_SUBSCRIBED_LOCATIONS} locations per subscription`);
    }
    const found = this.locations ? await this.locations.byIds(ids) : [];
    const missing = ids.findIndex((_, i) => !found[i]);
    if (missing >= 0) throw new NotFoundError("Location", ids[missing]!);
    return ids;
  }

  async orderStatusChanges(ctx: RequestContext, orderId: string): Promise<AsyncIterable<OrderStatusChange>> {
    const order = await this.orders.visibleOrder(ctx, orderId);
    let latest = order;
    // Each change carries the order as of that change.
    const change = (c: Omit<OrderStatusChange, "order">) => {
      if (c.version > latest.version) latest = { ...latest, status: c.status, version: c.version, updatedAt: c.occurredAt };
      return { key: orderId, ...c, order: { ...latest } };
    };
    return liveFeed({
      subscribe: (onChange) =>
        this.pubsub.subscribe("orderStatus", orderId, (e) =>
          onChange(change({ status: e.status, previousStatus: e.previousStatus, version: e.version, occurredAt: new Date(e.occurredAt) })),
        ),
      current: async () => {
        const [o] = await this.orders.byIds([orderId]);
        return o ? [change({ status: o.status, previousStatus: null, version: o.version, occurredAt: o.updatedAt })] : [];
      },
      onResync: (listener) => this.pubsub.onResync(listener),
      expiresAt: expiresAt(ctx),
    });
  }
}
