// Two full Stockwire instances (api + relay + bridge each) on one PostgreSQL,
// Kafka and Redis: the relays contend for the advisory lock, the bridges
// split the partitions of one consumer group, and a subscriber on either
// instance sees every change committed through either, exactly and in order.
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, sqlPool, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import {
  eventually,
  shopAt,
  sleep,
  startInstance,
  stockwireEnv,
  streamNames,
  subscribeOrderStatus,
  subscribeStock,
  versionRegressions,
  type Instance,
  type Subscription,
} from "../support/stockwire.js";
import { expectTypename, type Shop } from "../support/shop.js";
import { channelName } from "../../src/realtime/pubsub.js";

let database: TestDatabase;
let sql: pg.Pool;
let a: Instance;
let b: Instance;
let viaA: Shop;
let viaB: Shop;
let raw: Redis;
/** Every stock event the bridges publish to Redis, before any per-subscription filtering. */
const published: { eventId: string; productId: string; reason: string; orderId: string | null; version: number }[] = [];
const subscriptions: Subscription<unknown>[] = [];
const track = <T>(s: Subscription<T>) => (subscriptions.push(s as Subscription<unknown>), s);

beforeAll(async () => {
  database = await createTestDatabase();
  sql = sqlPool(database.url);
  const env = stockwireEnv(
    { databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() },
    streamNames("two-instances"),
    ["api", "relay", "bridge"],
  );
  [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
  viaA = await shopAt(a.url);
  viaB = await shopAt(b.url);
  raw = new Redis(redisUrl());
  raw.on("pmessage", (_pattern: string, _channel: string, message: string) => published.push(JSON.parse(message)));
  await raw.psubscribe(channelName("stock", "*"));
});
afterAll(async () => {
  await Promise.allSettled(subscriptions.map((s) => s.close()));
  raw?.disconnect();
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await sql?.end();
  await database?.drop();
});

const dbId = (globalId: string) => Buffer.from(globalId, "base64").toString("utf8").split(":")[1]!;
/**
 * A new product whose CREATED event has been through the pipeline already, so
 * subscribers opened now start with the CURRENT snapshot (see live-snapshot.test.ts
 * for what happens when that event is still on its way).
 */
async function settledProduct(stock: number) {
  const product = await viaA.createProduct({ stock });
  await eventually("the CREATED event on Redis", async () => published.some((e) => e.productId === product.id && e.reason === "CREATED"));
  return product;
}
const outboxCount = async (productId: string) =>
  Number((await sql.query(`SELECT count(*) FROM outbox_event WHERE key = $1`, [dbId(productId)])).rows[0].count);

describe("two API instances on shared PostgreSQL, Kafka and Redis", () => {
  it("a subscriber on B gets the current stock, then the change of an order placed through A", async () => {
    const product = await settledProduct(10);
    const customer = await viaA.createCustomer();
    const sub = track(subscribeStock(b.url, customer.token, [product.id]));
    await sub.waitFor("the CURRENT snapshot", (e) => e.reason === "CURRENT");

    const placed = expectTypename(await viaA.placeOrder(customer.token, [{ productId: product.id, quantity: 3 }]), "PlaceOrderSuccess");
    await sub.waitFor("the ORDER_PLACED change", (e) => e.reason === "ORDER_PLACED");

    expect(sub.events).toEqual([
      { product: { id: product.id }, stock: 10, available: 10, version: 0, delta: 0, reason: "CURRENT", orderId: null },
      // The order commits its units: available drops, on hand (stock) stays until it ships.
      { product: { id: product.id }, stock: 10, available: 7, version: 1, delta: 0, reason: "ORDER_PLACED", orderId: placed.order.id },
    ]);
    expect(sub.errors).toEqual([]);
  });

  it("a refused order writes no outbox row and reaches no subscriber; the next accepted order does", async () => {
    const product = await settledProduct(2);
    const customer = await viaA.createCustomer();
    const onA = track(subscribeStock(a.url, customer.token, [product.id]));
    const onB = track(subscribeStock(b.url, customer.token, [product.id]));
    await Promise.all([onA, onB].map((s) => s.waitFor("CURRENT", (e) => e.reason === "CURRENT")));
    const rowsBefore = await outboxCount(product.id);

    const refused = await viaB.placeOrder(customer.token, [{ productId: product.id, quantity: 3 }]);
    expect(refused).toMatchObject({ __typename: "InsufficientStockError", requested: 3, available: 2 });
    expect(await outboxCount(product.id)).toBe(rowsBefore);

    const accepted = expectTypename(await viaB.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]), "PlaceOrderSuccess");
    expect(await outboxCount(product.id)).toBe(rowsBefore + 1);
    await Promise.all([onA, onB].map((s) => s.waitFor("the accepted order's change", (e) => e.orderId === accepted.order.id)));
    await sleep(1000); // room for anything that should not come

    for (const sub of [onA, onB]) {
      expect(sub.events.map((e) => [e.reason, e.available, e.version, e.delta, e.orderId])).toEqual([
        ["CURRENT", 2, 0, 0, null],
        ["ORDER_PLACED", 1, 1, 0, accepted.order.id],
      ]);
    }
    const orderEvents = published.filter((e) => e.productId === product.id && e.reason === "ORDER_PLACED");
    expect(orderEvents.length).toBeGreaterThan(0);
    expect(new Set(orderEvents.map((e) => e.orderId))).toEqual(new Set([accepted.order.id]));
  });

  it("each event reaches pub/sub once while the consumer group is stable (no redelivery loop)", async () => {
    const product = await settledProduct(5);
    const customer = await viaA.createCustomer();
    const placed = expectTypename(await viaB.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]), "PlaceOrderSuccess");
    await eventually("the order's event on Redis", async () => published.some((e) => e.orderId === placed.order.id));
    await sleep(1500); // time for copies, if the bridges send any
    const copies: Record<string, number> = {};
    for (const e of published.filter((e) => e.productId === product.id)) {
      const key = `${e.reason} (event ${e.eventId})`;
      copies[key] = (copies[key] ?? 0) + 1;
    }
    expect(Object.keys(copies)).toHaveLength(2); // CREATED and ORDER_PLACED
    expect(
      Object.entries(copies).filter(([, n]) => n !== 1),
      "events published more than once",
    ).toEqual([]);
  });

  it("500 concurrent orders for 300 units through both instances: every subscriber ends on available 0 at the final version, versions only rising", async () => {
    const initial = 300;
    const product = await settledProduct(initial);
    const customers = await Promise.all(Array.from({ length: 10 }, () => viaA.createCustomer()));
    const subs = [
      track(subscribeStock(a.url, customers[0]!.token, [product.id])),
      track(subscribeStock(b.url, customers[1]!.token, [product.id])),
      track(subscribeStock(b.url, customers[2]!.token, [product.id])),
    ];
    await Promise.all(subs.map((s) => s.waitFor("CURRENT", (e) => e.reason === "CURRENT")));

    const t0 = Date.now();
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        (i % 2 ? viaA : viaB).placeOrder(customers[i % 10]!.token, [{ productId: product.id, quantity: 1 }]),
      ),
    );
    const placedMs = Date.now() - t0;
    expect(results.filter((r) => r.__typename === "PlaceOrderSuccess")).toHaveLength(initial);
    expect(results.filter((r) => r.__typename === "InsufficientStockError")).toHaveLength(500 - initial);
    const final = await viaA.stockOf(product.id);
    expect(final).toEqual({ stock: 0, version: initial });

    await Promise.all(subs.map((s) => s.waitFor("the final stock", (e) => e.version === final.version, 30_000)));
    console.log(`[two-instances] 500 orders placed in ${placedMs} ms; last event ${Date.now() - t0} ms after the first order`);
    for (const sub of subs) {
      const last = sub.events.at(-1)!;
      expect(last).toMatchObject({ available: 0, version: initial });
      expect(versionRegressions(sub.events)).toEqual([]);
      // Each change carries the absolute availability that belongs to its version (one unit per order).
      expect(sub.events.filter((e) => e.available !== initial - e.version)).toEqual([]);
      expect(sub.errors).toEqual([]);
    }
    // Nothing left behind in the outbox.
    await eventually(
      "the outbox to drain",
      async () => Number((await sql.query(`SELECT count(*) FROM outbox_event WHERE published_at IS NULL`)).rows[0].count) === 0,
    );
  }, 120_000);

  it("orderStatusChanged: the order's customer gets CURRENT then CONFIRMED; another customer is told it does not exist", async () => {
    const product = await settledProduct(5);
    const owner = await viaA.createCustomer();
    const stranger = await viaA.createCustomer();
    const placed = expectTypename(await viaA.placeOrder(owner.token, [{ productId: product.id, quantity: 1 }]), "PlaceOrderSuccess");
    const orderId = placed.order.id;

    const mine = track(subscribeOrderStatus(b.url, owner.token, orderId));
    await mine.waitFor("the current status", (e) => e.status === "PENDING");
    const theirs = track(subscribeOrderStatus(b.url, stranger.token, orderId));
    expect(await theirs.waitForError()).toMatchObject({ extensions: { code: "NOT_FOUND" } });

    const updated = await viaA.updateOrderStatus(orderId, "CONFIRMED", 0);
    expect(updated).toMatchObject({ __typename: "UpdateOrderStatusSuccess", order: { status: "CONFIRMED", version: 1 } });
    await mine.waitFor("CONFIRMED", (e) => e.status === "CONFIRMED");
    expect(mine.events).toEqual([
      { order: { id: orderId, status: "PENDING" }, status: "PENDING", previousStatus: null, version: 0 },
      { order: { id: orderId, status: "CONFIRMED" }, status: "CONFIRMED", previousStatus: "PENDING", version: 1 },
    ]);
    expect(mine.errors).toEqual([]);
    expect(theirs.events).toEqual([]);
  });
});
