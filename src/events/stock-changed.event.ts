// The stock-changed event, defined once: its public shape (zod, from which the
// TypeScript type and docs/events/stock-changed.schema.json are derived), the
// outbox payload the services write (database ids), and the one SQL fragment
// that builds that payload inside the order and stock statements. Written in
// the same transaction as the change it describes, so a rolled-back change has none.
import { z } from "zod";
import { Prisma } from "../generated/prisma/client.js";
import { encodeGlobalId } from "../ids/index.js";

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

/** Version 2 added schemaVersion and levels; version 1 events (written before) carry neither. */
export const STOCK_CHANGED_SCHEMA_VERSION = 2;

/** One location's level of the product right after the change (the levels the change touched). */
export const stockChangedLevel = z
  .object({
    locationId: z.string().describe("Relay global ID of the location"),
    locationCode: z.string(),
    onHand: z.int().min(0),
    committed: z.int().min(0),
    reserved: z.int().min(0),
    incoming: z.int().min(0),
    available: z.int().min(0).describe("onHand - committed - reserved"),
    version: z.int().min(0).describe("The level's version: increases with every change of this level, so keep the highest per location"),
    fulfilsOrders: z.boolean().describe("The location is active and fulfils orders: this level counts in the product's totals"),
  })
  .strict();

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
    schemaVersion: z
      .literal(STOCK_CHANGED_SCHEMA_VERSION)
      .optional()
      .describe("2: the event carries levels (absent: a version 1 event, written before levels existed)"),
    levels: z
      .array(stockChangedLevel)
      .optional()
      .describe(
        "The levels this change touched, each as it stood right after the change (untouched levels are as before); absent in version 1 events. CREATED lists the product's first levels",
      ),
  })
  .strict()
  .meta({
    $id: "https://stockwire.dev/events/stock-changed.schema.json",
    title: "stock-changed",
    description:
      "One product's stock after a committed change (schema version 2: per-location levels). Kafka topic inventory.stock-changed (KAFKA_TOPIC_STOCK), message key = productId, value = this JSON. Delivery is at-least-once and may repeat or, across relay fail-overs, reorder: keep the highest version per product and drop anything not newer.",
  });

export type StockChangedEvent = z.infer<typeof stockChangedEvent>;
export type StockChangedLevel = z.infer<typeof stockChangedLevel>;

/**
 * The outbox payload: database ids, no eventId yet, and the adjustment's free-text note. Rows written
 * before holds existed lack available/reserved/holdId (then available = stock, nothing reserved).
 */
export type StockChangedPayload = Omit<
  StockChangedEvent,
  "eventId" | "available" | "committed" | "reserved" | "holdId" | "schemaVersion" | "levels"
> & {
  available?: number;
  committed?: number;
  reserved?: number;
  holdId?: string | null;
  note?: string;
  /** Location database ids; absent in rows written before schema version 2. */
  levels?: StockChangedLevel[];
};

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
    ...(p.levels && {
      schemaVersion: STOCK_CHANGED_SCHEMA_VERSION,
      levels: p.levels.map((l) => ({ ...l, locationId: encodeGlobalId("Location", l.locationId) })),
    }),
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
  /** A jsonb array of the touched levels as stockChangedLevel (location database ids): see LEVEL_JSON. */
  levels: Prisma.Sql;
}): Prisma.Sql {
  return Prisma.sql`${STOCK_CHANGED}, ${e.productId}::text, jsonb_build_object(
    'productId', ${e.productId}, 'sku', ${e.sku}, 'stock', ${e.stock}, 'available', (${e.stock}) - (${e.committed}) - (${e.reserved}),
    'committed', ${e.committed}, 'reserved', ${e.reserved}, 'version', ${e.version}, 'delta', ${e.delta},
    'reason', ${e.reason}, 'orderId', ${e.orderId}, 'holdId', ${e.holdId ?? Prisma.sql`NULL::uuid`},
    'occurredAt', ${OCCURRED_AT_NOW}, 'levels', ${e.levels})${e.note ? Prisma.sql` || jsonb_strip_nulls(jsonb_build_object('note', ${e.note}))` : Prisma.empty}`;
}

/**
 * One level as a stockChangedLevel (location database id), from SQL expressions: the `levels` of
 * stockChangedOutboxSql is a jsonb_agg of these.
 */
export function levelJsonSql(l: {
  locationId: Prisma.Sql;
  locationCode: Prisma.Sql;
  onHand: Prisma.Sql;
  committed: Prisma.Sql;
  reserved: Prisma.Sql;
  incoming: Prisma.Sql;
  version: Prisma.Sql;
  fulfilsOrders: Prisma.Sql;
}): Prisma.Sql {
  return Prisma.sql`jsonb_build_object('locationId', ${l.locationId}, 'locationCode', ${l.locationCode}, 'onHand', ${l.onHand},
    'committed', ${l.committed}, 'reserved', ${l.reserved}, 'incoming', ${l.incoming},
    'available', (${l.onHand}) - (${l.committed}) - (${l.reserved}), 'version', ${l.version}, 'fulfilsOrders', ${l.fulfilsOrders})`;
}
