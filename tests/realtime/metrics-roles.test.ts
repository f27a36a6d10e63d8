// Metrics across roles and processes, on real PostgreSQL, Redis and Kafka:
// - the bridge's consumer lag, read from Kafka by the API's process, rises
//   while the bridge (its own OS process) is down and falls to 0 once a new
//   one catches up; the bridge process serves its own /metrics on METRICS_PORT;
// - with the relay and bridge on a pipeline thread (npm start), the thread's
//   metrics appear in the process's GET /metrics.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import {
  eventually,
  shopAt,
  startInstance,
  startRoleProcess,
  stockwireEnv,
  streamNames,
  type Instance,
  type RoleProcess,
} from "../support/stockwire.js";
import { expectTypename } from "../support/shop.js";
import { scrape } from "../support/metrics.js";

let database: TestDatabase;
const procs: RoleProcess[] = [];
let api: Instance | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await Promise.allSettled(procs.splice(0).map((p) => p.kill()));
  await api?.stop();
  api = undefined;
});
afterAll(async () => {
  await database?.drop();
});

const backends = () => ({ databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() });
const metricsUrlOf = (p: RoleProcess) =>
  eventually("the metrics listener's address", async () => /^stockwire: metrics\s+(http:\/\/\S+)\/metrics$/m.exec(p.output())?.[1]);

describe("metrics across roles", () => {
  it("shows consumer lag rising while the bridge is down and falling after a new one caught up", async () => {
    const names = streamNames("metrics-lag");
    api = await startInstance(stockwireEnv(backends(), names, ["api", "relay"]));
    const shop = await shopAt(api.url);
    const bridgeEnv = { ...stockwireEnv(backends(), names, ["bridge"]), METRICS_PORT: "0" };
    const stockLag = async () => (await scrape(api!.url)).value("stockwire_bridge_consumer_lag", { topic: names.KAFKA_TOPIC_STOCK });

    const first = await startRoleProcess(bridgeEnv, "bridge");
    procs.push(first);
    const product = await shop.createProduct({ stock: 100 });
    // The bridge process serves its own metrics on METRICS_PORT: it published the product's creation.
    const bridgeUrl = await metricsUrlOf(first);
    // And the probes a bridge pod needs (it has no API port): /health, and /ready over the backends it uses.
    expect((await fetch(`${bridgeUrl}/health`)).status).toBe(200);
    const ready = await fetch(`${bridgeUrl}/ready`);
    expect({ status: ready.status, body: await ready.json() }).toMatchObject({ status: 200, body: { status: "ready", failing: [] } });
    await eventually("the bridge to publish the product's creation", async () => {
      const published = (await scrape(bridgeUrl)).value("stockwire_bridge_publish_seconds_count") > 0;
      return published && (await stockLag()) === 0;
    });

    await first.kill();
    for (let i = 0; i < 5; i++) await shop.adjustStock(product.id, -1);
    // Published by the relay, consumed by nobody: exactly those five.
    await eventually("the lag to reach the five changes", async () => (await stockLag()) === 5);

    procs.push(await startRoleProcess(bridgeEnv, "bridge"));
    await eventually("a new bridge to catch up", async () => (await stockLag()) === 0, 40_000);
  });

  it("merges the pipeline thread's metrics into the process's /metrics", async () => {
    const proc = await startRoleProcess(stockwireEnv(backends(), streamNames("metrics-thread"), ["api", "relay", "bridge"]), "all");
    procs.push(proc);
    expect(proc.output()).toMatch(/^stockwire: pipeline\s+relay and bridge on a worker thread of their own \(heap limit \d+ MiB/m);
    const url = /GraphiQL\s+(http:\/\/\S+)\/graphql/.exec(proc.output())![1]!;
    const shop = await shopAt(url);
    const product = await shop.createProduct({ stock: 10 });
    const customer = await shop.createCustomer();
    expectTypename(await shop.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]), "PlaceOrderSuccess");
    // Relay and bridge run on the thread, the order on the main thread: one exposition shows both, each family once.
    const m = await eventually("the thread's relay and bridge metrics", async () => {
      const m = await scrape(url);
      return m.value("stockwire_relay_publish_seconds_count") > 0 && m.value("stockwire_bridge_publish_seconds_count") > 0 && m;
    });
    expect(m.value("stockwire_orders_total", { outcome: "placed" })).toBe(1);
    const families = m.text.split("\n").filter((l) => l.startsWith("# TYPE "));
    expect(new Set(families).size).toBe(families.length);
    // Process metrics once, from the main thread.
    expect(m.samples.filter((s) => s.name === "process_cpu_seconds_total")).toHaveLength(1);
  });
});
