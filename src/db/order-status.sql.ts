// Returning a cancelled order's stock: its products are locked in id order
// (the same order placeOrder uses, so the two cannot deadlock) and topped up.
import type { Prisma } from "./database.js";

type Tx = Parameters<Parameters<Prisma["$transaction"]>[0]>[0];

export function restoreStockStatement(tx: Tx | Prisma, orderId: string) {
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
