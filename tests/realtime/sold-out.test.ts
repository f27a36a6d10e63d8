// The sold-out short cut on a whole instance (PostgreSQL, Kafka, Redis): once
// the database has refused an order for a sold-out product, the live stock
// stream keeps this process informed, and further orders for it are refused
// from memory, with no database round trip; a restock's event reopens it.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDatabase, sqlPool, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import { shopAt, startInstance, stockwireEnv, streamNames, type Instance } from "../support/stockwire.js";
import { expectTypename, type Shop } from "../support/shop.js";
import { idOfType } from "../../src/ids/index.js";

let db: TestDatabase;
let api: Instance;
let shop: Shop;
let env: Record<string, string>;
beforeAll(async () => {
  db = await createTestDatabase();
  env = stockwireEnv({ databaseUrl: db.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() }, streamNames("sold-out"), [
    "api",
    "relay",
    "bridge",
  ]);
  // Trusted long enough that a slow machine cannot let the refusals below reach the database.
  api = await startInstance({ ...env, ORDER_SOLD_OUT_TRUST_MS: "60000" });
  shop = await shopAt(api.url);
});
afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

describe("sold-out short cut", () => {
  it("refuses from memory once a product is known to be sold out, and reopens on restock", async () => {
    const services = api.running.app!.services;
    const stats = () => services.orders.stats;
    const customer = await shop.createCustomer();
    const p = await shop.createProduct({ stock: 1 });
    const id = idOfType("Product", p.id)!;
    expectTypename(await shop.placeOrder(customer.token, [{ productId: p.id, quantity: 1 }]), "PlaceOrderSuccess");
    // The database refuses the next one; from then on the product is followed.
    expect(await shop.placeOrder(customer.token, [{ productId: p.id, quantity: 1 }])).toMatchObject({
      __typename: "InsufficientStockError",
      available: 0,
    });
    await vi.waitFor(() => expect(services.live.stock.known(id)?.available).toBe(0), { timeout: 20_000 });

    const before = stats();
    const refused = await Promise.all(
      Array.from({ length: 10 }, () => shop.placeOrder(customer.token, [{ productId: p.id, quantity: 1 }])),
    );
    for (const r of refused) expect(r).toMatchObject({ __typename: "InsufficientStockError", productId: p.id, requested: 1, available: 0 });
    const after = stats();
    expect(after.soldOutRefusals - before.soldOutRefusals).toBe(10);
    expect(after.batchedOrders - before.batchedOrders).toBe(0); // none reached the database

    // A restock reopens it as soon as its event arrives (then the watch ends); the database judges again.
    await shop.adjustStock(p.id, 2);
    await vi.waitFor(() => expect(services.live.stock.known(id)?.available ?? "not followed").not.toBe(0), { timeout: 20_000 });
    expectTypename(await shop.placeOrder(customer.token, [{ productId: p.id, quantity: 2 }]), "PlaceOrderSuccess");
    expect(await shop.stockOf(p.id)).toEqual({ stock: 0, version: 3 });
    expect(stats().batchedOrders - after.batchedOrders).toBe(1);
  });

  it("a retry of an order that was placed gets the order back, even once the product is known to be sold out", async () => {
    const services = api.running.app!.services;
    const customer = await shop.createCustomer();
    const p = await shop.createProduct({ stock: 1 });
    const id = idOfType("Product", p.id)!;
    const placed = expectTypename(await shop.placeOrder(customer.token, [{ productId: p.id, quantity: 1 }], "so-1"), "PlaceOrderSuccess");
    // Another order is refused by the database: the short cut is armed for the product.
    expectTypename(await shop.placeOrder(customer.token, [{ productId: p.id, quantity: 1 }]), "InsufficientStockError");
    await vi.waitFor(() => expect(services.live.stock.known(id)?.available).toBe(0), { timeout: 20_000 });
    const before = services.orders.stats.soldOutRefusals;
    expectTypename(await shop.placeOrder(customer.token, [{ productId: p.id, quantity: 1 }]), "InsufficientStockError");
    expect(services.orders.stats.soldOutRefusals).toBe(before + 1); // armed: refused from memory

    // The client lost the first response and retries with its key: it gets its order, not "sold out".
    const retried = await shop.placeOrder(customer.token, [{ productId: p.id, quantity: 1 }], "so-1");
    expect(retried).toMatchObject({ __typename: "PlaceOrderSuccess", order: { id: placed.order.id } });
  });

  it("a flood of refusals and retries at once: every retry gets its order, the rest are refused, the keys checked together", async () => {
    const services = api.running.app!.services;
    const p = await shop.createProduct({ stock: 5 });
    const id = idOfType("Product", p.id)!;
    const buyers = await Promise.all(Array.from({ length: 5 }, () => shop.createCustomer()));
    const placed = await Promise.all(
      buyers.map(async (b, i) =>
        expectTypename(await shop.placeOrder(b.token, [{ productId: p.id, quantity: 1 }], `flood-${i}`), "PlaceOrderSuccess"),
      ),
    );
    const late = await shop.createCustomer();
    expectTypename(await shop.placeOrder(late.token, [{ productId: p.id, quantity: 1 }]), "InsufficientStockError");
    await vi.waitFor(() => expect(services.live.stock.known(id)?.available).toBe(0), { timeout: 20_000 });

    const before = services.orders.stats;
    const [retries, refusals] = await Promise.all([
      Promise.all(buyers.map((b, i) => shop.placeOrder(b.token, [{ productId: p.id, quantity: 1 }], `flood-${i}`))),
      Promise.all(Array.from({ length: 40 }, () => shop.placeOrder(late.token, [{ productId: p.id, quantity: 1 }]))),
    ]);
    retries.forEach((r, i) => expect(r).toMatchObject({ __typename: "PlaceOrderSuccess", order: { id: placed[i]!.order.id } }));
    for (const r of refusals) expectTypename(r, "InsufficientStockError");
    const after = services.orders.stats;
    expect(after.soldOutRefusals - before.soldOutRefusals).toBe(45);
    expect(after.batchedOrders - before.batchedOrders).toBe(0);
    // 45 keys, fewer statements: refusals that arrive together share one.
    const statements = after.soldOutKeyChecks - before.soldOutKeyChecks;
    expect(statements).toBeGreaterThan(0);
    expect(statements).toBeLessThan(45);
    expect(await shop.stockOf(p.id)).toEqual({ stock: 0, version: 5 }); // nothing more sold, nothing written
  });

  it("trusts a sold-out state only for ORDER_SOLD_OUT_TRUST_MS: stock restored behind the app's back (no event) is sold again", async () => {
    const api2 = await startInstance({ ...env, STOCKWIRE_ROLES: "api", ORDER_SOLD_OUT_TRUST_MS: "300" });
    const sql = sqlPool(db.url, 1);
    try {
      const shop2 = await shopAt(api2.url);
      const services = api2.running.app!.services;
      const customer = await shop2.createCustomer();
      const p = await shop2.createProduct({ stock: 0 });
      const id = idOfType("Product", p.id)!;
      expect(await shop2.placeOrder(customer.token, [{ productId: p.id, quantity: 1 }])).toMatchObject({
        __typename: "InsufficientStockError",
      });
      await vi.waitFor(() => expect(services.live.stock.known(id)?.available).toBe(0), { timeout: 20_000 });
      // An operator puts stock back by hand: no event, so the stream still says 0.
      await sql.query("UPDATE product SET stock = 5 WHERE id = $1", [id]);
      await sql.query("UPDATE stock_level SET on_hand = 5 WHERE product_id = $1", [id]);
      await new Promise((r) => setTimeout(r, 400));
      expectTypename(await shop2.placeOrder(customer.token, [{ productId: p.id, quantity: 1 }]), "PlaceOrderSuccess");
    } finally {
      await sql.end();
      await api2.stop();
    }
  });
});
