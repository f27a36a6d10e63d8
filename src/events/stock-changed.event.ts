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
