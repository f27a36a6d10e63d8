// Products by id, the catalogue's hottest read (every product(id), node(s) and
// line of an order or hold that names a product goes through the product
// loader): one prepared statement over the pg driver (raw-sql.ts), past
// Prisma's query pipeline, which cost more CPU than the driver call on a
// cache miss. Rows have the shape of Prisma's Product, so callers do not know.
import { Prisma, type Product } from "../generated/prisma/client.js";
import type { RawQuery } from "./raw-sql.js";

export async function productsByIds(sql: RawQuery, ids: readonly string[]): Promise<Product[]> {
  return sql.query<Product>(Prisma.sql`-- prepare:products-by-ids
    SELECT id, sku, name, description, price_cents AS "priceCents", currency, stock, reserved, committed, version,
      created_at AS "createdAt", updated_at AS "updatedAt"
    FROM product WHERE id = ANY(${[...ids]}::uuid[])`);
}
