// The bulk exports' keyset pages on embedded PGlite, where the same SQL goes
// through Prisma instead of the pg driver (src/db/raw-sql.ts): every row once,
// in order, over several pages, with the same column types, and since= on the ledger.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.js";
import { ExportService, type ExportRow } from "../../src/services/export.service.js";

const dataDir = mkdtempSync(path.join(tmpdir(), "stockwire-pglite-export-"));
const admin = { viewer: { kind: "admin" as const } };
const PRODUCTS = 2_500;
let db: Database;

beforeAll(async () => {
  db = await openDatabase({ kind: "pglite", dataDir });
  await db.migrate();
  await db.prisma.$executeRawUnsafe(
    `INSERT INTO product (sku, name, description, price_cents, currency, stock)
     SELECT 'PGL-' || lpad(g::text, 5, '0'), 'P ' || g, 'd', g, 'EUR', g % 7 FROM generate_series(1, ${PRODUCTS}) g`,
  );
  await db.prisma.$executeRawUnsafe(
    `INSERT INTO stock_movement (product_id, location_id, delta_on_hand, delta_committed, delta_reserved, delta_incoming,
       on_hand_after, committed_after, reserved_after, incoming_after, reason, actor, version_after, occurred_at)
     SELECT s.product_id, s.location_id, s.on_hand, 0, 0, 0, s.on_hand, 0, 0, 0, 'CREATED', 'admin', 0,
       CASE WHEN p.sku <= 'PGL-01000' THEN timestamptz '2026-01-01T00:00:00Z' ELSE timestamptz '2026-06-01T00:00:00Z' END
     FROM stock_level s JOIN product p ON p.id = s.product_id ORDER BY p.sku`,
  );
}, 120_000);
afterAll(async () => {
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function all(kind: "products" | "stock" | "ledger", since?: string): Promise<ExportRow[]> {
  const csv = await new ExportService(db.sql, 1_000).open(admin, kind, { since });
  const rows: ExportRow[] = [];
  for await (const page of csv.pages) rows.push(...page);
  return rows;
}

it("products and stock: every product once, by SKU, over several pages, numbers as numbers", async () => {
  const products = await all("products");
  expect(products).toHaveLength(PRODUCTS);
  expect(products.map((r) => r.sku)).toEqual(Array.from({ length: PRODUCTS }, (_, i) => `PGL-${String(i + 1).padStart(5, "0")}`));
  expect(products[41]).toEqual({
    sku: "PGL-00042",
    name: "P 42",
    description: "d",
    price_cents: 42,
    currency: "EUR",
    location: "default",
    on_hand: 0,
  });
  const stock = await all("stock");
  expect(stock).toHaveLength(PRODUCTS);
  expect(stock[2]).toEqual({ sku: "PGL-00003", location: "default", on_hand: 3, committed: 0, reserved: 0, incoming: 0, available: 3 });
});

it("ledger: every movement in id order; since= the later ones only", async () => {
  const ledger = await all("ledger");
  expect(ledger).toHaveLength(PRODUCTS);
  expect(ledger.map((r) => Number(r.id))).toEqual([...ledger.map((r) => Number(r.id))].sort((a, b) => a - b));
  expect(ledger[0]).toMatchObject({ occurred_at: "2026-01-01T00:00:00.000Z", sku: "PGL-00001", reason: "CREATED", order_id: null });
  const since = await all("ledger", "2026-03-01");
  expect(since).toHaveLength(PRODUCTS - 1_000);
  expect(since[0]).toMatchObject({ sku: "PGL-01001", occurred_at: "2026-06-01T00:00:00.000Z" });
});
