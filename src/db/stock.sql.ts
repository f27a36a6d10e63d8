// Stock changes outside placing an order: an admin's adjustment and the
// stock a cancelled order returns. Both lock product rows in id order, the
// order placeOrder uses, so none of them can deadlock with another.
import type { DbClient, DbTransaction } from "./database.js";
import { Prisma, type Product } from "../generated/prisma/client.js";
import { stockChangedOutboxSql } from "../events/stock-changed.event.js";
import { traceContextParam } from "../events/outbox.js";
import { activeTraceCarrier } from "../observability/trace-context.js";

export interface AdjustStockResult {
  product: Product | null;
  current: { sku: string; stock: number; version: number } | null;
}

/**
 * One statement: lock the row, check, change it and write the outbox event
 * together, and report the row as it stood under the lock so a refusal can be
 * explained exactly.
 */
export async function adjustStockAtomically(
  prisma: DbClient,
  p: { id: string; delta: number; expectedVersion: number | null; note: string; maxStock: number },
): Promise<AdjustStockResult> {
  const reason = p.delta > 0 ? "RESTOCK" : "ADJUSTMENT";
  const rows = await prisma.$queryRaw<(Partial<Product> & { current: AdjustStockResult["current"] })[]>`-- prepare:adjust-stock
    WITH cur AS (
      SELECT id, sku, stock, version FROM product WHERE id = ${p.id}::uuid FOR UPDATE
    ),
    upd AS (
      UPDATE product t
      SET stock = t.stock + ${p.delta}, version = t.version + 1, updated_at = now()
      FROM cur
      WHERE t.id = cur.id
        AND cur.stock + ${p.delta} BETWEEN 0 AND ${p.maxStock}
        AND (${p.expectedVersion}::int IS NULL OR cur.version = ${p.expectedVersion}::int)
      RETURNING t.*
    ),
    ev AS (
      INSERT INTO outbox_event (topic, key, payload, trace_context)
      SELECT ${stockChangedOutboxSql({
        productId: Prisma.sql`u.id`,
        sku: Prisma.sql`u.sku`,
        stock: Prisma.sql`u.stock`,
        version: Prisma.sql`u.version`,
        delta: Prisma.sql`${p.delta}::int`,
        reason: Prisma.sql`${reason}::text`,
        orderId: Prisma.sql`NULL`,
        note: Prisma.sql`${p.note}::text`,
      })}, ${traceContextParam(activeTraceCarrier())}::jsonb
      FROM upd u
      RETURNING 1
    )
    SELECT (SELECT json_build_object('sku', sku, 'stock', stock, 'version', version) FROM cur) AS current,
      u.id, u.sku, u.name, u.description, u.price_cents AS "priceCents", u.currency, u.stock, u.version,
      u.created_at AS "createdAt", u.updated_at AS "updatedAt"
    FROM (SELECT 1) one LEFT JOIN upd u ON true
  `;
  const { current, ...product } = rows[0]!;
  return { current, product: product.id ? (product as Product) : null };
}

/** Tops up the stock of a cancelled order's products; the caller's transaction writes the events. */
export function restoreOrderStock(tx: DbTransaction | DbClient, orderId: string) {
  return tx.$queryRaw<{ id: string; sku: string; stock: number; version: number; quantity: number }[]>`
    WITH lines AS (
      SELECT product_id, sum(quantity)::int AS quantity FROM order_item WHERE order_id = ${orderId}::uuid GROUP BY product_id
    ),
    locked AS (
      SELECT id FROM product WHERE id IN (SELECT product_id FROM lines) ORDER BY id FOR UPDATE
    )
    UPDATE product p
    SET stock = p.stock + l.quantity, version = p.version + 1, updated_at = now()
    FROM lines l
    WHERE p.id = l.product_id AND p.id IN (SELECT id FROM locked)
    RETURNING p.id, p.sku, p.stock, p.version, l.quantity
  `;
}
