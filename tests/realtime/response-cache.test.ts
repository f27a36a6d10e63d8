// The response cache across two instances on shared PostgreSQL, Kafka and Redis: A (api, relay,
// bridge) takes the writes, B (api only, its Redis through a proxy that can cut it off) answers
// anonymous reads from its cache. B stops answering an old version once the change's event reached
// it (the time from A's response until B answers the new version is printed, p50/p99), for stock
// changes and for product updates (which carry no stock event); cut off from Redis, B answers from
// the database (no stale answer, /ready degraded) and caches again once Redis is back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import { eventually, shopAt, startInstance, stockwireEnv, streamNames, type Instance } from "../support/stockwire.js";
import { httpClient, type GraphQLClient } from "../support/client.js";
import type { Shop } from "../support/shop.js";

let database: TestDatabase;
let a: Instance;
let b: Instance;
let viaA: Shop;
let anonB: GraphQLClient;
let proxy: TcpProxy;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  proxy = await tcpProxy(new URL(redisUrl()));
  cleanups.push(() => proxy.close());
  const names = streamNames("response-cache");
  const env = (redis: string, roles: ("api" | "relay" | "bridge")[]) =>
    stockwireEnv({ databaseUrl: database.url, redisUrl: redis, kafkaBrokers: kafkaBrokers() }, names, roles);
  [a, b] = await Promise.all([startInstance(env(redisUrl(), ["api", "relay", "bridge"])), startInstance(env(proxy.url, ["api"]))]);
  viaA = await shopAt(a.url);
  anonB = httpClient(b.url);
});
afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await database?.drop();
});

const PRODUCT = `query ($id: ID!) { product(id: $id) { id name available version } }`;
type Read = { name: string; available: number; version: number };
const readB = async (id: string): Promise<Read> => (await anonB(PRODUCT, { id })).data.product;
const metricOf = async (url: string, name: string) =>
  Number(new RegExp(`^${name} (\\S+)$`, "m").exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? NaN);
const hitsOfB = () => metricOf(b.url, "stockwire_response_cache_hits_total");

/** B answers `id` from its cache (a second read is a hit; a late event, e.g. the CREATED one, may drop the first). */
async function cachedOnB(id: string) {
  await eventually("B to answer from its cache", async () => {
    await readB(id);
    const hits = await hitsOfB();
    await readB(id);
    return (await hitsOfB()) === hits + 1;
  });
}

/** Reads B until it answers `accept`; every answer in between must be the old version or the new one. */
async function untilB(id: string, accept: (r: Read) => boolean, old: Read): Promise<number> {
  const start = performance.now();
  for (;;) {
    const r = await readB(id);
    if (accept(r)) return performance.now() - start;
    expect(r).toEqual(expect.objectContaining({ version: old.version }));
    if (performance.now() - start > 20_000) throw new Error(`B still answers ${JSON.stringify(r)}`);
  }
}

const percentile = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

describe("response cache on two instances", () => {
  it("B stops answering the old stock once A's change reached it (orders and adjustments through A)", async () => {
    const product = await viaA.createProduct({ stock: 1000 });
    const customer = await viaA.createCustomer();
    await eventually("B reads the product", async () => (await readB(product.id)) ?? false);
    const delays: number[] = [];
    for (let i = 0; i < 30; i++) {
      await cachedOnB(product.id);
      const old = await readB(product.id);
      if (i % 2) await viaA.adjustStock(product.id, 1);
      else await viaA.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
      delays.push(await untilB(product.id, (r) => r.version > old.version, old));
    }
    console.log(
      `B answered the new version ${percentile(delays, 50).toFixed(1)} ms (p50), ${percentile(delays, 99).toFixed(1)} ms (p99) after A's response`,
    );
    const final = await viaA.stockOf(product.id); // no holds here: what is not committed is available
    expect(await readB(product.id)).toMatchObject({ available: final.stock, version: final.version });
  });

  it("B sees a product update through A (no stock event: the catalogue channel)", async () => {
    const product = await viaA.createProduct({ stock: 5 });
    await eventually("B reads the product", async () => (await readB(product.id)) ?? false);
    await cachedOnB(product.id);
    const old = await readB(product.id);
    const UPDATE = `mutation ($input: UpdateProductInput!) { updateProduct(input: $input) { __typename } }`;
    const r = await viaA.admin(UPDATE, { input: { id: product.id, expectedVersion: old.version, name: "Renamed through A" } });
    expect(r.data.updateProduct.__typename).toBe("UpdateProductSuccess");
    await untilB(product.id, (x) => x.name === "Renamed through A", old);
  });

  it("cut off from Redis, B answers from the database and says so on /ready; it caches again once Redis is back", async () => {
    const product = await viaA.createProduct({ stock: 50 });
    await eventually("B reads the product", async () => (await readB(product.id)) ?? false);
    await cachedOnB(product.id);
    proxy.cut();
    await eventually("B's /ready degraded", async () => {
      const ready = await (await fetch(`${b.url}/ready`)).json();
      return ready.degraded?.some((d: string) => d.startsWith("response cache off")) ?? false;
    });
    // Its events cannot reach B now: every answer must come from the database.
    for (let i = 0; i < 3; i++) {
      const { version } = await viaA.adjustStock(product.id, -1);
      expect((await readB(product.id)).version).toBe(version);
    }
    expect(await metricOf(b.url, "stockwire_response_cache_serving")).toBe(0);
    proxy.restore();
    await cachedOnB(product.id);
    const { version } = await viaA.adjustStock(product.id, -1);
    await untilB(product.id, (r) => r.version === version, await readB(product.id).catch(() => ({ version: version - 1 }) as Read));
  });
});
