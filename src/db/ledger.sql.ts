// Pieces every stock statement shares: the ledger row it writes next to the
// change (stock_movement), and what is held under the statement's locks.
//
// product.reserved counts ACTIVE holds, including ones past expiresAt that the
// sweeper has not marked EXPIRED yet. Reads subtract those at once (Product.available);
// writes judge by the column alone, `stock - committed - reserved >= quantity`
// under the product row lock, so an expired hold's units become orderable when the
// sweeper ends it (within a second). Counting lapsed holds inside the write
// statements too would need the hold rows' latest state (FOR SHARE) under the
// product locks: more to prove for a second's gain; the column alone keeps
// stock - committed - reserved >= 0 in every statement.
//
// A statement that locked its products in `locked` (columns id, stock,
// reserved) adds HELD_CTES for `clock` (the time, taken once all its product
// rows are locked, so whoever locks a row later sees a later time; expiry is
// judged by it) and `held` (id, reserved). Lock order everywhere: product
// rows (id order), then hold rows, then waitlist entries.
import { Prisma } from "../generated/prisma/client.js";
import type { DbClient } from "./database.js";

export const HELD_CTES = Prisma.sql`
    clock AS MATERIALIZED (SELECT clock_timestamp() AS t FROM (SELECT count(*) FROM locked) locked_all),
    held AS (SELECT l.id, l.reserved FROM locked l)`;

export const MOVEMENT_COLUMNS = Prisma.sql`(product_id, location_id, delta_on_hand, delta_committed, delta_reserved, delta_incoming,
  on_hand_after, committed_after, reserved_after, incoming_after, reason, adjustment_reason, note, order_id, hold_id, transfer_id, actor, version_after)`;

/** The select list of one stock_movement row (columns as MOVEMENT_COLUMNS), as SQL expressions over the statement's rows. */
export function movementSql(m: {
  productId: Prisma.Sql;
  locationId: Prisma.Sql;
  deltaOnHand: Prisma.Sql;
  deltaCommitted: Prisma.Sql;
  deltaReserved: Prisma.Sql;
  deltaIncoming: Prisma.Sql;
  onHandAfter: Prisma.Sql;
  committedAfter: Prisma.Sql;
  reservedAfter: Prisma.Sql;
  incomingAfter: Prisma.Sql;
  reason: Prisma.Sql;
  adjustmentReason?: Prisma.Sql;
  note?: Prisma.Sql;
  orderId?: Prisma.Sql;
  holdId?: Prisma.Sql;
  transferId?: Prisma.Sql;
  actor: Prisma.Sql;
  versionAfter: Prisma.Sql;
}): Prisma.Sql {
  const NULL = Prisma.sql`NULL`;
  return Prisma.sql`${m.productId}, ${m.locationId}, ${m.deltaOnHand}, ${m.deltaCommitted}, ${m.deltaReserved}, ${m.deltaIncoming},
    ${m.onHandAfter}, ${m.committedAfter}, ${m.reservedAfter}, ${m.incomingAfter}, ${m.reason}, ${m.adjustmentReason ?? NULL}::text, ${m.note ?? NULL}::text,
    ${m.orderId ?? NULL}::uuid, ${m.holdId ?? NULL}::uuid, ${m.transferId ?? NULL}::uuid, ${m.actor}::text, ${m.versionAfter}`;
}

/**
 * The ledger's opening rows (CREATED) for new products (all of them when productId is null): their
 * levels' on hand as they were created. A statement for a Prisma batch transaction.
 */
export const openingMovements = (db: DbClient, productId: string | null, actor: string) => db.$executeRaw`
  INSERT INTO stock_movement ${MOVEMENT_COLUMNS}
  SELECT s.product_id, s.location_id, s.on_hand, 0, 0, 0, s.on_hand, 0, 0, 0, 'CREATED', NULL, NULL, NULL, NULL, NULL, ${actor}, 0
  FROM stock_level s WHERE ${productId}::uuid IS NULL OR s.product_id = ${productId}::uuid`;

/** One place where the ledger and the levels (or a product's totals and its levels) disagree. */
export interface LedgerMismatch {
  productId: string;
  /** null: the product's totals against its levels */
  locationId: string | null;
  what: string;
  ledger: number;
  current: number;
}

/**
 * The ledger invariant, checked in one query: per product and location, the
 * sums of the movements' deltas are the level's numbers now (on hand,
 * committed, reserved, incoming), and per product its totals are the sums of
 * its levels at active locations that fulfil orders. Empty when all agree.
 */
export function ledgerMismatches(db: DbClient): Promise<LedgerMismatch[]> {
  return db.$queryRaw<LedgerMismatch[]>`
    WITH sums AS (
      SELECT product_id, location_id, sum(delta_on_hand)::int AS on_hand, sum(delta_committed)::int AS committed,
        sum(delta_reserved)::int AS reserved, sum(delta_incoming)::int AS incoming
      FROM stock_movement GROUP BY product_id, location_id
    ),
    pairs AS (
      SELECT coalesce(s.product_id, m.product_id) AS product_id, coalesce(s.location_id, m.location_id) AS location_id,
        coalesce(m.on_hand, 0) AS m_on_hand, coalesce(s.on_hand, 0) AS s_on_hand,
        coalesce(m.committed, 0) AS m_committed, coalesce(s.committed, 0) AS s_committed,
        coalesce(m.reserved, 0) AS m_reserved, coalesce(s.reserved, 0) AS s_reserved,
        coalesce(m.incoming, 0) AS m_incoming, coalesce(s.incoming, 0) AS s_incoming
      FROM stock_level s FULL JOIN sums m ON m.product_id = s.product_id AND m.location_id = s.location_id
    ),
    totals AS (
      SELECT p.id AS product_id, p.stock, p.committed, p.reserved,
        coalesce(sum(s.on_hand) FILTER (WHERE l.active AND l.fulfils_orders), 0)::int AS on_hand,
        coalesce(sum(s.committed) FILTER (WHERE l.active AND l.fulfils_orders), 0)::int AS level_committed,
        coalesce(sum(s.reserved) FILTER (WHERE l.active AND l.fulfils_orders), 0)::int AS held
      FROM product p LEFT JOIN stock_level s ON s.product_id = p.id LEFT JOIN location l ON l.id = s.location_id
      GROUP BY p.id
    )
    SELECT product_id AS "productId", location_id AS "locationId", x.what, x.ledger, x.current
    FROM pairs CROSS JOIN LATERAL (VALUES
      ('onHand', m_on_hand, s_on_hand), ('committed', m_committed, s_committed),
      ('reserved', m_reserved, s_reserved), ('incoming', m_incoming, s_incoming)
    ) AS x(what, ledger, current)
    WHERE x.ledger <> x.current
    UNION ALL
    SELECT product_id, NULL, x.what, x.levels, x.product
    FROM totals CROSS JOIN LATERAL (VALUES ('product.stock', on_hand, stock), ('product.committed', level_committed, committed),
      ('product.reserved', held, reserved)) AS x(what, levels, product)
    WHERE x.levels <> x.product
    ORDER BY 1, 2, 3`;
}
