// The bulk exports' keyset pages on embedded PGlite, where the same SQL goes
// through Prisma and csv-stringify instead of COPY (src/db/export.sql.ts): every
// row once, in order, over several pages, quoted as COPY quotes, and since= on the ledger.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.js";
import { parse } from "csv-parse/sync";
import { ExportService } from "../../src/services/export.service.js";

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

async function file(kind: "products" | "stock" | "ledger", since?: string): Promise<string> {
  const csv = await new ExportService(db.sql, 1_000).open(admin, kind, { since });
  const chunks: Buffer[] = [];
  for await (const chunk of csv.chunks) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

const all = async (kind: "products" | "stock" | "ledger", since?: string): Promise<Record<string, string>[]> =>
  parse(await file(kind, since), { columns: true });

it("products and stock: every product once, by SKU, over several pages", async () => {
  const products = await all("products");
  expect(products).toHaveLength(PRODUCTS);
  expect(products.map((r) => r.sku)).toEqual(Array.from({ length: PRODUCTS }, (_, i) => `PGL-${String(i + 1).padStart(5, "0")}`));
  expect(products[41]).toEqual({
    sku: "PGL-00042",
    name: "P 42",
    description: "d",
    price_cents: "42",
    currency: "EUR",
    location: "default",
    on_hand: "0",
  });
  const stock = await all("stock");
  expect(stock).toHaveLength(PRODUCTS);
  expect(stock[2]).toEqual({
    sku: "PGL-00003",
    location: "default",
    on_hand: "3",
    committed: "0",
    reserved: "0",
    incoming: "0",
    available: "3",
  });
});

it("ledger: every movement in id order; since= the later ones only", async () => {
  const ledger = await all("ledger");
  expect(ledger).toHaveLength(PRODUCTS);
  expect(ledger.map((r) => Number(r.id))).toEqual([...ledger.map((r) => Number(r.id))].sort((a, b) => a - b));
  expect(ledger[0]).toMatchObject({ occurred_at: "2026-01-01T00:00:00.000Z", sku: "PGL-00001", reason: "CREATED", order_id: "" });
  const since = await all("ledger", "2026-03-01");
  expect(since).toHaveLength(PRODUCTS - 1_000);
  expect(since[0]).toMatchObject({ sku: "PGL-01001", occurred_at: "2026-06-01T00:00:00.000Z" });
});

it('quotes as COPY does: an empty string as "", NULL as nothing, a comma, quote or newline in quotes', async () => {
  await db.prisma.$executeRawUnsafe(
    `INSERT INTO product (sku, name, description, price_cents, currency, stock) VALUES ('PGL-Z', 'a, "b"', '', 1, 'EUR', 0)`,
  );
  const lines = (await file("products")).split("\n");
  expect(lines[0]).toBe("sku,name,description,price_cents,currency,location,on_hand");
  expect(lines.at(-2)).toBe(`PGL-Z,"a, ""b""","",1,EUR,default,0`);
  const ledger = (await file("ledger")).split("\n");
  // No order: the empty, unquoted field of a NULL.
  expect(ledger[1]).toMatch(/^\d+,2026-01-01T00:00:00\.000Z,PGL-00001,default,CREATED,,1,0,0,0,1,0,0,0,0,,,,admin,$/);
});
