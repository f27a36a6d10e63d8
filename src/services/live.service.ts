// Live stock and order status for subscriptions: each is a live feed
// (live-feed.ts) of pub/sub events on the watched products or order, first
// the current state, then every newer version.
import type { Product } from "../generated/prisma/client.js";
import type { OrderStatus } from "../generated/prisma/enums.js";
import type { StockChangedEvent, StockChangeReason } from "../events/stock-changed.event.js";
import type { PubSubBackend } from "../realtime/pubsub.js";
import type { RequestContext } from "../auth/viewer.js";
import { NotFoundError, ValidationError } from "../errors/domain-errors.js";
import type { ProductService } from "./product.service.js";
import type { OrderService, OrderRow } from "./order.service.js";
import { liveFeed } from "./live-feed.js";

export const MAX_SUBSCRIBED_PRODUCTS = 100;

export interface StockChange {
  product: Product;
  stock: number;
  version: number;
  delta: number;
  /** CURRENT for the state sent on subscribe and after a reconnect. */
  reason: StockChangeReason | "CURRENT";
  orderId: string | null;
  occurredAt: Date;
}

export interface OrderStatusChange {
  order: OrderRow;
  status: OrderStatus;
  previousStatus: OrderStatus | null;
  version: number;
  occurredAt: Date;
}

export class LiveService {
  constructor(
    private readonly pubsub: PubSubBackend,
    private readonly products: ProductService,
    private readonly orders: OrderService,
  ) {}

  async stockChanges(_ctx: RequestContext, productIds: string[]): Promise<AsyncIterable<StockChange>> {
    const ids = [...new Set(productIds)];
    if (ids.length === 0) throw new ValidationError("productIds", "Subscribe to at least one product");
    if (ids.length > MAX_SUBSCRIBED_PRODUCTS) {
      throw new ValidationError("productIds", `At most ${MAX_SUBSCRIBED_PRODUCTS} products per subscription`);
    }
    const rows = await this.products.byIds(ids);
    const missing = ids.findIndex((_, i) => !rows[i]);
    if (missing >= 0) throw new NotFoundError("Product", ids[missing]!);
    const byId = new Map(rows.map((p) => [p!.id, p!]));
    // The product as of this change: the row read at subscribe time with the event's stock and version.
    const change = (id: string, c: Omit<StockChange, "product">) => ({ key: id, ...c, product: { ...byId.get(id)!, stock: c.stock, version: c.version } });
    const fromEvent = (id: string, e: StockChangedEvent) =>
      change(id, { stock: e.stock, version: e.version, delta: e.delta, reason: e.reason, orderId: e.orderId, occurredAt: new Date(e.occurredAt) });

    return liveFeed({
      subscribe: async (onChange) => {
        const offs = await Promise.all(ids.map((id) => this.pubsub.subscribe("stock", id, (e) => onChange(fromEvent(id, e)))));
        return () => offs.forEach((off) => off());
      },
      current: async () =>
        (await this.products.byIds(ids)).flatMap((p) =>
          p ? [change(p.id, { stock: p.stock, version: p.version, delta: 0, reason: "CURRENT", orderId: null, occurredAt: p.updatedAt })] : [],
        ),
      onResync: (listener) => this.pubsub.onResync(listener),
    });
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
    });
  }
}
