// The one way a statement writes a stock change. Every statement that moves
// stock (orders, holds, adjustments, cancellations, transfers) describes its
// changes as rows of a CTE and appends these CTEs, which write what a change
// is: the stock_level rows, the product's totals, its stock-changed outbox
// event and the ledger rows. Written once so the copies cannot drift apart
// (they did: hold events lost their trace context), and so every write
// computes from the rows as locked.
//
// Locks: the statement locks its products in a `locked` CTE (columns id, sku,
// stock, committed, reserved, version; FOR UPDATE, in id order), then their levels with
// LOCKED_LEVELS. A level is only ever changed under its product's lock, so the
// product row stays the one queue per product (no new deadlocks), and "never
// below zero per location" is judged under that lock. Under READ COMMITTED a
// row another transaction changed while the statement waited for its lock is
// seen by the statement's own snapshot as it was before, while the locked CTEs
// hold the latest versions: the new numbers are computed from those alone (a
// write-off waiting behind a restock once computed from the snapshot and
// failed the stock >= 0 check).
//
// The changes CTE has one row per change of one level, columns:
//   product_id uuid, location_id uuid, seq int (order of one product's changes;
//   unique per product and location), d_on_hand, d_committed, d_reserved,
//   d_incoming int, reason text, adjustment text (AdjustmentReason or NULL), note text, order_id uuid, hold_id uuid, transfer_id uuid,
//   actor text, trace_context jsonb
// Rows of one product with the same seq are one change of the product (an
// order line split over two locations, a transfer): one event for them.
// Several changes to one product (a group-commit batch) apply in seq order:
// one UPDATE per level and per product, and per change an event and ledger
// rows with the numbers right after it (running sums).
//
// The product row keeps totals over active locations that fulfil orders
// (stock = on hand, committed, reserved; available = stock - committed -
// reserved), which is what the sold-out guard and the live events read.
//
// Each event lists the levels its change touched, as they stood right after
// it (from level_rows: the builder already has them, so the group-commit batch
// stays one statement with no read per order).
//
// CTEs added: level_rows (each level change with the level's numbers after
// it), levels_written, product_rows (each product change with stock_after,
// committed_after, reserved_after, version_after), stock_written (the product rows as
// written, all columns), change_events, change_moves.
import { Prisma } from "../generated/prisma/client.js";
import { levelJsonSql, stockChangedOutboxSql } from "../events/stock-changed.event.js";
import { traceContextParam } from "../events/outbox.js";
import { activeTraceCarrier } from "../observability/trace-context.js";
import { MOVEMENT_COLUMNS, movementSql } from "./ledger.sql.js";

/**
 * Locks the stock levels of the products in `locked` (after them, in key order) as `levels`:
 * product_id, location_id, on_hand, committed, reserved, incoming, version, available, and the
 * location's priority, whether it fulfils orders now (active and fulfils_orders) and its code.
 */
export const LOCKED_LEVELS = Prisma.sql`
    levels AS (
      SELECT s.product_id, s.location_id, s.on_hand, s.committed, s.reserved, s.incoming, s.version,
        s.on_hand - s.committed - s.reserved AS available, loc.priority, loc.active AND loc.fulfils_orders AS fulfils, loc.code
      FROM stock_level s JOIN location loc ON loc.id = s.location_id
      -- An array, not IN (SELECT ...): the planner guesses a CTE's size and, on a large catalogue, hashed
      -- the whole stock_level table for every statement; = ANY(array) is an index scan of these products' levels.
      WHERE s.product_id = ANY(ARRAY(SELECT id FROM locked))
      ORDER BY s.product_id, s.location_id
      FOR UPDATE OF s
    )`;

/** The stock-change CTEs for the changes in CTE `changes` (see the header); prefix with a comma. */
export function stockChangeCtes(changes = "changes"): Prisma.Sql {
  const r = (column: string) => Prisma.raw(`r.${column}`);
  return Prisma.sql`
    level_rows AS (
      SELECT c.*, lv.fulfils, lv.code AS location_code,
        (lv.on_hand + sum(c.d_on_hand) OVER running)::int AS on_hand_after,
        (lv.committed + sum(c.d_committed) OVER running)::int AS committed_after,
        (lv.reserved + sum(c.d_reserved) OVER running)::int AS level_reserved_after,
        (lv.incoming + sum(c.d_incoming) OVER running)::int AS incoming_after,
        (lv.version + count(*) OVER running)::int AS level_version_after,
        count(*) OVER running = count(*) OVER (PARTITION BY c.product_id, c.location_id) AS last,
        -- Which of its product's changes this is (1, 2, ...): the ledger row's product version without a join.
        dense_rank() OVER (PARTITION BY c.product_id ORDER BY c.seq)::int AS product_change_no
      FROM ${Prisma.raw(changes)} c JOIN levels lv ON lv.product_id = c.product_id AND lv.location_id = c.location_id
      WINDOW running AS (PARTITION BY c.product_id, c.location_id ORDER BY c.seq ROWS UNBOUNDED PRECEDING)
    ),
    levels_written AS (
      UPDATE stock_level s
      SET on_hand = r.on_hand_after, committed = r.committed_after, reserved = r.level_reserved_after,
        incoming = r.incoming_after, version = r.level_version_after, updated_at = now()
      FROM level_rows r
      WHERE r.last AND s.product_id = r.product_id AND s.location_id = r.location_id
      RETURNING 1
    ),
    product_changes AS (
      SELECT r.product_id, r.seq, r.reason, r.note, r.order_id, r.hold_id, r.trace_context,
        coalesce(sum(r.d_on_hand) FILTER (WHERE r.fulfils), 0)::int AS d_stock,
        coalesce(sum(r.d_committed) FILTER (WHERE r.fulfils), 0)::int AS d_committed,
        coalesce(sum(r.d_reserved) FILTER (WHERE r.fulfils), 0)::int AS d_reserved,
        -- The levels of this change, as they stand right after it, for its event: rows the statement already has.
        jsonb_agg(${levelJsonSql({
          locationId: r("location_id"),
          locationCode: r("location_code"),
          onHand: r("on_hand_after"),
          committed: r("committed_after"),
          reserved: r("level_reserved_after"),
          incoming: r("incoming_after"),
          version: r("level_version_after"),
          fulfilsOrders: r("fulfils"),
        })} ORDER BY r.location_id) AS level_json
      FROM level_rows r
      GROUP BY r.product_id, r.seq, r.reason, r.note, r.order_id, r.hold_id, r.trace_context
    ),
    product_rows AS (
      SELECT c.*, l.sku,
        (l.stock + sum(c.d_stock) OVER running)::int AS stock_after,
        (l.committed + sum(c.d_committed) OVER running)::int AS committed_after,
        (l.reserved + sum(c.d_reserved) OVER running)::int AS reserved_after,
        (l.version + count(*) OVER running)::int AS version_after,
        count(*) OVER running = count(*) OVER (PARTITION BY c.product_id) AS last
      FROM product_changes c JOIN locked l ON l.id = c.product_id
      WINDOW running AS (PARTITION BY c.product_id ORDER BY c.seq ROWS UNBOUNDED PRECEDING)
    ),
    stock_written AS (
      UPDATE product p
      SET stock = r.stock_after, committed = r.committed_after, reserved = r.reserved_after, version = r.version_after, updated_at = now()
      FROM product_rows r
      WHERE r.last AND p.id = r.product_id
      RETURNING p.*
    ),
    change_events AS (
      INSERT INTO outbox_event (topic, key, payload, trace_context)
      SELECT ${stockChangedOutboxSql({
        productId: r("product_id"),
        sku: r("sku"),
        stock: r("stock_after"),
        committed: r("committed_after"),
        reserved: r("reserved_after"),
        version: r("version_after"),
        delta: r("d_stock"),
        reason: r("reason"),
        orderId: r("order_id"),
        holdId: r("hold_id"),
        note: r("note"),
        levels: r("level_json"),
      })}, r.trace_context
      FROM product_rows r
      ORDER BY r.seq, r.product_id
      RETURNING 1
    ),
    change_moves AS (
      INSERT INTO stock_movement ${MOVEMENT_COLUMNS}
      SELECT ${movementSql({
        productId: r("product_id"),
        locationId: r("location_id"),
        deltaOnHand: r("d_on_hand"),
        deltaCommitted: r("d_committed"),
        deltaReserved: r("d_reserved"),
        deltaIncoming: r("d_incoming"),
        onHandAfter: r("on_hand_after"),
        committedAfter: r("committed_after"),
        reservedAfter: r("level_reserved_after"),
        incomingAfter: r("incoming_after"),
        reason: r("reason"),
        adjustmentReason: r("adjustment"),
        note: r("note"),
        orderId: r("order_id"),
        holdId: r("hold_id"),
        transferId: r("transfer_id"),
        actor: r("actor"),
        versionAfter: Prisma.sql`(v.before ->> r.product_id::text)::int + r.product_change_no`,
      })}
      -- Not a join with product_rows: the planner guesses both CTEs at a row or two and loops one over the
      -- other, quadratic in the statement's changes (the bulk import's chunks). The product versions as
      -- they were locked, looked up in one object instead.
      FROM level_rows r CROSS JOIN (SELECT jsonb_object_agg(id::text, version) AS before FROM locked) v
      ORDER BY r.seq, r.product_id, r.location_id
      RETURNING 1
    )`;
}

/** The current operation's trace context as a jsonb parameter, for a changes CTE's trace_context column. */
export const currentTraceSql = (): Prisma.Sql => Prisma.sql`${traceContextParam(activeTraceCarrier())}::jsonb`;
