// Outbox rows (database ids) <-> stream messages (public events, global IDs).
import { encodeGlobalID } from "@pothos/plugin-relay";
import type { Config } from "../config/config.js";
import { STOCK_CHANGED, type StockChangedEvent, type StockChangedPayload } from "../events/stock-changed.event.js";
import { ORDER_STATUS_CHANGED, type OrderStatusChangedEvent, type OrderStatusChangedPayload } from "../events/order-status-changed.event.js";
import type { StreamMessage } from "./stream.js";

export type Topics = Config["topics"];

export function toStreamMessage(row: { id: bigint; topic: string; payload: Record<string, unknown> }, topics: Topics): StreamMessage {
  const eventId = row.id.toString();
  if (row.topic === STOCK_CHANGED) {
    const p = row.payload as unknown as StockChangedPayload;
    const event: StockChangedEvent = {
      eventId,
      productId: encodeGlobalID("Product", p.productId),
      sku: p.sku,
      stock: p.stock,
      version: p.version,
      delta: p.delta,
      reason: p.reason,
      orderId: p.orderId ? encodeGlobalID("Order", p.orderId) : null,
      occurredAt: p.occurredAt,
    };
    return { topic: topics.stockChanged, key: event.productId, value: JSON.stringify(event) };
  }
  if (row.topic === ORDER_STATUS_CHANGED) {
    const p = row.payload as unknown as OrderStatusChangedPayload;
    const event: OrderStatusChangedEvent = {
      ...p,
      eventId,
      orderId: encodeGlobalID("Order", p.orderId),
      customerId: encodeGlobalID("Customer", p.customerId),
    };
    return { topic: topics.orderStatusChanged, key: event.orderId, value: JSON.stringify(event) };
  }
  throw new Error(`outbox row ${eventId} has unknown topic ${row.topic}`);
}
