// GET /metrics from a real running instance (PostgreSQL, Redis, Kafka): after
// real orders, refusals, a replay, a version conflict, a stock adjustment and a
// live subscription, each counter moved by exactly what was done.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import { eventually, shopAt, startInstance, stockwireEnv, streamNames, subscribeStock, type Instance } from "../support/stockwire.js";
import { expectTypename, type Shop } from "../support/shop.js";
import { scrape } from "../support/metrics.js";

let database: TestDatabase;
let api: Instance;
let shop: Shop;

beforeAll(async () => {
  database = await createTestDatabase();
  const backends = { databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() };
  api = await startInstance(stockwireEnv(backends, streamNames("metrics"), ["api", "relay", "bridge"]));
  shop = await shopAt(api.url);
});
afterAll(async () => {
  await api?.stop();
  await database?.drop();
});

describe("GET /metrics", () => {
  it("serves the Prometheus text format with the process defaults", async () => {
    const res = await fetch(`${api.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = await scrape(api.url);
    expect(m.types.get("nodejs_eventloop_lag_seconds")).toBe("gauge");
    expect(m.types.get("process_cpu_seconds_total")).toBe("counter");
    expect(m.types.get("graphql_envelop_phase_execute")).toBe("histogram");
  });

  it("keeps client-chosen text out of labels: distinct GET query strings add no series", async () => {
    const get = (query: string) =>
      fetch(`${api.url}/graphql?query=${encodeURIComponent(query)}`, { headers: { accept: "application/json" } });
    expect((await get("{ a: __typename }")).status).toBe(200);
    const series = (m: Awaited<ReturnType<typeof scrape>>) => m.samples.filter((s) => s.name === "graphql_yoga_http_duration_count");
    const before = series(await scrape(api.url));
    for (const alias of ["b", "c", "d"]) expect((await get(`{ ${alias}: __typename }`)).status).toBe(200);
    const after = series(await scrape(api.url));
    expect(after.length).toBe(before.length);
    expect(after.every((s) => !("url" in s.labels) && !("operationName" in s.labels))).toBe(true);
    // The queries were still counted, in the series that was already there.
    const total = (list: typeof after) => list.reduce((sum, s) => sum + s.value, 0);
    expect(total(after) - total(before)).toBeGreaterThanOrEqual(3);
  });

  it("counts orders by outcome, version conflicts and stock adjustments by exactly what happened", async () => {
    const product = await shop.createProduct({ stock: 3 });
    const customer = await shop.createCustomer();
    const before = await scrape(api.url);

    await shop.adjustStock(product.id, 1); // 4 in stock
    // An order, then the same order again with its idempotency key: a replay, not a new order.
    const placed = expectTypename(
      await shop.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }], "metrics-replay"),
      "PlaceOrderSuccess",
    );
    expectTypename(await shop.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }], "metrics-replay"), "PlaceOrderSuccess");
    for (let i = 0; i < 3; i++)
      expectTypename(await shop.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]), "PlaceOrderSuccess");
    // Sold out now: two refusals (from the database, or from the sold-out short cut's memory).
    for (let i = 0; i < 2; i++)
      expectTypename(await shop.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]), "InsufficientStockError");
    // A stale expectedVersion.
    const conflict = await shop.updateOrderStatus(placed.order.id, "CONFIRMED", placed.order.version + 7);
    expect(conflict.__typename).toBe("VersionConflictError");

    const after = await scrape(api.url);
    const delta = (name: string, labels?: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
    expect(delta("stockwire_orders_total", { outcome: "placed" })).toBe(4);
    expect(delta("stockwire_orders_total", { outcome: "refused" })).toBe(2);
    expect(delta("stockwire_orders_total", { outcome: "replayed" })).toBe(1);
    expect(delta("stockwire_order_duration_seconds_count")).toBe(7);
    expect(delta("stockwire_version_conflicts_total", { entity: "Order" })).toBe(1);
    expect(delta("stockwire_version_conflicts_total", { entity: "Product" })).toBe(0);
    expect(delta("stockwire_stock_adjustments_total")).toBe(1);

    // The relay published those changes, the bridge passed them on, the outbox drains and the lag falls to 0.
    await eventually("the outbox to drain and the bridge to catch up", async () => {
      const m = await scrape(api.url);
      return (
        m.value("stockwire_outbox_pending") === 0 &&
        m.value("stockwire_outbox_oldest_age_seconds") === 0 &&
        m.value("stockwire_bridge_consumer_lag") === 0 &&
        m.value("stockwire_relay_publish_seconds_count") > before.value("stockwire_relay_publish_seconds_count") &&
        m.value("stockwire_bridge_publish_seconds_count") > before.value("stockwire_bridge_publish_seconds_count")
      );
    });
    // One series per topic partition, under the bridge's topics.
    const lagTopics = new Set(after.samples.filter((s) => s.name === "stockwire_bridge_consumer_lag").map((s) => s.labels.topic));
    expect(lagTopics.size).toBe(2);
  });

  it("counts sockets, subscriptions by field, deliveries and their latency, and lets them go", async () => {
    const product = await shop.createProduct({ stock: 10 });
    const customer = await shop.createCustomer();
    const before = await scrape(api.url);
    const sub = subscribeStock(api.url, customer.token, [product.id]);
    try {
      await sub.waitFor("the CURRENT snapshot", (e) => e.reason === "CURRENT");
      const open = await scrape(api.url);
      expect(open.value("stockwire_ws_connections") - before.value("stockwire_ws_connections")).toBe(1);
      expect(open.value("stockwire_subscriptions_active", { field: "stockChanged" })).toBe(
        before.value("stockwire_subscriptions_active", { field: "stockChanged" }) + 1,
      );

      await shop.adjustStock(product.id, -2);
      await sub.waitFor("the restock", (e) => e.stock === 8);
      const delivered = await scrape(api.url);
      const delta = (name: string) => delivered.value(name) - before.value(name);
      // The snapshot and the change; latency only for the change (a snapshot is no change).
      expect(delta("stockwire_live_deliveries_total")).toBe(2);
      expect(delta("stockwire_live_delivery_latency_seconds_count")).toBe(1);
      expect(delta("stockwire_live_conflated_total")).toBe(0);
    } finally {
      await sub.close();
    }
    await eventually("the socket and subscription to be gone", async () => {
      const m = await scrape(api.url);
      return (
        m.value("stockwire_ws_connections") === before.value("stockwire_ws_connections") &&
        m.value("stockwire_subscriptions_active", { field: "stockChanged" }) ===
          before.value("stockwire_subscriptions_active", { field: "stockChanged" })
      );
    });
  });
});
