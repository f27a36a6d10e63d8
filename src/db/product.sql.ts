// Stock adjustment as one statement: lock the row, check, change it and write
// the outbox event together, and report the row as it stood under the lock
// so a refusal can be explained exactly.
import type { Prisma } from "./database.js";
import type { Product } from "../generated/prisma/client.js";
import { STOCK_CHANGED } from "../events/stock-changed.event.js";

export interface AdjustStockResult {
  product: Product | null;
  current: { sku: string; stock: number; version: number } | null;
}

export async function adjustStockStatement(
  prisma: Prisma,
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
      INSERT INTO outbox_event (topic, key, payload)
      SELECT ${STOCK_CHANGED}, u.id::text, jsonb_build_object(
        'productId', u.id, 'sku', u.sku, 'stock', u.stock, 'version', u.version, 'delta', ${p.delta}::int,
        'reason', ${reason}::text, 'orderId', NULL, 'note', ${p.note}::text,
        'occurredAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
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
