// Stock changes outside placing an order: an admin's adjustment and the
// stock a cancelled order returns. Both lock product rows in id order, the
// order placeOrder uses, so none of them can deadlock with another.
import type { DbClient, DbTransaction } from "./database.js";
import { Prisma, type Product } from "../generated/prisma/client.js";
import { stockChangedOutboxSql } from "../events/stock-changed.event.js";
import { traceContextParam } from "../events/outbox.js";
import { activeTraceCarrier } from "../observability/trace-context.js";
import { HELD_CTES, MOVEMENT_COLUMNS, movementSql } from "./ledger.sql.js";

export interface AdjustStockResult {
  product: Product | null;
  /** The row under the lock; available = stock minus unexpired holds. */
  current: { sku: string; stock: number; available: number; version: number } | null;
}

/**
 * One statement: lock the row, check, change it and write the outbox event
 * together, and report the row as it stood under the lock so a refusal can be
 * explained exactly.
 */
export async function adjustStockAtomically(
  prisma: DbClient | DbTransaction,
  p: { id: string; delta: number; expectedVersion: number | null; note: string; maxStock: number; actor: string },
): Promise<AdjustStockResult> {
  const reason = p.delta > 0 ? "RESTOCK" : "ADJUSTMENT";
  const rows = await prisma.$queryRaw<(Partial<Product> & { current: AdjustStockResult["current"] })[]>`-- prepare:adjust-stock
    WITH locked AS (
      SELECT id, sku, stock, reserved, version FROM product WHERE id = ${p.id}::uuid FOR UPDATE
    ),${HELD_CTES},
    cur AS (SELECT l.*, h.reserved AS held FROM locked l JOIN held h ON h.id = l.id),
    upd AS (
      UPDATE product t
      SET stock = t.stock + ${p.delta}, version = t.version + 1, updated_at = now()
      FROM cur
      WHERE t.id = cur.id
        -- A write-off cannot take units that holds have set aside.
        AND cur.stock + ${p.delta} BETWEEN cur.held AND ${p.maxStock}
        AND (${p.expectedVersion}::int IS NULL OR cur.version = ${p.expectedVersion}::int)
      RETURNING t.*, cur.held
    ),
    moves AS (
      INSERT INTO stock_movement ${MOVEMENT_COLUMNS}
      SELECT ${movementSql({
        productId: Prisma.sql`u.id`,
        deltaOnHand: Prisma.sql`${p.delta}::int`,
        deltaReserved: Prisma.sql`0`,
        reason: Prisma.sql`${reason}::text`,
        note: Prisma.sql`${p.note}::text`,
        actor: Prisma.sql`${p.actor}::text`,
        versionAfter: Prisma.sql`u.version`,
      })}
      FROM upd u
      RETURNING 1
    ),
    ev AS (
      INSERT INTO outbox_event (topic, key, payload, trace_context)
      SELECT ${stockChangedOutboxSql({
        productId: Prisma.sql`u.id`,
        sku: Prisma.sql`u.sku`,
        stock: Prisma.sql`u.stock`,
        reserved: Prisma.sql`u.held`,
        version: Prisma.sql`u.version`,
        delta: Prisma.sql`${p.delta}::int`,
        reason: Prisma.sql`${reason}::text`,
        orderId: Prisma.sql`NULL`,
        note: Prisma.sql`${p.note}::text`,
      })}, ${traceContextParam(activeTraceCarrier())}::jsonb
      FROM upd u
      RETURNING 1
    )
    SELECT (SELECT json_build_object('sku', sku, 'stock', stock, 'available', stock - held, 'version', version) FROM cur) AS current,
      u.id, u.sku, u.name, u.description, u.price_cents AS "priceCents", u.currency, u.stock, u.reserved, u.version,
      u.created_at AS "createdAt", u.updated_at AS "updatedAt"
    FROM (SELECT 1) one LEFT JOIN upd u ON true
  `;
  const { current, ...product } = rows[0]!;
  return { current, product: product.id ? (product as Product) : null };
}

/**
 * Tops up the stock of a cancelled order's products and writes their ledger
 * rows; the caller's transaction writes the events (`reserved`: unexpired holds).
 */
export function restoreOrderStock(tx: DbTransaction | DbClient, orderId: string, actor: string) {
  return tx.$queryRaw<{ id: string; sku: string; stock: number; reserved: number; version: number; quantity: number }[]>`
    WITH lines AS (
      SELECT product_id, sum(quantity)::int AS quantity FROM order_item WHERE order_id = ${orderId}::uuid GROUP BY product_id
    ),
    locked AS (
      SELECT id, stock, reserved FROM product WHERE id IN (SELECT product_id FROM lines) ORDER BY id FOR UPDATE
    ),${HELD_CTES},
    upd AS (
      UPDATE product p
      SET stock = p.stock + l.quantity, version = p.version + 1, updated_at = now()
      FROM lines l, held h
      WHERE p.id = l.product_id AND h.id = l.product_id
      RETURNING p.id, p.sku, p.stock, h.reserved, p.version, l.quantity
    ),
    moves AS (
      INSERT INTO stock_movement ${MOVEMENT_COLUMNS}
      SELECT ${movementSql({
        productId: Prisma.sql`u.id`,
        deltaOnHand: Prisma.sql`u.quantity`,
        deltaReserved: Prisma.sql`0`,
        reason: Prisma.sql`'ORDER_CANCELLED'`,
        orderId: Prisma.sql`${orderId}::uuid`,
        actor: Prisma.sql`${actor}::text`,
        versionAfter: Prisma.sql`u.version`,
      })}
      FROM upd u
      RETURNING 1
    )
    SELECT * FROM upd
  `;
}
