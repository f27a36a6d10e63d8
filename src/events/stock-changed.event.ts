// The stock-changed domain event, as stored in the outbox (database ids) and
// as published on the stream (global IDs, see realtime/). Written in the same
// transaction as the change it describes, so a rolled-back change has none.

import type { OutboxRow } from "./outbox.js";

export const STOCK_CHANGED = "stock-changed";

export type StockChangeReason = "ORDER_PLACED" | "ORDER_CANCELLED" | "RESTOCK" | "ADJUSTMENT" | "CREATED";

/** Outbox payload. Keep in step with the jsonb built in db/order.sql.ts. */
export interface StockChangedPayload {
  productId: string;
  sku: string;
  /** Absolute stock after the change. */
  stock: number;
  /** Product version after the change: consumers drop anything not newer. */
  version: number;
  delta: number;
  reason: StockChangeReason;
  orderId: string | null;
  occurredAt: string;
  note?: string;
}

export function stockChangedOutbox(payload: StockChangedPayload): OutboxRow {
  return { topic: STOCK_CHANGED, key: payload.productId, payload: { ...payload } as OutboxRow["payload"] };
}

/**
 * The stock-changed event as published on the stream (topic
 * `inventory.stock-changed` by default, keyed by productId). Public contract
 * for other services; JSON schema in docs/events/stock-changed.schema.json.
 * Delivery is at-least-once and, across relay fail-overs, possibly out of
 * order: consumers keep the highest `version` per product and drop the rest.
 */
export interface StockChangedEvent extends Omit<StockChangedPayload, "note"> {
  /** Unique per event (the outbox row id): deduplicate on it if you must. */
  eventId: string;
  // productId and orderId are relay global IDs here, as the GraphQL API returns them.
}
