// The one way a statement writes a stock change. Every statement that moves
// stock (orders, holds, adjustments, cancellations) describes its changes as
// rows of a CTE and appends these CTEs, which write the three things a change
// is: the product row, its stock-changed outbox event and its ledger row.
// Written once so the copies cannot drift apart (they did: hold events lost
// their trace context), and so every write computes from the row as locked.
//
// The statement must have locked its products in a `locked` CTE (columns id,
// sku, stock, reserved, version; FOR UPDATE, in id order). Under READ
// COMMITTED a row another transaction changed while the statement waited for
// its lock is seen by the statement's own snapshot as it was before, while
// `locked` holds the latest version: the new numbers are computed from
// `locked` alone (a write-off waiting behind a restock once computed from the
// snapshot and failed the stock >= 0 check).
//
// The changes CTE has one row per change, columns:
//   product_id uuid, seq int (order of one product's changes, unique per product),
//   d_stock int, d_reserved int, reason text, note text, order_id uuid,
//   hold_id uuid, actor text, trace_context jsonb
// Several changes to one product (a group-commit batch) are applied in seq
// order: one UPDATE per product, and per change an event and a ledger row
// with the numbers right after it (running sums).
//
// CTEs added: change_rows (each change with stock_after, reserved_after,
// version_after), stock_written (the product rows as written, all columns),
// change_events, change_moves.
import { Prisma } from "../generated/prisma/client.js";
import { stockChangedOutboxSql } from "../events/stock-changed.event.js";
import { traceContextParam } from "../events/outbox.js";
import { activeTraceCarrier } from "../observability/trace-context.js";
import { MOVEMENT_COLUMNS, movementSql } from "./ledger.sql.js";

/** The stock-change CTEs for the changes in CTE `changes` (see the header); prefix with a comma. */
export function stockChangeCtes(changes = "changes"): Prisma.Sql {
  const r = (column: string) => Prisma.raw(`r.${column}`);
  return Prisma.sql`
    change_rows AS (
      SELECT c.*, l.sku,
        (l.stock + sum(c.d_stock) OVER running)::int AS stock_after,
        (l.reserved + sum(c.d_reserved) OVER running)::int AS reserved_after,
        (l.version + count(*) OVER running)::int AS version_after,
        count(*) OVER running = count(*) OVER (PARTITION BY c.product_id) AS last
      FROM ${Prisma.raw(changes)} c JOIN locked l ON l.id = c.product_id
      WINDOW running AS (PARTITION BY c.product_id ORDER BY c.seq ROWS UNBOUNDED PRECEDING)
    ),
    stock_written AS (
      UPDATE product p
      SET stock = r.stock_after, reserved = r.reserved_after, version = r.version_after, updated_at = now()
      FROM change_rows r
      WHERE r.last AND p.id = r.product_id
      RETURNING p.*
    ),
    change_events AS (
      INSERT INTO outbox_event (topic, key, payload, trace_context)
      SELECT ${stockChangedOutboxSql({
        productId: r("product_id"),
        sku: r("sku"),
        stock: r("stock_after"),
        reserved: r("reserved_after"),
        version: r("version_after"),
        delta: r("d_stock"),
        reason: r("reason"),
        orderId: r("order_id"),
        holdId: r("hold_id"),
        note: r("note"),
      })}, r.trace_context
      FROM change_rows r
      ORDER BY r.seq, r.product_id
      RETURNING 1
    ),
    change_moves AS (
      INSERT INTO stock_movement ${MOVEMENT_COLUMNS}
      SELECT ${movementSql({
        productId: r("product_id"),
        deltaOnHand: r("d_stock"),
        deltaReserved: r("d_reserved"),
        reason: r("reason"),
        note: r("note"),
        orderId: r("order_id"),
        holdId: r("hold_id"),
        actor: r("actor"),
        versionAfter: r("version_after"),
      })}
      FROM change_rows r
      ORDER BY r.seq, r.product_id
      RETURNING 1
    )`;
}

/** The current operation's trace context as a jsonb parameter, for a changes CTE's trace_context column. */
export const currentTraceSql = (): Prisma.Sql => Prisma.sql`${traceContextParam(activeTraceCarrier())}::jsonb`;
