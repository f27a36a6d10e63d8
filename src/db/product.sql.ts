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

export interface ProductPageQuery {
  after?: { createdAt: Date; id: string };
  before?: { createdAt: Date; id: string };
  limit: number;
  /** Newest first (paging backwards). */
  inverted: boolean;
  /** A LIKE pattern's inside, its wildcards already escaped: matched case-insensitively on name or SKU. */
  search?: string;
  /** true: units on hand not committed to orders; false: none. */
  inStock?: boolean;
}

/** One keyset page of the catalogue over (created_at, id), filtered: the same rows as Prisma's findMany, without it. */
export async function productsPage(sql: RawQuery, q: ProductPageQuery): Promise<Product[]> {
  const where: Prisma.Sql[] = [];
  if (q.after) where.push(Prisma.sql`(created_at, id) > (${q.after.createdAt}, ${q.after.id}::uuid)`);
  if (q.before) where.push(Prisma.sql`(created_at, id) < (${q.before.createdAt}, ${q.before.id}::uuid)`);
  if (q.search) {
    const pattern = `%${q.search}%`;
    where.push(Prisma.sql`(name ILIKE ${pattern} OR sku ILIKE ${pattern})`);
  }
  if (q.inStock !== undefined) where.push(q.inStock ? Prisma.sql`stock > committed` : Prisma.sql`stock <= committed`);
  const order = q.inverted ? Prisma.sql`created_at DESC, id DESC` : Prisma.sql`created_at ASC, id ASC`;
  return sql.query<Product>(Prisma.sql`
    SELECT id, sku, name, description, price_cents AS "priceCents", currency, stock, reserved, committed, version,
      created_at AS "createdAt", updated_at AS "updatedAt"
    FROM product
    ${where.length ? Prisma.sql`WHERE ${Prisma.join(where, " AND ")}` : Prisma.empty}
    ORDER BY ${order} LIMIT ${q.limit}`);
}
