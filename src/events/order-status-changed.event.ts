// The order-status-changed domain event, written to the outbox with the change.

import type { OutboxRow } from "./outbox.js";

export const ORDER_STATUS_CHANGED = "order-status-changed";

export interface OrderStatusChangedPayload {
  orderId: string;
  customerId: string;
  status: string;
  previousStatus: string;
  version: number;
  occurredAt: string;
}

export function orderStatusChangedOutbox(payload: OrderStatusChangedPayload): OutboxRow {
  return { topic: ORDER_STATUS_CHANGED, key: payload.orderId, payload: { ...payload } as OutboxRow["payload"] };
}

/** As published on the stream (topic `orders.status-changed` by default, keyed by orderId); IDs are global IDs. */
export interface OrderStatusChangedEvent extends OrderStatusChangedPayload {
  eventId: string;
}
