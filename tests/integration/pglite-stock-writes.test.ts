// Every stock-changing statement on embedded PGlite, where the same SQL goes
// through Prisma instead of the pg driver (src/db/raw-sql.ts): each one runs,
// and the ledger and the outbox agree with the product row afterwards.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.js";
import { orderByKey, placeOrdersBatch } from "../../src/db/order.sql.js";
import { productsByIds, productsPage } from "../../src/db/product.sql.js";
import { consumeHold, endHold, reserveAtomically } from "../../src/db/hold.sql.js";
import { adjustStockAtomically, releaseOrderStock } from "../../src/db/stock.sql.js";
import { openingMovements } from "../../src/db/ledger.sql.js";

const dataDir = mkdtempSync(path.join(tmpdir(), "stockwire-pglite-writes-"));
let db: Database;

beforeAll(async () => {
  db = await openDatabase({ kind: "pglite", dataDir });
  await db.migrate();
}, 120_000);
afterAll(async () => {
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("stock writes on PGlite", () => {
  it("orders, holds, adjustments and a cancellation keep product, ledger and events in step", { timeout: 120_000 }, async () => {
    const { prisma } = db;
    const customer = await prisma.customer.create({ data: { email: "pglite@example.com", name: "P" } });
    const product = await prisma.product.create({ data: { sku: "PGL-1", name: "P", priceCents: 100, currency: "EUR", stock: 0 } });
    await openingMovements(prisma, product.id, "admin");
    const [level] = await prisma.stockLevel.findMany({ where: { productId: product.id } });
    const adjust = (delta: number) =>
      adjustStockAtomically(prisma, {
        id: product.id,
        locationId: level!.locationId,
        change: { delta },
        expectedVersion: null,
        adjustment: "CORRECTION",
        note: "t",
        maxStock: 1000,
        actor: "admin",
      });

    expect((await adjust(10)).product?.stock).toBe(10);
    const lines = [{ productId: product.id, quantity: 2 }];
    const placed = await placeOrdersBatch(db.sql, [
      { customerId: customer.id, idempotencyKey: "a", lines },
      { customerId: customer.id, idempotencyKey: "b", lines },
    ]);
    expect(placed.map((p) => !!p.order)).toEqual([true, true]);
    const { hold } = await reserveAtomically(prisma, { customerId: customer.id, idempotencyKey: "h", lines, ttlSeconds: 60, actor: "c" });
    const consumed = await consumeHold(prisma, { customerId: customer.id, idempotencyKey: "c", holdId: hold!.id });
    expect(consumed.order).not.toBeNull();
    const other = await reserveAtomically(prisma, { customerId: customer.id, idempotencyKey: "h2", lines, ttlSeconds: 60, actor: "c" });
    expect((await endHold(prisma, { holdId: other.hold!.id, to: "RELEASED", customerId: null, actor: "c" })).ended).toBe("RELEASED");
    expect(await releaseOrderStock(prisma, placed[0]!.order!.id, "admin", "ORDER_CANCELLED")).toEqual([product.id]);
    // Placed and consumed orders commit their units (on hand stays until they ship): 10 - 1
    expect((await adjust(-1)).product).toMatchObject({ stock: 9, committed: 4 });

    const [row] = await prisma.$queryRaw<
      { stock: number; reserved: number; version: number; on_hand: number; held: number; last: number }[]
    >`
      SELECT p.stock, p.reserved, p.version,
        (SELECT sum(delta_on_hand)::int FROM stock_movement WHERE product_id = p.id) AS on_hand,
        (SELECT sum(delta_reserved)::int FROM stock_movement WHERE product_id = p.id) AS held,
        (SELECT (payload->>'version')::int FROM outbox_event WHERE key = p.id::text ORDER BY id DESC LIMIT 1) AS last
      FROM product p WHERE p.id = ${product.id}::uuid`;
    expect(row).toEqual({ stock: 9, reserved: 0, version: 9, on_hand: 9, held: 0, last: 9 }); // one version per write
  });

  it("the reads sent past Prisma on PostgreSQL (products by id, a catalogue page, an order by its key) answer the same here", async () => {
    const { prisma } = db;
    const customer = await prisma.customer.create({ data: { email: "pglite-reads@example.com", name: "R" } });
    const made = [];
    for (const sku of ["PGR-1", "PGR_2", "PGR-3"]) {
      made.push(await prisma.product.create({ data: { sku, name: `Read ${sku}`, priceCents: 100, currency: "EUR", stock: 0 } }));
    }
    const missing = "00000000-0000-4000-8000-000000000000";
    const byId = await productsByIds(db.sql, [made[1]!.id, missing]);
    expect(byId).toEqual([await prisma.product.findUnique({ where: { id: made[1]!.id } })]);
    // A keyset page, its wildcard-escaped search, and the page after a cursor.
    const page = await productsPage(db.sql, { limit: 10, inverted: false, search: "PGR\\_" });
    expect(page.map((p) => p.sku)).toEqual(["PGR_2"]);
    const after = await productsPage(db.sql, { limit: 10, inverted: false, search: "PGR", after: made[0]! });
    expect(after.map((p) => p.sku)).toEqual(["PGR_2", "PGR-3"]);

    await adjustStockAtomically(prisma, {
      id: made[0]!.id,
      locationId: (await prisma.stockLevel.findFirstOrThrow({ where: { productId: made[0]!.id } })).locationId,
      change: { delta: 5 },
      expectedVersion: null,
      adjustment: "RECEIVED",
      note: null,
      maxStock: 1000,
      actor: "admin",
    });
    const [placed] = await placeOrdersBatch(db.sql, [
      { customerId: customer.id, idempotencyKey: "k", lines: [{ productId: made[0]!.id, quantity: 2 }] },
    ]);
    expect(await orderByKey(db.sql, customer.id, "k")).toMatchObject({
      id: placed!.order!.id,
      status: "PENDING",
      items: [{ productId: made[0]!.id, quantity: 2 }],
    });
    expect(await orderByKey(db.sql, customer.id, "other")).toBeUndefined();
  });
});
