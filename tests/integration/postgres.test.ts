// The PostgreSQL the tests get is real and migrated by the project's own
// migration code (src/db/migrations.ts, Prisma's wasm schema engine).
import { readdirSync } from "node:fs";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, MIGRATIONS_DIR } from "../../src/db/migrations.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

const migrationNames = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const migrationRows = (url: string) =>
  query<MigrationRow>(url, "SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY migration_name");

describe("test database cloned from the migrated template", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it("is a real PostgreSQL server", async () => {
    const [row] = await query<{ version: string }>(db.url, "SELECT version()");
    expect(row!.version).toMatch(/^PostgreSQL \d+/);
  });

  it("records every migration in _prisma_migrations, finished and checksummed", async () => {
    expect(migrationNames.some((n) => n.endsWith("_init"))).toBe(true);
    const rows = await migrationRows(db.url);
    expect(rows.map((r) => r.migration_name)).toEqual(migrationNames);
    for (const row of rows) {
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/); // sha256 of migration.sql
    }
  });

  it("has the schema's tables", async () => {
    const rows = await query<{ table_name: string }>(
      db.url,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    expect(rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(["product", "customer", "order", "order_item", "outbox_event"]));
  });

  it("enforces the hand-written CHECKs: stock on hand, and what is available of it, can never be negative", async () => {
    const insert = (sku: string, stock: number, committed = 0) =>
      query(db.url, `INSERT INTO product (sku, name, price_cents, currency, stock, committed) VALUES ($1, 'Mug', 1200, 'EUR', $2, $3)`, [
        sku,
        stock,
        committed,
      ]);
    await expect(insert("MUG-OK", 0)).resolves.toBeDefined(); // the row itself is valid...
    // ...only the negative stock is not: check_violation. PostgreSQL checks a row's CHECKs in name order, so
    // -1 on hand with nothing committed meets "available >= 0" first.
    await expect(insert("MUG-NEG", -1)).rejects.toMatchObject({ code: "23514", constraint: "product_available_non_negative" });
    await expect(insert("MUG-OVER", 1, 2)).rejects.toMatchObject({ code: "23514", constraint: "product_available_non_negative" });
    await expect(query(db.url, `UPDATE product SET stock = -1, committed = -2 WHERE sku = 'MUG-OK'`)).rejects.toMatchObject({
      code: "23514",
    });
    await expect(
      query(db.url, `SELECT constraint_name FROM information_schema.check_constraints WHERE constraint_name LIKE 'product_%'`),
    ).resolves.toEqual(
      expect.arrayContaining([{ constraint_name: "product_stock_non_negative" }, { constraint_name: "product_committed_non_negative" }]),
    );
  });

  it("applyMigrations on an up-to-date database applies nothing", async () => {
    await expect(applyMigrations(new PrismaPg({ connectionString: db.url }))).resolves.toEqual([]);
    expect(await migrationRows(db.url)).toHaveLength(migrationNames.length);
  });
});

describe("applyMigrations on a brand-new empty database", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ empty: true });
  });
  afterAll(() => db?.drop());

  it("two concurrent runs (two app instances starting at once) leave one finished row per migration", async () => {
    expect(await query(db.url, "SELECT to_regclass('_prisma_migrations') AS t")).toEqual([{ t: null }]);
    const results = await Promise.allSettled([
      applyMigrations(new PrismaPg({ connectionString: db.url })),
      applyMigrations(new PrismaPg({ connectionString: db.url })),
    ]);
    const failures = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
    expect(failures).toEqual([]);
    // Between them the two runs applied each migration exactly once.
    const applied = results.flatMap((r) => (r.status === "fulfilled" ? r.value : [])).sort();
    expect(applied).toEqual(migrationNames);
    const rows = await migrationRows(db.url);
    expect(rows.map((r) => r.migration_name)).toEqual(migrationNames);
    expect(rows.every((r) => r.finished_at !== null && r.rolled_back_at === null)).toBe(true);
  });
});
