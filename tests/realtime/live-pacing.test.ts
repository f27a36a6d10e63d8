// Buyers first on a real instance (PostgreSQL, Kafka, Redis): while the event
// loop is starved, the pacing sees the lag (its stretch and the time spent
// stretched on /metrics), a rate-limited subscriber's updates thin out and
// only rise, and once the lag is gone it ends on the final state. The window
// arithmetic itself is tests/unit/live-pacing.test.ts.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import { graphql } from "../support/graphql.js";
import {
  shopAt,
  sleep,
  startInstance,
  stockwireEnv,
  streamNames,
  subscribe,
  type Instance,
  type Subscription,
} from "../support/stockwire.js";
import { expectTypename, type Shop } from "../support/shop.js";
import { scrape } from "../support/metrics.js";

const STOCK_RATED = graphql(`
  subscription PacedStock($ids: [ID!]!, $max: Int) {
    stockChanged(productIds: $ids, maxUpdatesPerSecond: $max) {
      available
      version
      reason
    }
  }
`);

let database: TestDatabase;
let api: Instance;
let shop: Shop;
let sub: Subscription<{ available: number; version: number; reason: string }> | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  const env = stockwireEnv({ databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() }, streamNames("pacing"), [
    "api",
    "relay",
    "bridge",
  ]);
  api = await startInstance({ ...env, LIVE_LAG_THRESHOLD_MS: "50", LIVE_MAX_STRETCH: "8" });
  shop = await shopAt(api.url);
});
afterAll(async () => {
  await sub?.close();
  await api?.stop();
  await database?.drop();
});

/** Holds this process's event loop (the instance runs in it) for `ms`, as a CPU-bound request would. */
function starve(ms: number) {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

it("stretches live intervals while the event loop lags, and the final state still arrives", async () => {
  const pacing = api.running.app!.fanout.pacing;
  const product = await shop.createProduct({ stock: 1_000 });
  const customer = await shop.createCustomer();
  sub = subscribe(api.url, customer.token, STOCK_RATED, { ids: [product.id], max: 20 }, "stockChanged");
  await sub.waitFor("CURRENT", (e) => e.reason === "CURRENT");

  // Orders keep coming while the loop is held for 300 ms at a time (well past the 50 ms threshold).
  const placing = (async () => {
    for (let i = 0; i < 30; i++)
      expectTypename(await shop.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]), "PlaceOrderSuccess");
  })();
  let widest = 1;
  const starving = (async () => {
    for (let i = 0; i < 8; i++) {
      starve(300);
      await sleep(60); // the pacing's sampler runs, orders and deliveries get a turn
      widest = Math.max(widest, pacing.stretch);
    }
  })();
  await Promise.all([placing, starving]);
  expect(widest).toBeGreaterThanOrEqual(4);
  const metrics = await scrape(api.url);
  expect(metrics.value("stockwire_live_paced_seconds_total")).toBeGreaterThan(0);
  expect(metrics.types.get("stockwire_live_pacing_stretch")).toBe("gauge");

  const last = await sub.waitFor("the final state", (e) => e.version === 30);
  expect(last.available).toBe(970);
  const versions = sub.events.map((e) => e.version);
  expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
  expect(versions.length).toBeLessThan(31);
  // The starving is over: the stretch falls back by itself (to 1 on a quiet machine; other load may keep it above).
  await expect.poll(() => pacing.stretch, { timeout: 5_000 }).toBeLessThan(widest / 2);
}, 90_000);
