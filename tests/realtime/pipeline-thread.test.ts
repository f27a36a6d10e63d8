// `npm start` on PostgreSQL, Redis and Kafka: one process, the API on the main
// thread and the relay and bridge on a worker thread of their own. Orders still
// reach subscribers through the thread, SIGTERM stops both cleanly, and
// STOCKWIRE_PIPELINE_THREAD=off keeps everything on one thread.
import { afterEach, beforeAll, afterAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import {
  shopAt,
  startRoleProcess,
  stockwireEnv,
  streamNames,
  subscribeStock,
  type RoleProcess,
  type Subscription,
  type StockEvent,
} from "../support/stockwire.js";

let database: TestDatabase;
let proc: RoleProcess | undefined;
let sub: Subscription<StockEvent> | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await sub?.close();
  await proc?.kill();
  sub = proc = undefined;
});
afterAll(async () => {
  await database?.drop();
});

const envFor = (name: string, extra: Record<string, string> = {}) => ({
  ...stockwireEnv({ databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() }, streamNames(name), [
    "api",
    "relay",
    "bridge",
  ]),
  ...extra,
});
const urlOf = (p: RoleProcess) => /GraphiQL\s+(http:\/\/\S+)\/graphql/.exec(p.output())![1]!;

/** An order on `p` reaches a stock subscriber of `p`: the events flow through its relay and bridge. */
async function anOrderReachesASubscriber(p: RoleProcess) {
  const url = urlOf(p);
  const api = await shopAt(url);
  const product = await api.createProduct({ stock: 5 });
  const customer = await api.createCustomer();
  sub = subscribeStock(url, customer.token, [product.id]);
  await sub.waitFor("the snapshot", (e) => e.version === 0);
  expect((await api.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }])).__typename).toBe("PlaceOrderSuccess");
  await sub.waitFor("the order's change", (e) => e.version === 1 && e.available === 4, 30_000);
}

describe("pipeline thread", () => {
  it("runs the relay and bridge on their own thread: orders reach subscribers, and SIGTERM stops everything with exit code 0", async () => {
    proc = await startRoleProcess(envFor("pipeline-thread"), "all");
    // With the default heap limit (96 MiB of old generation; V8's limit adds the young one's).
    const limit = /^stockwire: pipeline\s+relay and bridge on a worker thread of their own \(heap limit (\d+) MiB/m.exec(proc.output());
    expect(limit, proc.output()).not.toBeNull();
    expect(Number(limit![1])).toBeGreaterThanOrEqual(96);
    expect(Number(limit![1])).toBeLessThan(192);
    // The thread's own start-up lines reach the process's output.
    expect(proc.output()).toMatch(/^stockwire: relay\s/m);
    expect(proc.output()).toMatch(/^stockwire: bridge\s/m);

    await anOrderReachesASubscriber(proc);
    await sub!.close();
    sub = undefined;

    const exited = new Promise<number | null>((resolve) => proc!.child.once("exit", (code) => resolve(code)));
    process.kill(-proc.child.pid!, "SIGTERM");
    expect(await exited).toBe(0);
    expect(proc.output()).toMatch(/SIGTERM: stopping/);
  }, 120_000);

  it("PIPELINE_THREAD_MAX_HEAP_MB=off leaves the thread V8's own heap limit", async () => {
    proc = await startRoleProcess(envFor("pipeline-thread-unlimited", { PIPELINE_THREAD_MAX_HEAP_MB: "off" }), "all");
    expect(proc.output()).toMatch(/^stockwire: pipeline\s+relay and bridge on a worker thread of their own$/m);
    await anOrderReachesASubscriber(proc);
  }, 120_000);

  it("PIPELINE_THREAD_MAX_HEAP_MB limits the thread's heap as the thread itself sees it, and events still flow", async () => {
    proc = await startRoleProcess(envFor("pipeline-thread-heap", { PIPELINE_THREAD_MAX_HEAP_MB: "128" }), "all");
    const limit = /^stockwire: pipeline\s+relay and bridge on a worker thread of their own \(heap limit (\d+) MiB/m.exec(proc.output());
    expect(limit, proc.output()).not.toBeNull();
    // V8's heap limit is the old generation's plus the young one's.
    expect(Number(limit![1])).toBeGreaterThanOrEqual(128);
    expect(Number(limit![1])).toBeLessThan(256);
    await anOrderReachesASubscriber(proc);
  }, 120_000);

  it("STOCKWIRE_PIPELINE_THREAD=off keeps the relay and bridge on the main thread, and events still flow", async () => {
    proc = await startRoleProcess(envFor("pipeline-one-thread", { STOCKWIRE_PIPELINE_THREAD: "off" }), "all");
    expect(proc.output()).not.toMatch(/^stockwire: pipeline\s/m);
    expect(proc.output()).toMatch(/^stockwire: bridge\s/m);
    await anOrderReachesASubscriber(proc);
  }, 120_000);
});
