// Stock changes outside placing an order: an admin's adjustment and the
// stock a cancelled order returns. Both lock product rows in id order, the
// order placeOrder uses, so none of them can deadlock with another, and write
// through the stock-change builder (stock-change.sql.ts).
import type { DbClient, DbTransaction } from "./database.js";
import type { Product } from "../generated/prisma/client.js";
import { HELD_CTES } from "./ledger.sql.js";
import { currentTraceSql, stockChangeCtes } from "./stock-change.sql.js";

export interface AdjustStockResult {
  product: Product | null;
  /** The row under the lock; available = stock minus unexpired holds. */
  current: { sku: string; stock: number; available: number; version: number } | null;
}

/**
 * One statement: lock the row, check, change it and write the outbox event
 * and ledger row together (from the row as locked, not the statement's
 * snapshot: a write-off queued behind a restock lands on the restocked row), and report the row as it stood under the lock so a refusal can be
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
    changes AS (
      SELECT cur.id AS product_id, 1 AS seq, ${p.delta}::int AS d_stock, 0 AS d_reserved, ${reason}::text AS reason,
        ${p.note}::text AS note, NULL::uuid AS order_id, NULL::uuid AS hold_id, ${p.actor}::text AS actor, ${currentTraceSql()} AS trace_context
      FROM cur
      -- A write-off cannot take units that holds have set aside.
      WHERE cur.stock + ${p.delta} BETWEEN cur.held AND ${p.maxStock}
        AND (${p.expectedVersion}::int IS NULL OR cur.version = ${p.expectedVersion}::int)
    ),${stockChangeCtes()}
    SELECT (SELECT json_build_object('sku', sku, 'stock', stock, 'available', stock - held, 'version', version) FROM cur) AS current,
      u.id, u.sku, u.name, u.description, u.price_cents AS "priceCents", u.currency, u.stock, u.reserved, u.version,
      u.created_at AS "createdAt", u.updated_at AS "updatedAt"
    FROM (SELECT 1) one LEFT JOIN stock_written u ON true
  `;
  const { current, ...product } = rows[0]!;
  return { current, product: product.id ? (product as Product) : null };
}

/**
 * Tops up the stock of a cancelled order's products, with their ledger rows
 * and stock-changed events. Returns the products whose units came back.
 */
export async function restoreOrderStock(tx: DbTransaction | DbClient, orderId: string, actor: string): Promise<string[]> {
  const rows = await tx.$queryRaw<{ product_id: string }[]>`
    WITH lines AS (
      SELECT product_id, sum(quantity)::int AS quantity FROM order_item WHERE order_id = ${orderId}::uuid GROUP BY product_id
    ),
    locked AS (
      SELECT id, sku, stock, reserved, version FROM product WHERE id IN (SELECT product_id FROM lines) ORDER BY id FOR UPDATE
    ),
    changes AS (
      SELECT l.product_id, 1 AS seq, l.quantity AS d_stock, 0 AS d_reserved, 'ORDER_CANCELLED'::text AS reason, NULL::text AS note,
        ${orderId}::uuid AS order_id, NULL::uuid AS hold_id, ${actor}::text AS actor, ${currentTraceSql()} AS trace_context
      FROM lines l
    ),${stockChangeCtes()}
    SELECT product_id FROM changes ORDER BY product_id
  `;
  return rows.map((r) => r.product_id);
}
