// Read replicas against a real streaming standby (infra/services/postgres-
// standby.ts, made with pg_basebackup from this file's database server).
// Which database answered is seen in the data: with the standby's replay
// paused, a change made on the primary is visible only there, so a read that
// returns the old value came from the replica and one that returns the new
// value came from the primary. No timing: lag is made by pausing replay, and
// every wait is for a state (`eventually`).
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStandby } from "../../infra/services/postgres-standby.js";
import type { StartedService } from "../../infra/services/process.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { bearer } from "../support/client.js";
import { createTestDatabase, sqlPool, type TestDatabase } from "../support/database.js";
import { expectTypename, JWT_SECRET, shop, type Product, type Shop } from "../support/shop.js";
import { redisUrl } from "../support/services.js";
import { eventually } from "../support/stockwire.js";

let database: TestDatabase;
let standby: StartedService;
let primarySql: pg.Pool;
let standbySql: pg.Pool;
/** Replicas with a bound it never reaches: the replica serves however far replay is paused. */
let patient: TestApp & Shop;
/** A second instance like `patient`, on the same Redis: what a load balancer's other backend would be. */
let twin: TestApp & Shop;
/** The same replica with a 200 ms bound: paused replay soon makes it fall back to the primary. */
let strict: TestApp & Shop;

const env = (maxLagMs: number, redis: boolean) => ({
  DATABASE_URL: database.url,
  DATABASE_REPLICA_URL: standby.url,
  DATABASE_REPLICA_MAX_LAG_MS: String(maxLagMs),
  JWT_SECRET,
  ...(redis && { REDIS_URL: redisUrl() }),
});

beforeAll(async () => {
  database = await createTestDatabase();
  standby = await startStandby(database.url, { log: () => {} });
  primarySql = sqlPool(database.url);
  standbySql = sqlPool(standby.url);
  standbySql.on("error", () => {});
  const open = async (maxLagMs: number, redis: boolean) => {
    const t = await startTestApp(env(maxLagMs, redis));
    return { ...t, ...(await shop(t.gql)) };
  };
  [patient, twin, strict] = await Promise.all([open(3_600_000, true), open(3_600_000, true), open(200, false)]);
});
afterAll(async () => {
  await Promise.allSettled([patient?.close(), twin?.close(), strict?.close()]);
  await Promise.allSettled([primarySql?.end(), standbySql?.end()]);
  await standby?.stop();
  await database?.drop();
});

const pauseReplay = () => standbySql.query("SELECT pg_wal_replay_pause()");
const resumeReplay = () => standbySql.query("SELECT pg_wal_replay_resume()");
/** Until the standby has replayed everything the primary has written so far. */
async function caughtUp(): Promise<void> {
  const { rows } = await primarySql.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn");
  await eventually("the standby to replay the primary's WAL", async () => {
    const r = await standbySql.query<{ behind: string }>("SELECT pg_wal_lsn_diff($1, pg_last_wal_replay_lsn()) AS behind", [rows[0]!.lsn]);
    return Number(r.rows[0]!.behind) <= 0;
  });
}
/** A change only the primary has while replay is paused. */
const renameOnPrimary = (p: Product, name: string) => primarySql.query("UPDATE product SET name = $1 WHERE sku = $2", [name, p.sku]);

const PRODUCT = "query P($id: ID!) { product(id: $id) { name available } }";
const BY_SKU = "query S($sku: String!) { product(sku: $sku) { name } }";
const SEARCH = "query L($q: String!) { products(first: 5, search: $q) { edges { node { name } } } }";
const readProduct = async (app: TestApp, id: string, headers?: Record<string, string>) => {
  const res = await app.gql<{ product: { name: string; available: number } }>(PRODUCT, { id }, headers);
  expect(res.errors).toBeUndefined();
  return res.data!.product;
};
const ready = async (app: TestApp) => {
  const res = await app.fetch("/ready");
  return {
    http: res.status,
    ...((await res.json()) as { status: string; degraded?: string[]; components: { replicas?: { state: string }[] } }),
  };
};

describe("read replicas", () => {
  it("serves catalogue reads from the replica; a mutation, and everything it reads, from the primary", async () => {
    const product = await patient.createProduct({ stock: 50, name: "Replicated" });
    await caughtUp();
    expect(await readProduct(patient, product.id)).toEqual({ name: "Replicated", available: 50 });
    await pauseReplay();
    try {
      await renameOnPrimary(product, "Renamed on the primary");
      // Queries: product(id) (DataLoader), product(sku) and the products connection all answer from the replica.
      expect((await readProduct(patient, product.id)).name).toBe("Replicated");
      expect((await patient.gql(BY_SKU, { sku: product.sku })).data.product.name).toBe("Replicated");
      const listed = await patient.gql(SEARCH, { q: product.sku });
      expect(listed.data.products.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(["Replicated"]);
      expect((await ready(patient)).status).toBe("ready");

      // A mutation reads on the primary, its payload's loaders too.
      const customer = await patient.createCustomer();
      const placed = await patient.gql(
        `mutation O($input: PlaceOrderInput!) {
          placeOrder(input: $input) { __typename ... on PlaceOrderSuccess { order { items { product { name available } } } } }
        }`,
        { input: { items: [{ productId: product.id, quantity: 2 }], idempotencyKey: "rr-1" } },
        bearer(customer.token),
      );
      expect(placed.data.placeOrder.order.items[0].product).toEqual({ name: "Renamed on the primary", available: 48 });
    } finally {
      await resumeReplay();
    }
  });

  it("a customer's reads after their own write see it while the replica lags; everyone else's still come from the replica", async () => {
    const product = await patient.createProduct({ stock: 10, name: "Before" });
    const [buyer, other] = await Promise.all([patient.createCustomer(), patient.createCustomer()]);
    await caughtUp();
    await pauseReplay();
    try {
      await renameOnPrimary(product, "After");
      expect((await readProduct(patient, product.id)).name).toBe("Before");

      const order = await patient.placeOrder(buyer.token, [{ productId: product.id, quantity: 3 }], "ryw-1");
      expect(order.__typename).toBe("PlaceOrderSuccess");
      const orderId = (order as { order: { id: string } }).order.id;

      // The buyer: their order, their orders list and the stock they left, all from the primary.
      expect(await readProduct(patient, product.id, bearer(buyer.token))).toEqual({ name: "After", available: 7 });
      const mine = await patient.gql(
        `query Me($id: ID!) { order(id: $id) { id items { quantity } } me { orders(first: 10) { edges { node { id } } } } }`,
        { id: orderId },
        bearer(buyer.token),
      );
      expect(mine.errors).toBeUndefined();
      expect(mine.data.order).toEqual({ id: orderId, items: [{ quantity: 3 }] });
      expect(mine.data.me.orders.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([orderId]);

      // Others did not write: the replica, as it was when replay paused.
      expect(await readProduct(patient, product.id, bearer(other.token))).toEqual({ name: "Before", available: 10 });
      expect(await readProduct(patient, product.id)).toEqual({ name: "Before", available: 10 });
    } finally {
      await resumeReplay();
    }

    // Once the replica has replayed the buyer's write, the buyer reads from it again.
    await caughtUp();
    await pauseReplay();
    try {
      await renameOnPrimary(product, "After, again");
      await eventually(
        "the buyer's reads to come from the replica again",
        async () => (await readProduct(patient, product.id, bearer(buyer.token))).name === "After",
      );
    } finally {
      await resumeReplay();
    }
  });

  it("read-your-writes holds across API instances: the write's position is shared in Redis", async () => {
    const product = await patient.createProduct({ stock: 8, name: "Shared" });
    const buyer = await patient.createCustomer();
    await caughtUp();
    await pauseReplay();
    try {
      await renameOnPrimary(product, "Shared, renamed");
      expect((await readProduct(twin, product.id, bearer(buyer.token))).name).toBe("Shared");
      expectTypename(await patient.placeOrder(buyer.token, [{ productId: product.id, quantity: 1 }], "twin-1"), "PlaceOrderSuccess");
      // The buyer's next request lands on the other instance, which took no write: it knows of it all the same.
      expect(await readProduct(twin, product.id, bearer(buyer.token))).toEqual({ name: "Shared, renamed", available: 7 });
      expect(await readProduct(twin, product.id)).toEqual({ name: "Shared", available: 8 });
    } finally {
      await resumeReplay();
    }
  });

  it("a replica lagging past DATABASE_REPLICA_MAX_LAG_MS serves no reads, and /ready says so", async () => {
    const product = await strict.createProduct({ stock: 5, name: "Old" });
    await caughtUp();
    await eventually("the strict app to read from the replica", async () => (await ready(strict)).status === "ready");
    await pauseReplay();
    try {
      await renameOnPrimary(product, "New");
      const lagging = await eventually("the strict app to report its replica lagging", async () => {
        const r = await ready(strict);
        return r.status === "degraded" && r;
      });
      expect(lagging.http).toBe(200);
      expect(lagging.components.replicas).toMatchObject([{ state: "lagging" }]);
      expect(lagging.degraded).toEqual([expect.stringMatching(/lagging: its reads go to the primary/)]);
      expect(await (await strict.fetch("/metrics")).text()).toMatch(/^stockwire_db_replica_serving\{replica="[^"]+"\} 0$/m);
      // Past its bound: the primary answers. The patient app, same replica, still reads from it.
      expect((await readProduct(strict, product.id)).name).toBe("New");
      expect((await readProduct(patient, product.id)).name).toBe("Old");
    } finally {
      await resumeReplay();
    }
    await eventually("the strict app to be ready again", async () => (await ready(strict)).status === "ready");
    await eventually("the metric to say the replica serves again", async () =>
      /^stockwire_db_replica_serving\{replica="[^"]+"\} 1$/m.test(await (await strict.fetch("/metrics")).text()),
    );
  });

  it("a replica that is gone: reads keep working from the primary, /ready says so, and it is used again once back", async () => {
    const product = await patient.createProduct({ stock: 5, name: "Survivor" });
    await caughtUp();
    await eventually("a read from the replica", async () => (await readProduct(patient, product.id)).name === "Survivor");
    await standby.pause!();
    try {
      // Before any check has noticed: the failed replica read is retried on the primary.
      await renameOnPrimary(product, "Read from the primary");
      expect((await readProduct(patient, product.id)).name).toBe("Read from the primary");
      const down = await eventually("/ready to report the replica down", async () => {
        const r = await ready(patient);
        return r.components.replicas?.[0]?.state === "down" && r;
      });
      expect(down).toMatchObject({ http: 200, status: "degraded" });
      for (let i = 0; i < 5; i++) expect((await readProduct(patient, product.id)).name).toBe("Read from the primary");
    } finally {
      await standby.resume!();
    }
    await eventually("the replica to be back in /ready", async () => (await ready(patient)).status === "ready");
    await caughtUp();
    await pauseReplay();
    try {
      await renameOnPrimary(product, "Only on the primary");
      await eventually(
        "reads from the replica again",
        async () => (await readProduct(patient, product.id)).name === "Read from the primary",
      );
    } finally {
      await resumeReplay();
    }
  });
});
