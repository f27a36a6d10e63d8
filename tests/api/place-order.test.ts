// placeOrder against real PostgreSQL: all-or-nothing, priced by the database,
// idempotent, and never oversold under real concurrency.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { expectTypename } from "../support/shop.js";

let api: Api;
let sql: pg.Pool;
beforeAll(async () => {
  api = await startApi();
  sql = api.sql;
});
afterAll(async () => {
  await api?.close();
});

const count = async (table: string) => Number((await sql.query(`SELECT count(*) FROM "${table}"`)).rows[0].count);

describe("placeOrder", () => {
  it("decrements stock, prices lines from the database and bumps product versions", async () => {
    const customer = await api.createCustomer();
    const a = await api.createProduct({ stock: 10, priceCents: 1250 });
    const b = await api.createProduct({ stock: 5, priceCents: 399 });
    const result = expectTypename(
      await api.placeOrder(customer.token, [
        { productId: a.id, quantity: 3 },
        { productId: b.id, quantity: 2 },
      ]),
      "PlaceOrderSuccess",
    );
    expect(result.order).toMatchObject({ status: "PENDING", totalCents: 3 * 1250 + 2 * 399, currency: "EUR", version: 0 });
    expect(result.order.items.map((i) => [i.product.id, i.quantity, i.unitPriceCents]).sort()).toEqual(
      [
        [a.id, 3, 1250],
        [b.id, 2, 399],
      ].sort(),
    );
    expect(await api.stockOf(a.id)).toEqual({ stock: 7, version: 1 });
    expect(await api.stockOf(b.id)).toEqual({ stock: 3, version: 1 });
  });

  it("merges repeated lines for one product", async () => {
    const customer = await api.createCustomer();
    const a = await api.createProduct({ stock: 10 });
    const result = expectTypename(
      await api.placeOrder(customer.token, [
        { productId: a.id, quantity: 2 },
        { productId: a.id, quantity: 3 },
      ]),
      "PlaceOrderSuccess",
    );
    expect(result.order.items).toEqual([expect.objectContaining({ quantity: 5 })]);
    expect((await api.stockOf(a.id)).stock).toBe(5);
  });

  it("writes nothing when any line is short, and says what is available", async () => {
    const customer = await api.createCustomer();
    const plenty = await api.createProduct({ stock: 100 });
    const scarce = await api.createProduct({ stock: 2 });
    const before = { orders: await count("order"), items: await count("order_item"), outbox: await count("outbox_event") };
    const result = await api.placeOrder(customer.token, [
      { productId: plenty.id, quantity: 1 },
      { productId: scarce.id, quantity: 3 },
    ]);
    expect(result).toMatchObject({
      __typename: "InsufficientStockError",
      productId: scarce.id,
      sku: scarce.sku,
      requested: 3,
      available: 2,
    });
    expect(await api.stockOf(plenty.id)).toEqual({ stock: 100, version: 0 });
    expect(await api.stockOf(scarce.id)).toEqual({ stock: 2, version: 0 });
    expect({ orders: await count("order"), items: await count("order_item"), outbox: await count("outbox_event") }).toEqual(before);
  });

  it("refuses unknown products and mixed currencies without writing", async () => {
    const customer = await api.createCustomer();
    const eur = await api.createProduct({ stock: 5, currency: "EUR" });
    const usd = await api.createProduct({ stock: 5, currency: "USD" });
    const ghost = Buffer.from("Product:00000000-0000-4000-8000-000000000000").toString("base64");
    expect(await api.placeOrder(customer.token, [{ productId: ghost, quantity: 1 }])).toMatchObject({
      __typename: "NotFoundError",
      id: ghost,
    });
    expect(
      await api.placeOrder(customer.token, [
        { productId: eur.id, quantity: 1 },
        { productId: usd.id, quantity: 1 },
      ]),
    ).toMatchObject({ __typename: "ValidationError", field: "items" });
    expect((await api.stockOf(eur.id)).stock).toBe(5);
    expect((await api.stockOf(usd.id)).stock).toBe(5);
  });

  it("answers a repeated idempotency key with the original order, and refuses it for different items", async () => {
    const customer = await api.createCustomer();
    const a = await api.createProduct({ stock: 10 });
    const first = expectTypename(await api.placeOrder(customer.token, [{ productId: a.id, quantity: 2 }], "same-key"), "PlaceOrderSuccess");
    const again = expectTypename(await api.placeOrder(customer.token, [{ productId: a.id, quantity: 2 }], "same-key"), "PlaceOrderSuccess");
    expect(again.order.id).toBe(first.order.id);
    expect((await api.stockOf(a.id)).stock).toBe(8);
    const different = await api.placeOrder(customer.token, [{ productId: a.id, quantity: 1 }], "same-key");
    expect(different).toMatchObject({ __typename: "ValidationError", field: "idempotencyKey" });
    // Another customer may use the same key for their own order.
    const other = await api.createCustomer();
    const theirs = expectTypename(await api.placeOrder(other.token, [{ productId: a.id, quantity: 1 }], "same-key"), "PlaceOrderSuccess");
    expect(theirs.order.id).not.toBe(first.order.id);
    expect((await api.stockOf(a.id)).stock).toBe(7);
  });

  it("a key of a cancelled order returns that order, CANCELLED, and places nothing again, as the key's description says", async () => {
    const input = await api.gql(`{ __type(name: "PlaceOrderInput") { inputFields { name description } } }`);
    const key = (input.data.__type.inputFields as { name: string; description: string }[]).find((f) => f.name === "idempotencyKey")!;
    expect(key.description).toMatch(/CANCELLED/);

    const customer = await api.createCustomer();
    const a = await api.createProduct({ stock: 10 });
    const first = expectTypename(
      await api.placeOrder(customer.token, [{ productId: a.id, quantity: 2 }], "then-cancelled"),
      "PlaceOrderSuccess",
    );
    const cancel = await api.gql(
      `mutation($id: ID!) { cancelOrder(input: { orderId: $id }) { __typename } }`,
      { id: first.order.id },
      api.bearer(customer.token),
    );
    expect(cancel.data.cancelOrder.__typename).toBe("CancelOrderSuccess");
    const retried = await api.placeOrder(customer.token, [{ productId: a.id, quantity: 2 }], "then-cancelled");
    expect(retried).toMatchObject({ __typename: "PlaceOrderSuccess", order: { id: first.order.id, status: "CANCELLED" } });
    expect((await api.stockOf(a.id)).stock).toBe(10);
  });

  it("places exactly one order for concurrent duplicates of one idempotency key", async () => {
    const customer = await api.createCustomer();
    const a = await api.createProduct({ stock: 100 });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => api.placeOrder(customer.token, [{ productId: a.id, quantity: 1 }], "dup-race")),
    );
    const orders = results.map((r) => expectTypename(r, "PlaceOrderSuccess").order);
    expect(new Set(orders.map((o) => o.id)).size).toBe(1);
    expect((await api.stockOf(a.id)).stock).toBe(99);
    const { rows } = await sql.query(`SELECT count(*)::int AS n FROM "order" WHERE idempotency_key = 'dup-race'`);
    expect(rows[0].n).toBe(1);
  });

  it("sells exactly the stock when 200 orders race for 50 units", async () => {
    const customers = await Promise.all(Array.from({ length: 10 }, () => api.createCustomer()));
    const hot = await api.createProduct({ stock: 50 });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => api.placeOrder(customers[i % 10]!.token, [{ productId: hot.id, quantity: 1 }])),
    );
    const won = results.filter((r) => r.__typename === "PlaceOrderSuccess");
    const lost = results.filter((r) => r.__typename === "InsufficientStockError");
    expect(won).toHaveLength(50);
    expect(lost).toHaveLength(150);
    expect(lost.every((r) => r.available === 0 && r.requested === 1)).toBe(true);
    expect(await api.stockOf(hot.id)).toEqual({ stock: 0, version: 50 });
    const { rows } = await sql.query(`SELECT coalesce(sum(quantity), 0)::int AS sold FROM order_item WHERE product_id = $1`, [
      Buffer.from(hot.id, "base64").toString().split(":")[1],
    ]);
    const { stock } = await api.stockOf(hot.id);
    expect(rows[0].sold + stock).toBe(50); // sum(order quantities) + stock = initial stock
  });

  it("never deadlocks or oversells when multi-line orders race over overlapping products", async () => {
    const customers = await Promise.all(Array.from({ length: 8 }, () => api.createCustomer()));
    const products = await Promise.all([30, 30, 30, 30].map((stock) => api.createProduct({ stock })));
    // Each order takes two or three products, listed in different orders, so
    // naive locking in request order would deadlock.
    const orders = Array.from({ length: 160 }, (_, i) => {
      const picks = [products[i % 4]!, products[(i + 1) % 4]!, ...(i % 3 === 0 ? [products[(i + 2) % 4]!] : [])];
      if (i % 2) picks.reverse();
      return picks.map((p, j) => ({ productId: p.id, quantity: 1 + ((i + j) % 2) }));
    });
    const results = await Promise.all(
      orders.map((items, i) =>
        api.gql(
          `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { __typename ... on PlaceOrderSuccess { order { items { quantity product { id } } } } } }`,
          { input: { items, idempotencyKey: `multi-${i}` } },
          api.bearer(customers[i % 8]!.token),
        ),
      ),
    );
    // No request failed with an error (a deadlock would surface as one).
    expect(results.filter((r) => r.errors)).toEqual([]);
    const types = new Set(results.map((r) => r.data.placeOrder.__typename));
    expect([...types].every((t) => t === "PlaceOrderSuccess" || t === "InsufficientStockError")).toBe(true);
    for (const p of products) {
      const sold = results
        .filter((r) => r.data.placeOrder.__typename === "PlaceOrderSuccess")
        .flatMap((r) => r.data.placeOrder.order.items)
        .filter((item: any) => item.product.id === p.id)
        .reduce((n: number, item: any) => n + item.quantity, 0);
      const { stock } = await api.stockOf(p.id);
      expect(stock).toBeGreaterThanOrEqual(0);
      expect(sold + stock).toBe(30);
    }
  });
});
