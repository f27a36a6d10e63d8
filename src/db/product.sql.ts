// Products by id, the catalogue's hottest read (every product(id), node(s) and
// line of an order or hold that names a product goes through the product
// loader): one prepared statement over the pg driver (raw-sql.ts), past
// Prisma's query pipeline, which cost more CPU than the driver call on a
// cache miss. Rows have the shape of Prisma's Product, so callers do not know.
import { Prisma, type Product } from "../generated/prisma/client.js";
import type { RawQuery } from "./raw-sql.js";

/** Prisma's Product, column by column. */
const PRODUCT_COLUMNS = Prisma.sql`id, sku, name, description, price_cents AS "priceCents", currency, stock, reserved, committed,
  version, price_version AS "priceVersion", created_at AS "createdAt", updated_at AS "updatedAt"`;

export async function productsByIds(sql: RawQuery, ids: readonly string[]): Promise<Product[]> {
  return sql.query<Product>(Prisma.sql`-- prepare:products-by-ids
    SELECT ${PRODUCT_COLUMNS} FROM product WHERE id = ANY(${[...ids]}::uuid[])`);
}

/** Which products a catalogue listing shows (every page of it, and its count). */
export interface ProductFilterQuery {
  /** A LIKE pattern's inside, its wildcards already escaped: matched case-insensitively on name or SKU. */
  search?: string;
  /** true: units on hand not committed to orders; false: none. */
  inStock?: boolean;
}

export interface ProductPageQuery extends ProductFilterQuery {
  after?: { createdAt: Date; id: string };
  before?: { createdAt: Date; id: string };
  limit: number;
  /** Newest first (paging backwards). */
  inverted: boolean;
}

function filterConditions(q: ProductFilterQuery): Prisma.Sql[] {
  const where: Prisma.Sql[] = [];
  if (q.search) {
    const pattern = `%${q.search}%`;
    where.push(Prisma.sql`(name ILIKE ${pattern} OR sku ILIKE ${pattern})`);
  }
  // Sold out as before committed stock: nothing on hand that is not committed to an unshipped order.
  if (q.inStock !== undefined) where.push(q.inStock ? Prisma.sql`stock > committed` : Prisma.sql`stock <= committed`);
  return where;
}

const whereAll = (where: Prisma.Sql[]) => (where.length ? Prisma.sql`WHERE ${Prisma.join(where, " AND ")}` : Prisma.empty);

/** One keyset page of the catalogue over (created_at, id), filtered. */
export async function productsPage(sql: RawQuery, q: ProductPageQuery): Promise<Product[]> {
  const where = filterConditions(q);
  if (q.after) where.push(Prisma.sql`(created_at, id) > (${q.after.createdAt}, ${q.after.id}::uuid)`);
  if (q.before) where.push(Prisma.sql`(created_at, id) < (${q.before.createdAt}, ${q.before.id}::uuid)`);
  const order = q.inverted ? Prisma.sql`created_at DESC, id DESC` : Prisma.sql`created_at ASC, id ASC`;
  return sql.query<Product>(Prisma.sql`SELECT ${PRODUCT_COLUMNS} FROM product ${whereAll(where)} ORDER BY ${order} LIMIT ${q.limit}`);
}

/** How many products the filter shows (all pages). */
export async function productsCount(sql: RawQuery, q: ProductFilterQuery): Promise<number> {
  const [row] = await sql.query<{ n: number }>(Prisma.sql`SELECT count(*)::int AS n FROM product ${whereAll(filterConditions(q))}`);
  return row!.n;
}
