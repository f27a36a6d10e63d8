// The add_locations migration on a database that already has stock, orders
// and holds (real PostgreSQL): migrated up to the migration before it, filled
// the way the API of then wrote rows, then migrated to the end. Everything
// lands at one location, "default", and the ledger invariant holds.
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations, MIGRATIONS_DIR } from "../../src/db/migrations.js";
import { openDatabase } from "../../src/db/database.js";
import { ledgerMismatches } from "../../src/db/ledger.sql.js";
import { placeOrdersBatch } from "../../src/db/order.sql.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function migrate(url: string, dir: string) {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    return await applyMigrations(new PrismaPg(pool), dir);
  } finally {
    await pool.end();
  }
}

describe("the add_locations migration", () => {
  it("moves today's stock, holds and order lines to one default location", { timeout: 120_000 }, async () => {
    const db: TestDatabase = await createTestDatabase({ empty: true });
    cleanups.push(() => db.drop());
    const before = mkdtempSync(path.join(tmpdir(), "stockwire-migrations-"));
    cleanups.push(() => rmSync(before, { recursive: true, force: true }));
    for (const entry of readdirSync(MIGRATIONS_DIR)) {
      if (entry < "20261206212212_add_locations" || entry === "migration_lock.toml") {
        cpSync(path.join(MIGRATIONS_DIR, entry), path.join(before, entry), { recursive: true });
      }
    }
    await migrate(db.url, before);

    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    cleanups.push(() => sql.end());
    // As the API wrote them then: stock 10 - 3 ordered = 7, 2 held; the ledger adds up to that.
    await sql.query(`
      INSERT INTO customer (id, email, name) VALUES ('00000000-0000-4000-8000-0000000000c1', 'm@example.com', 'M');
      INSERT INTO product (id, sku, name, price_cents, currency, stock, reserved, version)
        VALUES ('00000000-0000-4000-8000-0000000000a1', 'MIG-1', 'Mug', 100, 'EUR', 7, 2, 2);
      INSERT INTO "order" (id, customer_id, total_cents, currency, idempotency_key)
        VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c1', 300, 'EUR', 'k1');
      INSERT INTO order_item (order_id, product_id, quantity, unit_price_cents)
        VALUES ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a1', 3, 100);
      INSERT INTO hold (id, customer_id, expires_at, idempotency_key)
        VALUES ('00000000-0000-4000-8000-0000000000d1', '00000000-0000-4000-8000-0000000000c1', now() + interval '1 hour', 'h1');
      INSERT INTO hold_line (hold_id, product_id, quantity) VALUES ('00000000-0000-4000-8000-0000000000d1', '00000000-0000-4000-8000-0000000000a1', 2);
      INSERT INTO stock_movement (product_id, delta_on_hand, delta_reserved, reason, actor, version_after) VALUES
        ('00000000-0000-4000-8000-0000000000a1', 10, 0, 'CREATED', 'admin', 0),
        ('00000000-0000-4000-8000-0000000000a1', -3, 0, 'ORDER_PLACED', 'customer:x', 1),
        ('00000000-0000-4000-8000-0000000000a1', 0, 2, 'HOLD_PLACED', 'customer:x', 2);
    `);

    expect(await migrate(db.url, MIGRATIONS_DIR)).toContain("20261206212212_add_locations");
    const one = async (q: string) => (await sql.query(q)).rows;
    expect(await one(`SELECT code, fulfils_orders, priority, active FROM location`)).toEqual([
      { code: "default", fulfils_orders: true, priority: 0, active: true },
    ]);
    // committed_stock (after add_locations) gives the unshipped order's 3 units back to on hand as committed.
    expect(await one(`SELECT on_hand, committed, reserved, incoming FROM stock_level`)).toEqual([
      { on_hand: 10, committed: 3, reserved: 2, incoming: 0 },
    ]);
    expect(await one(`SELECT stock, committed, reserved FROM product`)).toEqual([{ stock: 10, committed: 3, reserved: 2 }]);
    expect(await one(`SELECT quantity FROM order_allocation`)).toEqual([{ quantity: 3 }]);
    expect(await one(`SELECT quantity FROM hold_allocation`)).toEqual([{ quantity: 2 }]);
    expect(await one(`SELECT count(*)::int AS n FROM stock_movement WHERE location_id IS NULL`)).toEqual([{ n: 0 }]);

    const opened = await openDatabase({ kind: "postgres", url: db.url, poolSize: 2 });
    cleanups.push(() => opened.close());
    expect(await ledgerMismatches(opened.prisma)).toEqual([]);
    // And the statements of now work on it: 5 are available (10 on hand, 3 committed, 2 held).
    const lines = [{ productId: "00000000-0000-4000-8000-0000000000a1", quantity: 5 }];
    const [placed] = await placeOrdersBatch(opened.sql, [
      { customerId: "00000000-0000-4000-8000-0000000000c1", idempotencyKey: "k2", lines },
    ]);
    expect(placed!.order).not.toBeNull();
    expect(await ledgerMismatches(opened.prisma)).toEqual([]);
  });
});
