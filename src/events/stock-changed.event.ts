// The stock-changed event, defined once: its public shape (zod, from which the
// TypeScript type and docs/events/stock-changed.schema.json are derived), the
// outbox payload the services write (database ids), and the one SQL fragment
// that builds that payload inside the order and stock statements. Written in
// the same transaction as the change it describes, so a rolled-back change has none.
import { z } from "zod";
import { Prisma } from "../generated/prisma/client.js";
import { encodeGlobalId } from "../ids/index.js";
import { outboxRow, type OutboxRow } from "./outbox.js";

export const STOCK_CHANGED = "stock-changed";

export const STOCK_CHANGE_REASONS = [
  "ORDER_PLACED",
  "ORDER_CANCELLED",
  "ORDER_SHIPPED",
  "RESTOCK",
  "ADJUSTMENT",
  "CREATED",
  "HOLD_PLACED",
  "HOLD_RELEASED",
  "HOLD_EXPIRED",
  "HOLD_CONSUMED",
  "TRANSFER_SENT",
  "TRANSFER_RECEIVED",
  "TRANSFER_CANCELLED",
] as const;
export type StockChangeReason = (typeof STOCK_CHANGE_REASONS)[number];

/**
 * As published on the stream (topic `inventory.stock-changed` by default,
 * keyed by productId) and on pub/sub. Public contract for other services.
 */
export const stockChangedEvent = z
  .object({
    eventId: z
      .string()
      .regex(/^[0-9]+$/)
      .describe("Unique per event (the outbox row id)"),
    productId: z.string().describe("Relay global ID of the product, as the GraphQL API returns it"),
    sku: z.string(),
    stock: z.int().min(0).describe("Absolute stock on hand after the change"),
    available: z
      .int()
      .min(0)
      .optional()
      .describe(
        "What shoppers can still order or hold after the change: stock minus committed minus unexpired holds (absent before holds existed: = stock)",
      ),
    committed: z
      .int()
      .min(0)
      .optional()
      .describe("Units committed to placed orders not yet shipped, after the change (absent before committed stock existed: 0)"),
    reserved: z.int().min(0).optional().describe("Units held by unexpired holds after the change (absent before holds existed: 0)"),
    version: z.int().min(0).describe("Product version after the change; increases with every write"),
    delta: z
      .int()
      .describe("Change in stock on hand: negative for shipped orders and write-offs (0 for a placed order: its units are committed)"),
    reason: z.enum(STOCK_CHANGE_REASONS),
    orderId: z
      .string()
      .nullable()
      .describe("Relay global ID of the order, for ORDER_PLACED, ORDER_CANCELLED, ORDER_SHIPPED and HOLD_CONSUMED"),
    holdId: z.string().nullable().optional().describe("Relay global ID of the hold, for the HOLD_* reasons"),
    occurredAt: z.iso.datetime().describe("Commit time of the change (UTC)"),
  })
  .strict()
  .meta({
    $id: "https://stockwire.dev/events/stock-changed.schema.json",
    title: "stock-changed",
    description:
      "One product's stock after a committed change. Kafka topic inventory.stock-changed (KAFKA_TOPIC_STOCK), message key = productId, value = this JSON. Delivery is at-least-once and may repeat or, across relay fail-overs, reorder: keep the highest version per product and drop anything not newer.",
  });

export type StockChangedEvent = z.infer<typeof stockChangedEvent>;

/**
 * The outbox payload: database ids, no eventId yet, and the adjustment's free-text note. Rows written
 * before holds existed lack available/reserved/holdId (then available = stock, nothing reserved).
 */
export type StockChangedPayload = Omit<StockChangedEvent, "eventId" | "available" | "committed" | "reserved" | "holdId"> & {
  available?: number;
  committed?: number;
  reserved?: number;
  holdId?: string | null;
  note?: string;
};

export function stockChangedOutbox(payload: StockChangedPayload): OutboxRow {
  return outboxRow(STOCK_CHANGED, payload.productId, { ...payload } as OutboxRow["payload"]);
}

/** Outbox payload -> public event: global IDs, the note stays internal. */
export function toStockChangedEvent(eventId: string, p: StockChangedPayload): StockChangedEvent {
  return {
    eventId,
    productId: encodeGlobalId("Product", p.productId),
    sku: p.sku,
    stock: p.stock,
    available: p.available ?? p.stock,
    committed: p.committed ?? 0,
    reserved: p.reserved ?? 0,
    version: p.version,
    delta: p.delta,
    reason: p.reason,
    orderId: p.orderId ? encodeGlobalId("Order", p.orderId) : null,
    holdId: p.holdId ? encodeGlobalId("Hold", p.holdId) : null,
    occurredAt: p.occurredAt,
  };
}

/** now() as the payload's occurredAt: ISO-8601 UTC with milliseconds, as Date.toISOString() writes it. */
export const OCCURRED_AT_NOW = Prisma.sql`to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The outbox columns (topic, key, payload) of a stock-changed row, as SQL, for
 * statements that write the event next to the change. Arguments are SQL
 * expressions over the statement's own rows.
 */
export function stockChangedOutboxSql(e: {
  productId: Prisma.Sql;
  sku: Prisma.Sql;
  stock: Prisma.Sql;
  /** Units committed to unshipped orders after the change. */
  committed: Prisma.Sql;
  /** Unexpired holds' units after the change (product.reserved minus ACTIVE holds already past expiry). */
  reserved: Prisma.Sql;
  version: Prisma.Sql;
  delta: Prisma.Sql;
  reason: Prisma.Sql;
  orderId: Prisma.Sql;
  holdId?: Prisma.Sql;
  /** Text or NULL: the key is left out when NULL (only adjustments carry one). */
  note?: Prisma.Sql;
}): Prisma.Sql {
  return Prisma.sql`${STOCK_CHANGED}, ${e.productId}::text, jsonb_build_object(
    'productId', ${e.productId}, 'sku', ${e.sku}, 'stock', ${e.stock}, 'available', (${e.stock}) - (${e.committed}) - (${e.reserved}),
    'committed', ${e.committed}, 'reserved', ${e.reserved}, 'version', ${e.version}, 'delta', ${e.delta},
    'reason', ${e.reason}, 'orderId', ${e.orderId}, 'holdId', ${e.holdId ?? Prisma.sql`NULL::uuid`},
    'occurredAt', ${OCCURRED_AT_NOW})${e.note ? Prisma.sql` || jsonb_strip_nulls(jsonb_build_object('note', ${e.note}))` : Prisma.empty}`;
}
