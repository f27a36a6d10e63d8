// The order-status-changed event, defined once: public shape (zod, from which
// the TypeScript type and docs/events/order-status-changed.schema.json are
// derived) and the outbox payload (database ids), written with the change.
import { z } from "zod";
import { encodeGlobalId } from "../ids/index.js";
import { outboxRow, type OutboxRow } from "./outbox.js";

export const ORDER_STATUS_CHANGED = "order-status-changed";

const ORDER_STATUSES = ["PENDING", "CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED"] as const;

/** As published on the stream (topic `orders.status-changed` by default, keyed by orderId) and on pub/sub. */
export const orderStatusChangedEvent = z
  .object({
    eventId: z.string().regex(/^[0-9]+$/),
    orderId: z.string().describe("Relay global ID of the order"),
    customerId: z.string().describe("Relay global ID of the customer"),
    status: z.enum(ORDER_STATUSES),
    previousStatus: z.enum(ORDER_STATUSES),
    version: z.int().min(0),
    occurredAt: z.iso.datetime(),
  })
  .strict()
  .meta({
    $id: "https://stockwire.dev/events/order-status-changed.schema.json",
    title: "order-status-changed",
    description:
      "An order's status after a committed transition. Kafka topic orders.status-changed (KAFKA_TOPIC_ORDER_STATUS), message key = orderId. At-least-once: keep the highest version per order.",
  });

export type OrderStatusChangedEvent = z.infer<typeof orderStatusChangedEvent>;

/** The outbox payload: database ids, no eventId yet. */
export type OrderStatusChangedPayload = Omit<OrderStatusChangedEvent, "eventId">;

export function orderStatusChangedOutbox(payload: OrderStatusChangedPayload): OutboxRow {
  return outboxRow(ORDER_STATUS_CHANGED, payload.orderId, { ...payload } as OutboxRow["payload"]);
}

export function toOrderStatusChangedEvent(eventId: string, p: OrderStatusChangedPayload): OrderStatusChangedEvent {
  return { ...p, eventId, orderId: encodeGlobalId("Order", p.orderId), customerId: encodeGlobalId("Customer", p.customerId) };
}
