// Live stock and order status for subscriptions. Each subscription first gets
// the current state (so a client never shows a stale count), then changes from
// pub/sub. Per product (or order) it only passes on versions newer than the
// last it delivered: duplicates and reordering from at-least-once delivery
// never reach clients. After a pub/sub reconnect it re-reads current state.
import { encodeGlobalID } from "@pothos/plugin-relay";
import { Repeater, SlidingBuffer } from "graphql-yoga";
import type { Product } from "../generated/prisma/client.js";
import type { OrderStatus } from "../generated/prisma/enums.js";
import type { StockChangedEvent, StockChangeReason } from "../events/stock-changed.event.js";
import type { OrderStatusChangedEvent } from "../events/order-status-changed.event.js";
import type { PubSubBackend } from "../realtime/pubsub.js";
import { orderStatusChannel, stockChannel } from "../realtime/channels.js";
import { requireOwnerOrAdmin, type RequestContext } from "../context/request-context.js";
import { NotFoundError, ValidationError } from "../errors/domain-errors.js";
import type { ProductService } from "./product.service.js";
import type { OrderService, OrderRow } from "./order.service.js";

export const MAX_SUBSCRIBED_PRODUCTS = 100;

// What a subscriber that stops reading may have queued. Beyond it the oldest
// changes are dropped: each carries absolute state and versions only grow, so
// the newest is what matters. (An unbuffered Repeater throws after 1,024
// pending pushes, and that exception crashed the process.)
const QUEUE_PER_SUBSCRIPTION = 256;

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
    const byGlobalId = new Map(rows.map((p) => [encodeGlobalID("Product", p!.id), p!]));

    return new Repeater<StockChange>(async (push, stop) => {
      const delivered = new Map<string, number>();
      // Live events that arrive before the snapshot wait for it, so the first
      // message for every product is always its CURRENT count.
      let early: [string, Omit<StockChange, "product">][] | undefined = [];
      const deliver = (globalId: string, change: Omit<StockChange, "product">) => {
        const base = byGlobalId.get(globalId);
        if (!base || change.version <= (delivered.get(globalId) ?? -1)) return;
        delivered.set(globalId, change.version);
        void push({ ...change, product: { ...base, stock: change.stock, version: change.version } });
      };
      const offer = (globalId: string, change: Omit<StockChange, "product">) =>
        early && change.reason !== "CURRENT" ? early.push([globalId, change]) : deliver(globalId, change);
      const current = async () => {
        for (const p of await this.products.byIds(ids)) {
          if (p) offer(encodeGlobalID("Product", p.id), { stock: p.stock, version: p.version, delta: 0, reason: "CURRENT", orderId: null, occurredAt: p.updatedAt });
        }
      };
      // Subscribe before reading, so nothing committed in between is missed.
      const subIds = await Promise.all(
        [...byGlobalId.keys()].map((gid) =>
          this.pubsub.engine.subscribe(stockChannel(gid), (e: StockChangedEvent) =>
            offer(gid, { stock: e.stock, version: e.version, delta: e.delta, reason: e.reason, orderId: e.orderId, occurredAt: new Date(e.occurredAt) }),
          {},
          ),
        ),
      );
      const offResync = this.pubsub.onResync(() => void current().catch(() => {}));
      try {
        await current();
        const waiting = early;
        early = undefined;
        waiting.forEach(([gid, change]) => deliver(gid, change));
        await stop;
      } finally {
        offResync();
        subIds.forEach((id) => this.pubsub.engine.unsubscribe(id));
      }
    }, new SlidingBuffer(QUEUE_PER_SUBSCRIPTION));
  }

  async orderStatusChanges(ctx: RequestContext, orderId: string): Promise<AsyncIterable<OrderStatusChange>> {
    const [order] = await this.orders.byIds([orderId]);
    if (!order) throw new NotFoundError("Order", orderId);
    requireOwnerOrAdmin(ctx, order.customerId);
    const gid = encodeGlobalID("Order", orderId);

    return new Repeater<OrderStatusChange>(async (push, stop) => {
      let delivered = -1;
      let latest = order;
      let early: Omit<OrderStatusChange, "order">[] | undefined = []; // as for stock: current status first
      const deliver = (change: Omit<OrderStatusChange, "order">) => {
        if (change.version <= delivered) return;
        delivered = change.version;
        latest = { ...latest, status: change.status, version: change.version, updatedAt: change.occurredAt };
        void push({ ...change, order: latest });
      };
      const offer = (change: Omit<OrderStatusChange, "order">) => (early ? early.push(change) : deliver(change));
      const current = async () => {
        const [o] = await this.orders.byIds([orderId]);
        if (o) deliver({ status: o.status, previousStatus: null, version: o.version, occurredAt: o.updatedAt });
      };
      const subId = await this.pubsub.engine.subscribe(orderStatusChannel(gid), (e: OrderStatusChangedEvent) =>
        offer({ status: e.status as OrderStatus, previousStatus: e.previousStatus as OrderStatus, version: e.version, occurredAt: new Date(e.occurredAt) }),
        {},
      );
      const offResync = this.pubsub.onResync(() => void current().catch(() => {}));
      try {
        await current();
        const waiting = early;
        early = undefined;
        waiting.forEach(deliver);
        await stop;
      } finally {
        offResync();
        this.pubsub.engine.unsubscribe(subId);
      }
    }, new SlidingBuffer(QUEUE_PER_SUBSCRIPTION));
  }
}
