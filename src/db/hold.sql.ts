// Holds as single statements, in the shape of placeOrder's (order.sql.ts):
// lock the products in id order, judge against what is available (stock minus
// committed and unexpired holds, see ledger.sql.ts), write the hold, product.reserved, the
// ledger rows and the stock-changed events together, and report what was seen
// under the locks so a refusal can be explained. A hold's lines never change
// after it is placed, so statements that end a hold read them unlocked, then
// lock the products, then the hold row (the lock order of ledger.sql.ts).
import type { DbClient, DbTransaction } from "./database.js";
import { Prisma } from "../generated/prisma/client.js";
import type { HoldStatus } from "../generated/prisma/enums.js";
import { HELD_CTES } from "./ledger.sql.js";
import { currentTraceSql, LOCKED_LEVELS, stockChangeCtes } from "./stock-change.sql.js";
import { allocationSql } from "./allocation.sql.js";
import type { LockedProduct, OrderRow } from "./order.sql.js";

type Db = DbClient | DbTransaction;

export interface HoldRow {
  id: string;
  customerId: string;
  status: HoldStatus;
  expiresAt: Date;
  idempotencyKey: string;
  orderId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const HOLD_COLUMNS = (h: string) =>
  Prisma.raw(`${h}.id, ${h}.customer_id AS "customerId", ${h}.status, ${h}.expires_at AS "expiresAt",
  ${h}.idempotency_key AS "idempotencyKey", ${h}.order_id AS "orderId", ${h}.created_at AS "createdAt", ${h}.updated_at AS "updatedAt"`);

export interface ReserveResult {
  /** Set when this customer already used the key: nothing was written. */
  existingHoldId: string | null;
  hold: HoldRow | null;
  /** `stock` is what was available under the lock. */
  products: LockedProduct[];
}

/** Places a hold for merged, validated lines (product-id order), or writes nothing. */
export async function reserveAtomically(
  db: Db,
  p: {
    customerId: string;
    idempotencyKey: string;
    lines: { productId: string; quantity: number }[];
    ttlSeconds: number;
    actor: string;
    note?: string;
  },
): Promise<ReserveResult> {
  const ids = p.lines.map((l) => l.productId);
  const quantities = p.lines.map((l) => l.quantity);
  const rows = await db.$queryRaw<
    (Partial<HoldRow> & { existing_id: string | null; products: LockedProduct[] | null })[]
  >`-- prepare:reserve
    WITH req AS (
      SELECT * FROM unnest(${ids}::uuid[], ${quantities}::int[]) AS r(product_id, quantity)
    ),
    existing AS (
      SELECT id FROM hold WHERE customer_id = ${p.customerId}::uuid AND idempotency_key = ${p.idempotencyKey}
    ),
    locked AS (
      SELECT p.id, p.sku, p.stock, p.committed, p.reserved, p.version, p.currency
      FROM product p
      WHERE p.id IN (SELECT product_id FROM req) AND NOT EXISTS (SELECT 1 FROM existing)
      ORDER BY p.id
      FOR UPDATE
    ),${HELD_CTES},${LOCKED_LEVELS},
    avail AS (SELECT l.id, l.sku, l.stock, l.stock - l.committed - h.reserved AS available, h.reserved, l.currency FROM locked l JOIN held h ON h.id = l.id),
    alloc AS (${allocationSql(Prisma.sql`
      SELECT r.product_id, r.quantity, lv.location_id, lv.priority, coalesce(lv.available, 0) AS available
      FROM req r LEFT JOIN levels lv ON lv.product_id = r.product_id AND lv.fulfils`)}),
    verdict AS (
      SELECT (SELECT count(*) FROM req r JOIN locked l ON l.id = r.product_id) = ${p.lines.length} AND bool_and(a.line_ok) AS ok FROM alloc a
    ),
    placed AS (
      INSERT INTO hold (customer_id, expires_at, idempotency_key)
      SELECT ${p.customerId}::uuid, c.t + make_interval(secs => ${p.ttlSeconds}), ${p.idempotencyKey}
      FROM verdict v, clock c
      WHERE v.ok
      RETURNING *
    ),
    lines AS (
      INSERT INTO hold_line (hold_id, product_id, quantity) SELECT o.id, r.product_id, r.quantity FROM placed o, req r RETURNING 1
    ),
    allocations AS (
      INSERT INTO hold_allocation (hold_id, product_id, location_id, quantity)
      SELECT o.id, a.product_id, a.location_id, a.take FROM placed o, alloc a WHERE a.take > 0
      RETURNING 1
    ),
    changes AS (
      SELECT a.product_id, a.location_id, 1 AS seq, 0 AS d_on_hand, 0 AS d_committed, a.take AS d_reserved, 0 AS d_incoming,
        'HOLD_PLACED'::text AS reason, ${p.note ?? null}::text AS note, NULL::text AS adjustment, NULL::uuid AS order_id, o.id AS hold_id, NULL::uuid AS transfer_id, ${p.actor}::text AS actor,
        ${currentTraceSql()} AS trace_context
      FROM alloc a, placed o
      WHERE a.take > 0
    ),${stockChangeCtes()}
    SELECT
      (SELECT id FROM existing) AS existing_id,
      (SELECT json_agg(json_build_object('id', id, 'sku', sku, 'stock', available, 'held', reserved, 'currency', currency)) FROM avail) AS products,
      ${HOLD_COLUMNS("o")}
    FROM (SELECT 1) one LEFT JOIN placed o ON true
  `;
  const { existing_id, products, ...hold } = rows[0]!;
  return { existingHoldId: existing_id, hold: hold.id ? (hold as HoldRow) : null, products: products ?? [] };
}

export interface EndHoldResult {
  /** The hold as found under its lock (null: no such hold); `lapsed`: past expiresAt then. */
  found: (Pick<HoldRow, "customerId" | "status"> & { lapsed: boolean }) | null;
  /** Set when this statement ended it: RELEASED or EXPIRED (a lapsed hold released is EXPIRED). */
  ended: HoldStatus | null;
  /** Products whose units came back. */
  productIds: string[];
}

/**
 * Ends an ACTIVE hold: released (by its customer; `customerId` null = anyone) or
 * expired (only once past expiresAt). Its units leave product.reserved; an
 * OFFERED waitlist entry for it lapses. Exactly once: the hold row is re-read
 * under its lock.
 */
export async function endHold(
  db: Db,
  p: { holdId: string; to: "RELEASED" | "EXPIRED"; customerId: string | null; actor: string },
): Promise<EndHoldResult> {
  const rows = await db.$queryRaw<
    { found: EndHoldResult["found"]; ended: HoldStatus | null; product_ids: string[] | null }[]
  >`-- prepare:end-hold
    WITH lines AS (SELECT product_id, location_id, quantity FROM hold_allocation WHERE hold_id = ${p.holdId}::uuid),
    locked AS (
      SELECT p.id, p.sku, p.stock, p.committed, p.reserved, p.version FROM product p WHERE p.id IN (SELECT product_id FROM lines) ORDER BY p.id FOR UPDATE
    ),${HELD_CTES},${LOCKED_LEVELS},
    cur AS (
      SELECT h.id, h.customer_id, h.status, h.expires_at <= c.t AS lapsed FROM hold h, clock c WHERE h.id = ${p.holdId}::uuid FOR UPDATE OF h
    ),
    verdict AS (
      SELECT CASE WHEN cur.lapsed THEN 'EXPIRED' ELSE ${p.to}::text END AS status,
        cur.status = 'ACTIVE' AND (${p.customerId}::uuid IS NULL OR cur.customer_id = ${p.customerId}::uuid)
          AND (${p.to}::text <> 'EXPIRED' OR cur.lapsed) AS ok,
        cur.lapsed
      FROM cur
    ),
    ended AS (
      UPDATE hold h SET status = v.status::"HoldStatus", updated_at = now() FROM verdict v WHERE v.ok AND h.id = ${p.holdId}::uuid
      RETURNING h.id, h.status
    ),
    -- reserved counts this hold, lapsed or not (the column does until now): what is held after is held without it.
    changes AS (
      SELECT x.product_id, x.location_id, 1 AS seq, 0 AS d_on_hand, 0 AS d_committed, -x.quantity AS d_reserved, 0 AS d_incoming,
        'HOLD_' || e.status::text AS reason, NULL::text AS note, NULL::text AS adjustment, NULL::uuid AS order_id, e.id AS hold_id, NULL::uuid AS transfer_id, ${p.actor}::text AS actor,
        ${currentTraceSql()} AS trace_context
      FROM lines x, ended e
    ),${stockChangeCtes()},
    lapsed_offer AS (
      UPDATE waitlist_entry w SET status = 'LAPSED', updated_at = now()
      FROM ended e WHERE w.hold_id = e.id AND w.status = 'OFFERED'
      RETURNING 1
    )
    SELECT
      (SELECT json_build_object('customerId', customer_id, 'status', status, 'lapsed', lapsed) FROM cur) AS found,
      (SELECT status FROM ended) AS ended,
      (SELECT array_agg(DISTINCT product_id) FROM changes) AS product_ids
  `;
  const row = rows[0]!;
  return { found: row.found, ended: row.ended, productIds: row.product_ids ?? [] };
}

export interface ConsumeResult {
  existingOrderId: string | null;
  /** The hold as found under its lock (null: none). */
  found: (Pick<HoldRow, "customerId" | "status" | "orderId"> & { lapsed: boolean }) | null;
  order: OrderRow | null;
  /** Set when the hold's lines were priced in more than one currency. */
  mixedCurrencies: boolean;
  /** Refused, nothing written: a line's price or the customer's group was not what the locked rows say (reprice, resend). */
  priceStale: boolean;
}

/** The hold's lines priced by the rule (services/pricing) for the customer's group, as of each product's priceVersion. */
export interface HeldPrices {
  customerGroup: string | null;
  lines: { productId: string; unitPriceCents: number; priceListId: string | null; priceVersion: number }[];
}

/**
 * placeOrder with a hold: orders exactly the hold's lines from the units it set
 * aside (they move from reserved to committed), so it cannot fail for lack of stock
 * while the hold is ACTIVE and unexpired. Idempotent per (customer, key) like
 * every order. Charged the prices given, checked against the locked rows as
 * placeOrdersBatch checks them (a line without a price, or priced at another
 * price version or for another group, refuses it: priceStale). Without
 * prices (tools and tests below the services) the base prices as locked.
 */
export async function consumeHold(
  db: Db,
  p: { customerId: string; idempotencyKey: string; holdId: string; prices?: HeldPrices },
): Promise<ConsumeResult> {
  const pl = p.prices?.lines ?? [];
  const rows = await db.$queryRaw<
    (Partial<OrderRow> & { existing_id: string | null; found: ConsumeResult["found"]; currencies: number | null; price_stale: boolean })[]
  >`-- prepare:consume-hold
    WITH existing AS (
      SELECT id FROM "order" WHERE customer_id = ${p.customerId}::uuid AND idempotency_key = ${p.idempotencyKey}
    ),
    lines AS (SELECT product_id, quantity FROM hold_line WHERE hold_id = ${p.holdId}::uuid AND NOT EXISTS (SELECT 1 FROM existing)),
    held_at AS (SELECT product_id, location_id, quantity FROM hold_allocation WHERE hold_id = ${p.holdId}::uuid),
    locked AS (
      SELECT p.id, p.sku, p.stock, p.committed, p.reserved, p.version, p.price_cents, p.price_version, p.currency
      FROM product p WHERE p.id IN (SELECT product_id FROM lines) ORDER BY p.id FOR UPDATE
    ),
    priced AS (
      SELECT * FROM unnest(${pl.map((l) => l.productId)}::uuid[], ${pl.map((l) => l.unitPriceCents)}::int[],
        ${pl.map((l) => l.priceListId)}::uuid[], ${pl.map((l) => l.priceVersion)}::int[]) AS x(product_id, unit_price_cents, price_list_id, price_version)
    ),
    stale AS (
      SELECT ${p.prices !== undefined} AND EXISTS (
          SELECT 1 FROM lines x JOIN locked l ON l.id = x.product_id LEFT JOIN priced pr ON pr.product_id = x.product_id
          WHERE pr.price_version IS DISTINCT FROM l.price_version)
        OR ${p.prices !== undefined} AND (SELECT customer_group FROM customer WHERE id = ${p.customerId}::uuid)
          IS DISTINCT FROM ${p.prices?.customerGroup ?? null}::text AS stale
    ),${HELD_CTES},${LOCKED_LEVELS},
    cur AS (
      SELECT h.id, h.customer_id, h.status, h.order_id, h.expires_at <= c.t AS lapsed
      FROM hold h, clock c WHERE h.id = ${p.holdId}::uuid FOR UPDATE OF h
    ),
    verdict AS (
      SELECT cur.status = 'ACTIVE' AND NOT cur.lapsed AND cur.customer_id = ${p.customerId}::uuid
        AND NOT EXISTS (SELECT 1 FROM existing) AND (SELECT count(DISTINCT currency) FROM locked) = 1
        AND NOT (SELECT stale FROM stale) AS ok
      FROM cur
    ),
    placed AS (
      INSERT INTO "order" (customer_id, total_cents, currency, idempotency_key)
      SELECT ${p.customerId}::uuid, t.total, t.currency, ${p.idempotencyKey}
      FROM (
        SELECT sum(coalesce(pr.unit_price_cents, l.price_cents)::bigint * x.quantity) AS total, min(l.currency) AS currency
        FROM lines x JOIN locked l ON l.id = x.product_id LEFT JOIN priced pr ON pr.product_id = x.product_id
      ) t, verdict v
      WHERE v.ok
      RETURNING *
    ),
    items AS (
      INSERT INTO order_item (order_id, product_id, quantity, unit_price_cents, price_list_id)
      SELECT o.id, x.product_id, x.quantity, coalesce(pr.unit_price_cents, l.price_cents), pr.price_list_id
      FROM placed o, lines x JOIN locked l ON l.id = x.product_id LEFT JOIN priced pr ON pr.product_id = x.product_id
      RETURNING 1
    ),
    taken AS (
      UPDATE hold h SET status = 'CONSUMED', order_id = o.id, updated_at = now() FROM placed o WHERE h.id = ${p.holdId}::uuid
      RETURNING h.id
    ),
    allocations AS (
      INSERT INTO order_allocation (order_id, product_id, location_id, quantity)
      SELECT o.id, x.product_id, x.location_id, x.quantity FROM placed o, held_at x
      RETURNING 1
    ),
    changes AS (
      SELECT x.product_id, x.location_id, 1 AS seq, 0 AS d_on_hand, x.quantity AS d_committed, -x.quantity AS d_reserved, 0 AS d_incoming,
        'HOLD_CONSUMED'::text AS reason, NULL::text AS note, NULL::text AS adjustment, o.id AS order_id, ${p.holdId}::uuid AS hold_id, NULL::uuid AS transfer_id,
        'customer:' || o.customer_id AS actor, ${currentTraceSql()} AS trace_context
      FROM held_at x, placed o
    ),${stockChangeCtes()},
    fulfilled AS (
      UPDATE waitlist_entry w SET status = 'FULFILLED', updated_at = now()
      FROM taken t WHERE w.hold_id = t.id AND w.status = 'OFFERED'
      RETURNING 1
    )
    SELECT
      (SELECT id FROM existing) AS existing_id,
      (SELECT json_build_object('customerId', customer_id, 'status', status, 'orderId', order_id, 'lapsed', lapsed) FROM cur) AS found,
      (SELECT count(DISTINCT currency)::int FROM locked) AS currencies,
      (SELECT stale FROM stale) AND (SELECT ok FROM verdict) IS NOT TRUE AND NOT EXISTS (SELECT 1 FROM existing) AS price_stale,
      o.id, o.customer_id AS "customerId", o.status, o.total_cents AS "totalCents", o.currency, o.version,
      o.idempotency_key AS "idempotencyKey", o.created_at AS "createdAt", o.updated_at AS "updatedAt"
    FROM (SELECT 1) one LEFT JOIN placed o ON true
  `;
  const { existing_id, found, currencies, price_stale, ...order } = rows[0]!;
  return {
    existingOrderId: existing_id,
    found,
    order: order.id ? (order as OrderRow) : null,
    mixedCurrencies: (currencies ?? 0) > 1,
    priceStale: price_stale === true,
  };
}

/** ACTIVE holds past expiresAt, oldest expiry first: what the sweeper ends next. */
export function lapsedHoldIds(db: Db, limit: number): Promise<{ id: string }[]> {
  return db.$queryRaw<{ id: string }[]>`
    SELECT id FROM hold WHERE status = 'ACTIVE' AND expires_at <= clock_timestamp() ORDER BY expires_at LIMIT ${limit}`;
}

/** Locks the product and tells what is available now (stock minus committed and unexpired holds); null if it does not exist. */
export async function lockAvailable(tx: DbTransaction, productId: string): Promise<number | null> {
  const [row] = await tx.$queryRaw<{ available: number }[]>`
    WITH locked AS (SELECT id, stock, committed, reserved FROM product WHERE id = ${productId}::uuid FOR UPDATE),${HELD_CTES}
    SELECT l.stock - l.committed - h.reserved AS available FROM locked l JOIN held h ON h.id = l.id`;
  return row ? row.available : null;
}

/** The WAITING entries of a product in line order, locked (after the product: see ledger.sql.ts). */
export function lockWaiting(tx: DbTransaction, productId: string) {
  return tx.$queryRaw<{ id: string; customerId: string; quantity: number }[]>`
    SELECT id, customer_id AS "customerId", quantity FROM waitlist_entry
    WHERE product_id = ${productId}::uuid AND status = 'WAITING' ORDER BY created_at, id FOR UPDATE`;
}
