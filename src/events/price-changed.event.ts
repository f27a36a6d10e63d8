// The price-changed event, defined once: public shape (zod, from which the
// TypeScript type and docs/events/price-changed.schema.json are derived) and
// the outbox payload (database ids), written in the transaction of the change.
// API instances drop their in-memory prices of the product when it arrives
// (services/pricing/price-book.ts); the order statement checks the product's
// priceVersion anyway, so a late event costs a retry, never a wrong price.
import { z } from "zod";
import { encodeGlobalId } from "../ids/index.js";
import { outboxRow, type OutboxRow } from "./outbox.js";

export const PRICE_CHANGED = "price-changed";

/** As published on the stream (topic `pricing.price-changed` by default, keyed by productId) and on pub/sub. */
export const priceChangedEvent = z
  .object({
    eventId: z.string().regex(/^[0-9]+$/),
    productId: z.string().describe("Relay global ID of the product whose prices changed"),
    priceListId: z
      .string()
      .nullable()
      .describe("Relay global ID of the price list that changed (an entry, its dates, group or priority); null: the product's base price"),
    priceVersion: z.int().min(0).describe("The product's price version after the change: keep the highest per product"),
    occurredAt: z.iso.datetime(),
  })
  .strict()
  .meta({
    $id: "https://stockwire.dev/events/price-changed.schema.json",
    title: "price-changed",
    description:
      "What a product costs someone changed (committed). Kafka topic pricing.price-changed (KAFKA_TOPIC_PRICE), message key = productId. At-least-once: keep the highest priceVersion per product; read the new prices with Product.price.",
  });

export type PriceChangedEvent = z.infer<typeof priceChangedEvent>;

/** The outbox payload: database ids, no eventId yet. */
export type PriceChangedPayload = Omit<PriceChangedEvent, "eventId">;

export function priceChangedOutbox(payload: PriceChangedPayload): OutboxRow {
  return outboxRow(PRICE_CHANGED, payload.productId, { ...payload } as OutboxRow["payload"]);
}

export function toPriceChangedEvent(eventId: string, p: PriceChangedPayload): PriceChangedEvent {
  return {
    ...p,
    eventId,
    productId: encodeGlobalId("Product", p.productId),
    priceListId: p.priceListId ? encodeGlobalId("PriceList", p.priceListId) : null,
  };
}
