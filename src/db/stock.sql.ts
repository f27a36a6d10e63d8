// Stock changes outside placing an order: an admin's adjustment, the
// committed units a cancelled order returns and a shipped order takes away. Both lock product rows in id order, the
// order placeOrder uses, so none of them can deadlock with another, and write
// through the stock-change builder (stock-change.sql.ts).
import type { DbClient, DbTransaction } from "./database.js";
import { Prisma, type Product } from "../generated/prisma/client.js";
import { HELD_CTES } from "./ledger.sql.js";
import { currentTraceSql, LOCKED_LEVELS, stockChangeCtes } from "./stock-change.sql.js";
import { levelJsonSql, stockChangedOutboxSql } from "../events/stock-changed.event.js";

/** What an adjustment does to a level's on hand: add delta, or set a counted quantity. */
export type OnHandChange = { delta: number } | { onHand: number };

export interface AdjustStockResult {
  product: Product | null;
  /** The change applied (or that would have been): the counted quantity minus what was on hand, for setOnHand. */
  delta: number | null;
  /**
   * The product and the level under the lock, to explain a refusal: stock is the level's on hand, available
   * what is neither committed nor held there, levelVersion the level's version. null: no such product or level.
   */
  current: { sku: string; stock: number; available: number; version: number; levelVersion: number; located: boolean } | null;
}

/**
 * One statement: lock the product, its levels and (FOR SHARE, so it cannot be
 * deactivated meanwhile) the location; check; change the level's on hand and
 * write the event and ledger row together, from the rows as locked (not the
 * statement's snapshot: a write-off queued behind a restock lands on the
 * restocked row); report the rows as they stood under the locks so a refusal
 * can be explained exactly. `expectedVersion` is the product's,
 * `expectedLevelVersion` the level's (setOnHand's compare-and-set). A counted
 * quantity equal to what is on hand writes nothing (product null, delta 0).
 */
export async function adjustStockAtomically(
  prisma: DbClient | DbTransaction,
  p: {
    id: string;
    locationId: string;
    change: OnHandChange;
    expectedVersion: number | null;
    expectedLevelVersion?: number | null;
    adjustment: string;
    note: string | null;
    maxStock: number;
    actor: string;
  },
): Promise<AdjustStockResult> {
  const delta = "delta" in p.change ? Prisma.sql`${p.change.delta}::int` : Prisma.sql`${p.change.onHand}::int - lv.on_hand`;
  const rows = await prisma.$queryRaw<
    (Partial<Product> & { current: AdjustStockResult["current"]; delta: number | null })[]
  >`-- adjust-stock
    WITH locked AS (
      SELECT id, sku, stock, committed, reserved, version FROM product WHERE id = ${p.id}::uuid FOR UPDATE
    ),${HELD_CTES},${LOCKED_LEVELS},
    place AS (SELECT id, active FROM location WHERE id = ${p.locationId}::uuid FOR SHARE),
    cur AS (
      SELECT l.id, l.sku, l.version, lv.location_id, lv.on_hand, lv.available, lv.version AS level_version, place.active, ${delta} AS delta
      FROM locked l JOIN levels lv ON lv.product_id = l.id AND lv.location_id = ${p.locationId}::uuid JOIN place ON place.id = lv.location_id
    ),
    changes AS (
      SELECT cur.id AS product_id, cur.location_id, 1 AS seq, cur.delta AS d_on_hand, 0 AS d_committed, 0 AS d_reserved,
        0 AS d_incoming, CASE WHEN cur.delta > 0 THEN 'RESTOCK' ELSE 'ADJUSTMENT' END AS reason, ${p.note}::text AS note,
        ${p.adjustment}::text AS adjustment, NULL::uuid AS order_id, NULL::uuid AS hold_id, NULL::uuid AS transfer_id, ${p.actor}::text AS actor,
        ${currentTraceSql()} AS trace_context
      FROM cur
      -- A write-off cannot take units that are committed to orders or held (available stays >= 0).
      WHERE cur.active AND cur.delta <> 0 AND cur.available + cur.delta >= 0 AND cur.on_hand + cur.delta <= ${p.maxStock}
        AND (${p.expectedVersion}::int IS NULL OR cur.version = ${p.expectedVersion}::int)
        AND (${p.expectedLevelVersion ?? null}::int IS NULL OR cur.level_version = ${p.expectedLevelVersion ?? null}::int)
    ),${stockChangeCtes()}
    SELECT
      (SELECT json_build_object('sku', sku, 'stock', on_hand, 'available', available, 'version', version, 'levelVersion', level_version,
        'located', active) FROM cur) AS current,
      (SELECT delta FROM cur) AS delta,
      u.id, u.sku, u.name, u.description, u.price_cents AS "priceCents", u.currency, u.stock, u.committed, u.reserved, u.version, u.price_version AS "priceVersion",
      u.created_at AS "createdAt", u.updated_at AS "updatedAt"
    FROM (SELECT 1) one LEFT JOIN stock_written u ON true
  `;
  const { current, delta: applied, ...product } = rows[0]!;
  return { current, delta: applied, product: product.id ? (product as Product) : null };
}

/**
 * An unshipped order's committed units at the locations they were allocated from: cancelling returns
 * them to available (committed down), shipping takes them out (on hand and committed down). With their
 * ledger rows and stock-changed events. Returns the products changed.
 */
export async function releaseOrderStock(
  tx: DbTransaction | DbClient,
  orderId: string,
  actor: string,
  how: "ORDER_CANCELLED" | "ORDER_SHIPPED",
): Promise<string[]> {
  const dOnHand = how === "ORDER_SHIPPED" ? Prisma.sql`-l.quantity` : Prisma.sql`0`;
  const rows = await tx.$queryRaw<{ product_id: string }[]>`
    WITH lines AS (SELECT product_id, location_id, quantity FROM order_allocation WHERE order_id = ${orderId}::uuid),
    locked AS (
      SELECT id, sku, stock, committed, reserved, version FROM product WHERE id IN (SELECT product_id FROM lines) ORDER BY id FOR UPDATE
    ),${LOCKED_LEVELS},
    changes AS (
      SELECT l.product_id, l.location_id, 1 AS seq, ${dOnHand} AS d_on_hand, -l.quantity AS d_committed, 0 AS d_reserved, 0 AS d_incoming,
        ${how}::text AS reason, NULL::text AS note, NULL::text AS adjustment, ${orderId}::uuid AS order_id, NULL::uuid AS hold_id, NULL::uuid AS transfer_id,
        ${actor}::text AS actor, ${currentTraceSql()} AS trace_context
      FROM lines l
    ),${stockChangeCtes()}
    SELECT DISTINCT product_id FROM changes ORDER BY product_id
  `;
  return rows.map((r) => r.product_id);
}

/** Makes sure a product has a (zero) level at a location, so a statement can lock it. */
export async function ensureLevel(db: DbClient | DbTransaction, productId: string, locationId: string): Promise<void> {
  await db.$executeRaw`
    INSERT INTO stock_level (product_id, location_id) SELECT ${productId}::uuid, ${locationId}::uuid
    WHERE EXISTS (SELECT 1 FROM product WHERE id = ${productId}::uuid)
    ON CONFLICT DO NOTHING`;
}

/**
 * The stock-changed event (CREATED) of a product just created, with the levels the database gave it
 * (product_default_level). A statement for the Prisma batch transaction that creates the product.
 */
export const createdEvent = (db: DbClient | DbTransaction, productId: string) => createdEvents(db, [productId]);

/** The CREATED stock-changed events of products just created (the bulk import's new products), one statement. */
export const createdEvents = (db: DbClient | DbTransaction, productIds: readonly string[]) => db.$executeRaw`
  INSERT INTO outbox_event (topic, key, payload, trace_context)
  SELECT ${stockChangedOutboxSql({
    productId: Prisma.sql`p.id`,
    sku: Prisma.sql`p.sku`,
    stock: Prisma.sql`p.stock`,
    committed: Prisma.sql`0`,
    reserved: Prisma.sql`0`,
    version: Prisma.sql`p.version`,
    delta: Prisma.sql`p.stock`,
    reason: Prisma.sql`'CREATED'`,
    orderId: Prisma.sql`NULL::uuid`,
    levels: Prisma.sql`(SELECT coalesce(jsonb_agg(${levelJsonSql({
      locationId: Prisma.sql`s.location_id`,
      locationCode: Prisma.sql`loc.code`,
      onHand: Prisma.sql`s.on_hand`,
      committed: Prisma.sql`s.committed`,
      reserved: Prisma.sql`s.reserved`,
      incoming: Prisma.sql`s.incoming`,
      version: Prisma.sql`s.version`,
      fulfilsOrders: Prisma.sql`loc.active AND loc.fulfils_orders`,
    })} ORDER BY s.location_id), '[]'::jsonb) FROM stock_level s JOIN location loc ON loc.id = s.location_id WHERE s.product_id = p.id)`,
  })}, ${currentTraceSql()}
  FROM product p WHERE p.id = ANY(${productIds as string[]}::uuid[]) ORDER BY p.id`;
