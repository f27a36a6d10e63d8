// Outbox rows (database ids) -> stream messages (public events, global IDs).
// The shapes themselves live with each event in events/.
import type { Config } from "../config/config.js";
import { STOCK_CHANGED, toStockChangedEvent, type StockChangedPayload } from "../events/stock-changed.event.js";
import { ORDER_STATUS_CHANGED, toOrderStatusChangedEvent, type OrderStatusChangedPayload } from "../events/order-status-changed.event.js";
import { PRICE_CHANGED, toPriceChangedEvent, type PriceChangedPayload } from "../events/price-changed.event.js";
import type { StreamMessage } from "./stream.js";
import type { TraceCarrier } from "../observability/trace-context.js";

export type Topics = Config["topics"];

export function toStreamMessage(
  row: { id: bigint; topic: string; payload: unknown; trace_context?: TraceCarrier | null },
  topics: Topics,
): StreamMessage {
  const eventId = row.id.toString();
  // The trace context travels as message headers (kafkajs' own propagation format: W3C traceparent).
  const headers = row.trace_context ?? undefined;
  if (row.topic === STOCK_CHANGED) {
    const event = toStockChangedEvent(eventId, row.payload as StockChangedPayload);
    return { topic: topics.stockChanged, key: event.productId, value: JSON.stringify(event), headers };
  }
  if (row.topic === ORDER_STATUS_CHANGED) {
    const event = toOrderStatusChangedEvent(eventId, row.payload as OrderStatusChangedPayload);
    return { topic: topics.orderStatusChanged, key: event.orderId, value: JSON.stringify(event), headers };
  }
  if (row.topic === PRICE_CHANGED) {
    const event = toPriceChangedEvent(eventId, row.payload as PriceChangedPayload);
    return { topic: topics.priceChanged, key: event.productId, value: JSON.stringify(event), headers };
  }
  throw new Error(`outbox row ${eventId} has unknown topic ${row.topic}`);
}
