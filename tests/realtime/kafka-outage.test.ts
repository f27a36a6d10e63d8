// Kafka down: orders keep being accepted (the API writes only to PostgreSQL),
// their events wait in the outbox, and once Kafka is back every one of them
// reaches the subscriber. Uses a Kafka of its own: stopping the shared one
// would break the test files running beside this one.
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKafka } from "../../infra/services/kafka.js";
import type { StartedService } from "../../infra/services/process.js";
import { createTestDatabase, sqlPool, type TestDatabase } from "../support/database.js";
import { redisUrl } from "../support/services.js";
import {
  eventually,
  shopAt,
  sleep,
  startInstance,
  stockwireEnv,
  streamNames,
  subscribeStock,
  versionRegressions,
  type Instance,
  type StockEvent,
  type Subscription,
} from "../support/stockwire.js";
import type { Shop } from "../support/shop.js";

// The crashed consumer's old membership would hold the partitions until its session expires or,
// in the rebalance its replacement starts, until the bridge's rebalance timeout (10 s) ends it.
const SESSION_MS = 30_000;
const REBALANCE_TIMEOUT_MS = 10_000;
let kafka: StartedService;
const names = streamNames("kafka-outage");
let database: TestDatabase;
let sql: pg.Pool;
let instance: Instance;
let api: Shop;
let sub: Subscription<StockEvent> | undefined;

beforeAll(async () => {
  [kafka, database] = await Promise.all([startKafka({ log: () => {} }), createTestDatabase()]);
  sql = sqlPool(database.url);
  instance = await startInstance({
    ...stockwireEnv({ databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: [kafka.url] }, names, ["api", "relay", "bridge"]),
    // Longer than this test waits for delivery after Kafka is back: the bridge's consumer crashes
    // with the broker, and its replacement must not wait for the old membership to lapse
    // (the group coordinator reloads the group with it); it ends that membership instead.
    KAFKA_SESSION_TIMEOUT_MS: String(SESSION_MS),
  });
  api = await shopAt(instance.url);
});
afterAll(async () => {
  await sub?.close();
  await instance?.stop();
  await sql?.end();
  await database?.drop();
  await kafka?.stop();
});

const unpublished = async () => Number((await sql.query(`SELECT count(*) FROM outbox_event WHERE published_at IS NULL`)).rows[0].count);
const ready = async () => {
  const res = await fetch(`${instance.url}/ready`);
  const body = (await res.json()) as { status: string; failing: string[]; degraded?: string[] };
  return { http: res.status, status: body.status, failing: body.failing, degraded: body.degraded ?? [] };
};

describe("Kafka outage", () => {
  it("accepts orders while Kafka is down and delivers all their events once it is back", async () => {
    const N = 20;
    const initial = 100;
    const product = await api.createProduct({ stock: initial });
    const customer = await api.createCustomer();
    sub = subscribeStock(instance.url, customer.token, [product.id]);
    await sub.waitFor("the snapshot", (e) => e.version === 0);
    // The pipeline works before the outage.
    expect((await api.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }])).__typename).toBe("PlaceOrderSuccess");
    await sub.waitFor("the first order's change", (e) => e.version === 1, 30_000);
    await eventually("the outbox to drain", async () => (await unpublished()) === 0);

    await kafka.pause!();
    const t0 = Date.now();
    const results = await Promise.all(
      Array.from({ length: N }, () => api.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }])),
    );
    const orderMs = Date.now() - t0;
    expect(results.map((r) => r.__typename)).toEqual(Array(N).fill("PlaceOrderSuccess"));
    expect(orderMs, "orders must not wait for Kafka").toBeLessThan(10_000);
    const final = await api.stockOf(product.id);
    expect(final).toEqual({ stock: initial - 1 - N, version: 1 + N });

    await sleep(2000); // the relay is trying meanwhile
    expect(await unpublished()).toBe(N);
    expect(sub.events.at(-1)).toMatchObject({ version: 1 });
    // The instance still takes orders: it stays in its load balancer, saying what is missing.
    // (The response cache stops serving too: the other instances' changes cannot reach this one now.)
    expect(await ready()).toEqual({
      http: 200,
      status: "degraded",
      failing: [],
      degraded: [expect.stringMatching(/^stream unreachable/), expect.stringMatching(/^response cache off: stream unreachable/)],
    });

    await kafka.resume!();
    const t1 = Date.now();
    // Which stage takes the time: the relay (outbox drained), the broker reloading the bridge's
    // group (its coordinator answers), the bridge rejoining the group (delivered).
    let drainedMs: number | undefined;
    void eventually("the outbox to drain", async () => (await unpublished()) === 0, 60_000).then(
      () => (drainedMs = Date.now() - t1),
      () => {},
    );
    let coordinatorMs: number | undefined;
    const admin = new Kafka({
      clientId: "stockwire-tests",
      brokers: [kafka.url],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).admin();
    void eventually(
      "the group coordinator",
      async () => {
        await admin.connect();
        return (await admin.describeGroups([names.KAFKA_BRIDGE_GROUP])).groups.length > 0;
      },
      60_000,
    ).then(
      () => (coordinatorMs = Date.now() - t1),
      () => {},
    );
    // The relay catches up within a second. The bridge's consumer crashed with the broker; its
    // replacement ends the old membership and joins, before that one could lapse by itself.
    await sub
      .waitFor(
        "the last order's change after Kafka is back, before the crashed consumer's membership could lapse",
        (e) => e.version === final.version,
        REBALANCE_TIMEOUT_MS - 1_000,
      )
      .catch(async (err) => {
        // Say which stage stalled: the relay (events still in the outbox) or the bridge's consumer.
        throw new Error(`${err.message}\n${await unpublished()} events unpublished; instance log:\n${instance.log.join("\n")}`);
      });
    const deliveredMs = Date.now() - t1;
    console.log(
      `[kafka-outage] ${N} orders in ${orderMs} ms while Kafka was down; after it was back: ` +
        `relay published them in ${drainedMs ?? "(not yet)"} ms, the broker's group coordinator answered in ` +
        `${coordinatorMs ?? "(not yet)"} ms, delivered to the subscriber in ${deliveredMs} ms`,
    );
    await admin.disconnect();
    expect(sub.events.at(-1)).toMatchObject({ available: final.stock, version: final.version, reason: "ORDER_PLACED" });
    expect(versionRegressions(sub.events)).toEqual([]);
    expect(sub.events.filter((e) => e.available !== initial - e.version)).toEqual([]);
    await eventually("the outbox to drain", async () => (await unpublished()) === 0);
    await eventually("readiness", async () => (await ready()).status === "ready", 30_000);

    // And the pipeline keeps working afterwards.
    expect((await api.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }])).__typename).toBe("PlaceOrderSuccess");
    await sub.waitFor("a change after the outage", (e) => e.version === final.version + 1, 30_000);
  }, 180_000);
});
