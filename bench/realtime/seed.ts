// The realtime bench's data: `products` products with practically unlimited
// stock plus one flash-sale product, customers with tokens, and the
// products' current versions and stock as the database has them.
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { signToken } from "../../src/auth/tokens.js";
import { encodeGlobalId as toGlobalId } from "../../src/ids/index.js";

export const BIG_STOCK = 1_000_000_000;

export interface Seed {
  /** Index = product number; the last one is the flash sale's. */
  products: { id: string; sku: string; gid: string }[];
  productIndex: Map<string, number>;
  gidIndex: Map<string, number>;
  /** Authorization headers, one per customer. */
  customers: string[];
  jwtSecret: string;
  /** Per product number. */
  versions(): Promise<number[]>;
  stocks(): Promise<number[]>;
  /** Sets the products' versions (after a floor phase published past the database's). */
  setVersions(versions: number[]): Promise<void>;
  /** Sets the stock of some products (the flash sale's restock before each phase; emits no event). */
  setStock(products: number[], stock: number): Promise<void>;
}

export async function seed(pool: pg.Pool, opts: { products: number; customers: number }): Promise<Seed> {
  await pool.query(
    `INSERT INTO product (sku, name, price_cents, currency, stock)
     SELECT 'LIVE-' || lpad(g::text, 4, '0'), 'Live product ' || g, 1000 + g, 'EUR', $2 FROM generate_series(1, $1::int) g`,
    [opts.products, BIG_STOCK],
  );
  // Sorts after the LIVE- products: the last product number.
  await pool.query(`INSERT INTO product (sku, name, price_cents, currency, stock) VALUES ('ZFLASH', 'Flash sale product', 1999, 'EUR', 0)`);
  await pool.query(
    `INSERT INTO customer (email, name) SELECT 'live-' || g || '@example.test', 'Live customer ' || g FROM generate_series(1, $1::int) g`,
    [opts.customers],
  );
  await pool.query("VACUUM ANALYZE");
  const products = (await pool.query<{ id: string; sku: string }>("SELECT id, sku FROM product ORDER BY sku")).rows.map((p) => ({
    ...p,
    gid: toGlobalId("Product", p.id),
  }));
  const productIndex = new Map(products.map((p, i) => [p.id, i]));
  const jwtSecret = randomBytes(32).toString("hex");
  const customers = await Promise.all(
    (await pool.query<{ id: string }>("SELECT id FROM customer")).rows.map(
      async (c) => `Bearer ${await signToken({ role: "customer", sub: toGlobalId("Customer", c.id) }, jwtSecret)}`,
    ),
  );
  const column = async (name: "version" | "stock") => {
    const { rows } = await pool.query<{ id: string; v: number }>(`SELECT id, ${name} AS v FROM product`);
    const v = new Array<number>(products.length).fill(0);
    for (const r of rows) v[productIndex.get(r.id)!] = r.v;
    return v;
  };
  return {
    products,
    productIndex,
    gidIndex: new Map(products.map((p, i) => [p.gid, i])),
    customers,
    jwtSecret,
    versions: () => column("version"),
    stocks: () => column("stock"),
    async setVersions(versions) {
      await pool.query(`UPDATE product p SET version = v.version FROM unnest($1::uuid[], $2::int[]) AS v(id, version) WHERE p.id = v.id`, [
        products.map((p) => p.id),
        versions,
      ]);
    },
    async setStock(which, stock) {
      const ids = which.map((p) => products[p]!.id);
      await pool.query(`UPDATE product SET stock = $2 WHERE id = ANY($1::uuid[])`, [ids, stock]);
      // Stock is the sum of the levels' on hand: each bench product has one level (product_default_level).
      await pool.query(`UPDATE stock_level SET on_hand = $2 WHERE product_id = ANY($1::uuid[])`, [ids, stock]);
    },
  };
}
