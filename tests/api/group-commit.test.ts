// Group commit against real PostgreSQL: orders that gather in one batch keep
// the outcome each would have had alone, in arrival order. To put a known set
// of orders into one batch, a "gate" order is held in the database by a row
// lock taken from this test's own connection: while it waits, the orders sent
// next gather (checked through the batcher's stats), and releasing the lock
// lets them go out together, as one statement. These run with one batch in
// flight (ORDER_BATCH_IN_FLIGHT=1), so the gate holds back everything after
// it; the last tests show what two in flight (the default) change.
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { expectTypename, type OrderLine, rowId } from "../support/shop.js";
import { PLACE_ORDER } from "../support/operations.js";

let api: Api;
let sql: pg.Pool;
let customer: { id: string; token: string };
beforeAll(async () => {
  api = await startApi({ ORDER_BATCH_IN_FLIGHT: "1" });
  sql = api.sql;
  customer = await api.createCustomer();
});
afterAll(async () => {
  await api?.close();
});

const stats = () => api.app.services.orders.stats;
const count = async (query: string, params: unknown[] = []) => Number((await sql.query(query, params)).rows[0].n);
const eventsOf = async (productGid: string) =>
  (
    await sql.query<{ available: number; committed: number; version: number }>(
      `SELECT (payload->>'available')::int AS available, (payload->>'committed')::int AS committed, (payload->>'version')::int AS version
       FROM outbox_event WHERE key = $1 AND payload->>'reason' = 'ORDER_PLACED' ORDER BY id`,
      [rowId(productGid)],
    )
  ).rows;

/**
 * Takes `productGid`'s row lock on a connection of the test's own: orders on
 * that product wait in the database until open() commits. close() gives the
 * lock up (rolling back) if open() never ran, and returns the connection.
 */
async function shutGate(pool: pg.Pool, productGid: string) {
  const lock = await pool.connect();
  try {
    await lock.query("BEGIN");
    await lock.query("SELECT 1 FROM product WHERE id = $1 FOR UPDATE", [rowId(productGid)]);
  } catch (err) {
    lock.release();
    throw err;
  }
  let ended = false;
  const end = async (statement: "COMMIT" | "ROLLBACK") => {
    if (ended) return;
    ended = true;
    try {
      await lock.query(statement);
    } finally {
      lock.release();
    }
  };
  return { open: () => end("COMMIT"), close: () => end("ROLLBACK").catch(() => {}) };
}

/**
 * Sends each request only once the one before it is waiting in the batcher
 * (so the batch holds them in this order), all while a gate order blocks the
 * batch before; then opens the gate. Checks that they went out as one batch.
 */
async function oneBatch<T>(
  requests: (() => Promise<T>)[],
  { size = requests.length, afterGate }: { size?: number; afterGate?: () => Promise<void> } = {},
): Promise<T[]> {
  const gate = await api.createProduct({ stock: 1_000 });
  const lock = await shutGate(sql, gate.id);
  let results: Promise<T>[] = [];
  const before = stats();
  try {
    const gated = api.placeOrder(customer.token, [{ productId: gate.id, quantity: 1 }]);
    await vi.waitFor(() => expect(stats().batches).toBe(before.batches + 1), { timeout: 10_000 });
    for (const [i, request] of requests.entries()) {
      results.push(request());
      await vi.waitFor(() => expect(stats().waiting).toBe(i + 1), { timeout: 10_000 });
    }
    await lock.open();
    expectTypename(await gated, "PlaceOrderSuccess");
  } finally {
    await lock.close();
  }
  await afterGate?.();
  const settled = await Promise.allSettled(results);
  results = [];
  const after = stats();
  // They all waited together behind the gate, and went out as one batch
  // (`size`: a key repeated in the batch goes into the next one).
  expect((after.sizes[size] ?? 0) - (before.sizes[size] ?? 0)).toBeGreaterThanOrEqual(1);
  return settled.map((s) => {
    if (s.status === "rejected") throw s.reason;
    return s.value;
  });
}

const order =
  (items: OrderLine[], key?: string, token = customer.token) =>
  () =>
    api.placeOrder(token, items, key);

describe("group commit", () => {
  it("orders in one batch compete for the last units in arrival order, each seeing what the ones before left", async () => {
    const p = await api.createProduct({ stock: 5, priceCents: 100 });
    const results = await oneBatch([
      order([{ productId: p.id, quantity: 2 }]),
      order([{ productId: p.id, quantity: 2 }]),
      order([{ productId: p.id, quantity: 2 }]),
      order([{ productId: p.id, quantity: 1 }]),
      order([{ productId: p.id, quantity: 1 }]),
    ]);
    expect(results.map((r) => r.__typename)).toEqual([
      "PlaceOrderSuccess",
      "PlaceOrderSuccess",
      "InsufficientStockError",
      "PlaceOrderSuccess",
      "InsufficientStockError",
    ]);
    expect(results[2]).toMatchObject({ productId: p.id, requested: 2, available: 1 });
    expect(results[4]).toMatchObject({ productId: p.id, requested: 1, available: 0 });
    expect(await api.stockOf(p.id)).toEqual({ stock: 0, version: 3 });
    // One event per accepted order, each with that order's own stock and version.
    expect(await eventsOf(p.id)).toEqual([
      { available: 3, committed: 2, version: 1 },
      { available: 1, committed: 4, version: 2 },
      { available: 0, committed: 5, version: 3 },
    ]);
    const ids = results.flatMap((r) => (r.__typename === "PlaceOrderSuccess" ? [r.order.id] : []));
    expect(new Set(ids).size).toBe(3);
  });

  it("a refused order between two accepted ones writes nothing and takes nothing from the next", async () => {
    const a = await api.createProduct({ stock: 3 });
    const b = await api.createProduct({ stock: 10 });
    const before = await count(`SELECT count(*) AS n FROM "order"`);
    const results = await oneBatch([
      order([{ productId: a.id, quantity: 2 }]),
      // All or nothing: b has plenty, a does not.
      order([
        { productId: b.id, quantity: 4 },
        { productId: a.id, quantity: 2 },
      ]),
      order([
        { productId: a.id, quantity: 1 },
        { productId: b.id, quantity: 10 },
      ]),
    ]);
    expect(results.map((r) => r.__typename)).toEqual(["PlaceOrderSuccess", "InsufficientStockError", "PlaceOrderSuccess"]);
    expect(results[1]).toMatchObject({ productId: a.id, requested: 2, available: 1 });
    expect(await api.stockOf(a.id)).toEqual({ stock: 0, version: 2 });
    expect(await api.stockOf(b.id)).toEqual({ stock: 0, version: 1 });
    expect(await count(`SELECT count(*) AS n FROM "order"`)).toBe(before + 2 + 1); // + the gate's order
    expect(await eventsOf(b.id)).toEqual([{ available: 0, committed: 10, version: 1 }]);
  });

  it("overlapping multi-line orders in one batch: all or nothing each, one event per product per order", async () => {
    const p1 = await api.createProduct({ stock: 5, priceCents: 100 });
    const p2 = await api.createProduct({ stock: 5, priceCents: 1000 });
    const results = await oneBatch([
      order([
        { productId: p1.id, quantity: 2 },
        { productId: p2.id, quantity: 3 },
      ]),
      order([
        { productId: p2.id, quantity: 3 },
        { productId: p1.id, quantity: 1 },
      ]),
      order([
        { productId: p2.id, quantity: 2 },
        { productId: p1.id, quantity: 3 },
      ]),
    ]);
    expect(results.map((r) => r.__typename)).toEqual(["PlaceOrderSuccess", "InsufficientStockError", "PlaceOrderSuccess"]);
    expect(results[1]).toMatchObject({ productId: p2.id, requested: 3, available: 2 });
    const [first, , third] = results.map((r) => (r.__typename === "PlaceOrderSuccess" ? r.order : null));
    expect(first!.totalCents).toBe(2 * 100 + 3 * 1000);
    expect(third!.totalCents).toBe(3 * 100 + 2 * 1000);
    expect(await api.stockOf(p1.id)).toEqual({ stock: 0, version: 2 });
    expect(await api.stockOf(p2.id)).toEqual({ stock: 0, version: 2 });
    expect(await eventsOf(p1.id)).toEqual([
      { available: 3, committed: 2, version: 1 },
      { available: 0, committed: 5, version: 2 },
    ]);
    expect(await eventsOf(p2.id)).toEqual([
      { available: 2, committed: 3, version: 1 },
      { available: 0, committed: 5, version: 2 },
    ]);
    const items = await count(`SELECT count(*) AS n FROM order_item WHERE order_id = ANY($1::uuid[])`, [[first!.id, third!.id].map(rowId)]);
    expect(items).toBe(4);
  });

  it("a key repeated inside one batch places one order and both callers get it; a different order under it is refused", async () => {
    const p = await api.createProduct({ stock: 10 });
    const deferred = stats().deferred;
    const results = await oneBatch(
      [
        order([{ productId: p.id, quantity: 2 }], "batch-dup"),
        order([{ productId: p.id, quantity: 1 }]),
        order([{ productId: p.id, quantity: 2 }], "batch-dup"),
        order([{ productId: p.id, quantity: 3 }], "batch-dup"),
      ],
      { size: 2 },
    );
    expect(stats().deferred - deferred).toBeGreaterThanOrEqual(2);
    const [a, , b, c] = results;
    expect(expectTypename(a!, "PlaceOrderSuccess").order.id).toBe(expectTypename(b!, "PlaceOrderSuccess").order.id);
    expect(c).toMatchObject({ __typename: "ValidationError", field: "idempotencyKey" });
    expect(await api.stockOf(p.id)).toEqual({ stock: 7, version: 2 });
    expect(await count(`SELECT count(*) AS n FROM "order" WHERE idempotency_key = 'batch-dup'`)).toBe(1);
  });

  it("a database error fails its whole batch (every caller gets an error, nothing written) and the next batch works", async () => {
    const p = await api.createProduct({ stock: 10 });
    const q = await api.createProduct({ stock: 10 });
    // A trigger that fails any order item of quantity 7: a database error in the middle of the batch's writes.
    await sql.query(`CREATE FUNCTION fail_seven() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.quantity = 7 THEN RAISE EXCEPTION 'test: quantity 7 refused by trigger'; END IF; RETURN NEW; END $$`);
    await sql.query(`CREATE TRIGGER fail_seven BEFORE INSERT ON order_item FOR EACH ROW EXECUTE FUNCTION fail_seven()`);
    try {
      const failed = stats().failed;
      const send = (items: OrderLine[], key: string) => () =>
        api.gql(PLACE_ORDER, { input: { items, idempotencyKey: key } }, api.bearer(customer.token));
      const results = await oneBatch([
        send([{ productId: p.id, quantity: 1 }], "fails-1"),
        send([{ productId: q.id, quantity: 7 }], "fails-2"),
        send([{ productId: p.id, quantity: 2 }], "fails-3"),
      ]);
      expect(stats().failed - failed).toBe(1);
      for (const r of results) {
        expect(r.data?.placeOrder ?? null).toBeNull();
        expect(r.errors?.[0]?.message).toBe("Unexpected error.");
      }
      expect(await api.stockOf(p.id)).toEqual({ stock: 10, version: 0 });
      expect(await api.stockOf(q.id)).toEqual({ stock: 10, version: 0 });
      expect(await count(`SELECT count(*) AS n FROM "order" WHERE idempotency_key LIKE 'fails-%'`)).toBe(0);
      expect(await eventsOf(p.id)).toEqual([]);
      expect(await eventsOf(q.id)).toEqual([]);

      // The next batch works, under the same keys.
      const again = await oneBatch([
        order([{ productId: p.id, quantity: 1 }], "fails-1"),
        order([{ productId: q.id, quantity: 6 }], "fails-3"),
      ]);
      expect(again.map((r) => r.__typename)).toEqual(["PlaceOrderSuccess", "PlaceOrderSuccess"]);
      expect(await api.stockOf(p.id)).toEqual({ stock: 9, version: 1 });
      expect(await api.stockOf(q.id)).toEqual({ stock: 4, version: 1 });
    } finally {
      await sql.query(`DROP TRIGGER fail_seven ON order_item; DROP FUNCTION fail_seven()`);
    }
  });

  it("many concurrent orders go out in fewer statements than orders, and still sell exactly the stock", async () => {
    const customers = await Promise.all(Array.from({ length: 5 }, () => api.createCustomer()));
    const hot = await api.createProduct({ stock: 60 });
    const before = stats();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => api.placeOrder(customers[i % 5]!.token, [{ productId: hot.id, quantity: 1 }])),
    );
    const after = stats();
    expect(results.filter((r) => r.__typename === "PlaceOrderSuccess")).toHaveLength(60);
    expect(await api.stockOf(hot.id)).toEqual({ stock: 0, version: 60 });
    // The orders that reached the database went out in fewer batches than orders.
    const reached = after.batchedOrders - before.batchedOrders;
    expect(reached).toBeGreaterThanOrEqual(60);
    expect(after.batches - before.batches).toBeLessThan(reached);
  });

  it("a key committed meanwhile by someone else fails the batch statement; its orders are then placed one by one, that one replaying", async () => {
    const p = await api.createProduct({ stock: 10, priceCents: 500 });
    // Another process's order under the same key, inserted but not yet committed:
    // the batch's INSERT waits on the unique index, then fails when it commits.
    const other = await sql.connect();
    const fallbacks = stats().fallbacks;
    try {
      await other.query("BEGIN");
      const { rows } = await other.query<{ id: string }>(
        `INSERT INTO "order" (customer_id, total_cents, currency, idempotency_key) VALUES ($1, 500, 'EUR', 'raced') RETURNING id`,
        [rowId(customer.id)],
      );
      await other.query(`INSERT INTO order_item (order_id, product_id, quantity, unit_price_cents) VALUES ($1, $2, 1, 500)`, [
        rows[0]!.id,
        rowId(p.id),
      ]);
      const results = await oneBatch(
        [
          order([{ productId: p.id, quantity: 2 }]),
          order([{ productId: p.id, quantity: 1 }], "raced"),
          order([{ productId: p.id, quantity: 3 }]),
        ],
        {
          afterGate: async () => {
            await vi.waitFor(
              async () =>
                expect(
                  await count(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`),
                ).toBe(1),
              { timeout: 10_000 },
            );
            await other.query("COMMIT");
          },
        },
      );
      expect(stats().fallbacks - fallbacks).toBe(1);
      expect(results.map((r) => r.__typename)).toEqual(["PlaceOrderSuccess", "PlaceOrderSuccess", "PlaceOrderSuccess"]);
      expect(expectTypename(results[1]!, "PlaceOrderSuccess").order.id).toBe(Buffer.from(`Order:${rows[0]!.id}`).toString("base64"));
      // The raced order was written by "someone else", who did not touch the stock: only the other two took theirs.
      expect(await api.stockOf(p.id)).toEqual({ stock: 5, version: 2 });
      expect(await eventsOf(p.id)).toEqual([
        { available: 8, committed: 2, version: 1 },
        { available: 5, committed: 5, version: 2 },
      ]);
    } finally {
      await other.query("ROLLBACK").catch(() => {});
      other.release();
    }
  });

  it("an order on an idle server goes out at once, alone", async () => {
    const p = await api.createProduct({ stock: 5 });
    const before = stats();
    expectTypename(await api.placeOrder(customer.token, [{ productId: p.id, quantity: 1 }]), "PlaceOrderSuccess");
    const after = stats();
    expect(after.batches - before.batches).toBe(1);
    expect((after.sizes[1] ?? 0) - (before.sizes[1] ?? 0)).toBe(1);
  });

  it("ORDER_BATCH_MAX caps a batch: more waiting orders go out in several, one after another, in order", async () => {
    const small = await startApi({ ORDER_BATCH_MAX: "2", ORDER_BATCH_IN_FLIGHT: "1" });
    try {
      const ordersStats = () => small.app.services.orders.stats;
      const who = await small.createCustomer();
      const p = await small.createProduct({ stock: 4 });
      const gate = await small.createProduct({ stock: 10 });
      const lock = await shutGate(small.sql, gate.id);
      let results: Promise<Awaited<ReturnType<typeof small.placeOrder>>>[] = [];
      try {
        const gated = small.placeOrder(who.token, [{ productId: gate.id, quantity: 1 }]);
        await vi.waitFor(() => expect(ordersStats().batches).toBe(1), { timeout: 10_000 });
        for (let i = 0; i < 5; i++) {
          results.push(small.placeOrder(who.token, [{ productId: p.id, quantity: 1 }]));
          await vi.waitFor(() => expect(ordersStats().waiting).toBe(i + 1), { timeout: 10_000 });
        }
        await lock.open();
        await gated;
      } finally {
        await lock.close();
      }
      const outcome = (await Promise.all(results)).map((r) => r.__typename);
      results = [];
      expect(outcome).toEqual([
        "PlaceOrderSuccess",
        "PlaceOrderSuccess",
        "PlaceOrderSuccess",
        "PlaceOrderSuccess",
        "InsufficientStockError",
      ]);
      expect(ordersStats().sizes).toEqual({ 1: 2, 2: 2 }); // the gate, then 2 + 2 + 1
      expect(ordersStats().batches).toBe(4);
    } finally {
      await small.close();
    }
  });

  describe("two batches in flight (the default)", () => {
    let two: Api;
    beforeAll(async () => {
      two = await startApi();
    });
    afterAll(async () => {
      await two?.close();
    });
    const twoStats = () => two.app.services.orders.stats;

    it("a second batch goes out while the first waits on a product's lock; with both in the database, the next order waits", async () => {
      const who = await two.createCustomer();
      const gate = await two.createProduct({ stock: 10 });
      const other = await two.createProduct({ stock: 10 });
      const lock = await shutGate(two.sql, gate.id);
      const before = twoStats().batches;
      try {
        const first = two.placeOrder(who.token, [{ productId: gate.id, quantity: 1 }]);
        await vi.waitFor(() => expect(twoStats().inFlight).toBe(1), { timeout: 10_000 });
        // Another product: its batch runs beside the gated one and is back while the gate is still shut.
        expectTypename(await two.placeOrder(who.token, [{ productId: other.id, quantity: 1 }]), "PlaceOrderSuccess");
        expect(twoStats().batches - before).toBe(2);
        // The gated product again: this batch queues on the same lock, in the database.
        const second = two.placeOrder(who.token, [{ productId: gate.id, quantity: 1 }]);
        await vi.waitFor(() => expect(twoStats().inFlight).toBe(2), { timeout: 10_000 });
        // Both slots taken: the next order waits in the process, not in the database.
        const third = two.placeOrder(who.token, [{ productId: other.id, quantity: 1 }]);
        await vi.waitFor(() => expect(twoStats().waiting).toBe(1), { timeout: 10_000 });
        await new Promise((r) => setTimeout(r, 200));
        expect(twoStats().batches - before).toBe(3);
        await lock.open();
        for (const r of await Promise.all([first, second, third])) expectTypename(r, "PlaceOrderSuccess");
        expect(twoStats().batches - before).toBe(4);
        expect(await two.stockOf(gate.id)).toEqual({ stock: 8, version: 2 });
        expect(await two.stockOf(other.id)).toEqual({ stock: 8, version: 2 });
      } finally {
        await lock.close();
      }
    });

    it("many concurrent orders for the last units of one product sell exactly the stock, one version and one event per order, in order", async () => {
      const customers = await Promise.all(Array.from({ length: 5 }, () => two.createCustomer()));
      const hot = await two.createProduct({ stock: 60 });
      let most = 0;
      const watch = setInterval(() => (most = Math.max(most, twoStats().inFlight)), 1);
      const results = await Promise.all(
        Array.from({ length: 150 }, (_, i) => two.placeOrder(customers[i % 5]!.token, [{ productId: hot.id, quantity: 1 }])),
      ).finally(() => clearInterval(watch));
      expect(results.filter((r) => r.__typename === "PlaceOrderSuccess")).toHaveLength(60);
      expect(results.filter((r) => r.__typename === "InsufficientStockError")).toHaveLength(90);
      expect(await two.stockOf(hot.id)).toEqual({ stock: 0, version: 60 });
      // Each event's level (schema version 2) is the level right after its own order, not the batch's end state.
      const { rows } = await two.sql.query<{ available: number; version: number; level: unknown }>(
        `SELECT (payload->>'available')::int AS available, (payload->>'version')::int AS version,
           jsonb_build_object('committed', payload->'levels'->0->'committed', 'available', payload->'levels'->0->'available',
             'version', payload->'levels'->0->'version', 'count', jsonb_array_length(payload->'levels')) AS level
         FROM outbox_event WHERE key = $1 AND payload->>'reason' = 'ORDER_PLACED' ORDER BY id`,
        [rowId(hot.id)],
      );
      expect(rows).toEqual(
        Array.from({ length: 60 }, (_, i) => ({
          available: 59 - i,
          version: i + 1,
          level: { committed: i + 1, available: 59 - i, version: i + 1, count: 1 },
        })),
      );
      expect(most).toBe(2); // the two slots were both used
    });
  });

  it("GET /stats shows these counters to admins only", async () => {
    expect((await api.fetch("/stats")).status).toBe(403);
    expect((await api.fetch("/stats", { headers: api.bearer(customer.token) })).status).toBe(403);
    const res = await api.fetch("/stats", { headers: api.bearer(api.adminToken) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ orders: { batches: stats().batches, soldOutRefusals: 0 }, stockHub: {}, fanout: {} });
  });
});
