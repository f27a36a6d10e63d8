// Pieces every stock statement shares: the ledger row it writes next to the
// change (stock_movement), and "what is still held" under the statement's locks.
//
// product.reserved counts ACTIVE holds, including ones past expiresAt that the
// sweeper has not marked EXPIRED yet; those count nowhere else. A statement
// that locked its products in `locked` (columns id, stock, reserved) adds
// HELD_CTES to get `clock` (the time, taken once all its product rows are
// locked, so whoever locks a row later sees a later time) and `held`
// (id, reserved: units of unexpired holds). Lapsed holds are read FOR SHARE:
// their latest committed state, not the statement's snapshot, which may
// predate a sweep that already took them out of product.reserved. Lock order
// everywhere: product rows (id order), then hold rows.
//
// A statement that ends a hold passes it as `ownHold`: it is left out of
// `lapsed` (so `held` counts it, lapsed or not, and the statement subtracts it
// itself), because a row the same statement updates is skipped by FOR SHARE,
// depending on which part PostgreSQL happens to run first.
import { Prisma } from "../generated/prisma/client.js";

export const heldCtes = (ownHold?: Prisma.Sql) => Prisma.sql`
    clock AS MATERIALIZED (SELECT clock_timestamp() AS t FROM (SELECT count(*) FROM locked) locked_all),
    lapsed_hold AS (
      SELECT h.id FROM hold h, clock c
      WHERE h.status = 'ACTIVE' AND h.expires_at <= c.t ${ownHold ? Prisma.sql`AND h.id <> ${ownHold}` : Prisma.empty}
        AND EXISTS (SELECT 1 FROM hold_line hl WHERE hl.hold_id = h.id AND hl.product_id IN (SELECT id FROM locked))
      FOR SHARE OF h
    ),
    lapsed AS (
      SELECT hl.product_id, sum(hl.quantity)::int AS quantity
      FROM hold_line hl JOIN lapsed_hold lh ON lh.id = hl.hold_id
      WHERE hl.product_id IN (SELECT id FROM locked)
      GROUP BY hl.product_id
    ),
    held AS (
      SELECT l.id, l.reserved - coalesce(x.quantity, 0) AS reserved FROM locked l LEFT JOIN lapsed x ON x.product_id = l.id
    )`;

export const HELD_CTES = heldCtes();

export const MOVEMENT_COLUMNS = Prisma.sql`(product_id, delta_on_hand, delta_reserved, reason, note, order_id, hold_id, actor, version_after)`;

/** The select list of one stock_movement row (columns as MOVEMENT_COLUMNS), as SQL expressions over the statement's rows. */
export function movementSql(m: {
  productId: Prisma.Sql;
  deltaOnHand: Prisma.Sql;
  deltaReserved: Prisma.Sql;
  reason: Prisma.Sql;
  note?: Prisma.Sql;
  orderId?: Prisma.Sql;
  holdId?: Prisma.Sql;
  actor: Prisma.Sql;
  versionAfter: Prisma.Sql;
}): Prisma.Sql {
  const NULL = Prisma.sql`NULL`;
  return Prisma.sql`${m.productId}, ${m.deltaOnHand}, ${m.deltaReserved}, ${m.reason}, ${m.note ?? NULL}::text,
    ${m.orderId ?? NULL}::uuid, ${m.holdId ?? NULL}::uuid, ${m.actor}::text, ${m.versionAfter}`;
}
