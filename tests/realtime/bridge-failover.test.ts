// How long events wait when the bridge group changes, on 12 partitions all
// carrying orders: a bridge stopped with SIGTERM (leaves its group), a new
// bridge joining (KEDA scaling out), a bridge SIGKILLed (its partitions wait
// for its session, KAFKA_SESSION_TIMEOUT_MS=2000). Measured per order, from
// the client's answer to the event's first arrival on Redis, and logged (the
// figures in docs/capacity.md); asserted is only that no event is lost.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { channelName } from "../../src/realtime/pubsub.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import type { Product, Shop } from "../support/shop.js";
import {
  eventually,
  partitionOf,
  shopAt,
  sleep,
  startInstance,
  startRoleProcess,
  stockwireEnv,
  streamNames,
  UNTHROTTLED,
  type Instance,
  type RoleProcess,
} from "../support/stockwire.js";

const PARTITIONS = 12;

let database: TestDatabase;
let api: Instance;
let shop: Shop;
let bridgeEnv: Record<string, string>;
const bridges: RoleProcess[] = [];
let raw: Redis;
const firstOnRedis = new Map<string, number>(); // order id -> first publish seen

beforeAll(async () => {
  database = await createTestDatabase();
  const backends = { databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() };
  const names = streamNames("bridge-failover");
  // One customer orders as fast as four loops can for ~20 s: more than its default
  // cost bucket allows on a fast machine, and throttling is not what this measures.
  const tuning = { KAFKA_PARTITIONS: String(PARTITIONS), KAFKA_SESSION_TIMEOUT_MS: "2000", ...UNTHROTTLED };
  api = await startInstance({ ...stockwireEnv(backends, names, ["api", "relay"]), ...tuning });
  shop = await shopAt(api.url);
  bridgeEnv = { ...stockwireEnv(backends, names, ["bridge"]), ...tuning };
  bridges.push(...(await Promise.all([startRoleProcess(bridgeEnv, "bridge"), startRoleProcess(bridgeEnv, "bridge")])));
  raw = new Redis(redisUrl());
  raw.on("pmessage", (_p: string, _c: string, message: string) => {
    const { orderId, productId } = JSON.parse(message) as { orderId: string | null; productId: string };
    firstOnRedis.set(orderId ?? productId, firstOnRedis.get(orderId ?? productId) ?? Date.now());
  });
  await raw.psubscribe(channelName("stock", "*"));
}, 180_000);

afterAll(async () => {
  raw?.disconnect();
  await Promise.allSettled(bridges.map((b) => b.kill()));
  await api?.stop();
  await database?.drop();
});

describe("bridge group failover", () => {
  it("loses no event when a bridge leaves, one joins and one is killed; logs how long events waited", async () => {
    // Products on every partition, so whichever partitions move, orders are waiting on them.
    const products: Product[] = [];
    while (new Set(products.map((p) => partitionOf(p.id, PARTITIONS))).size < PARTITIONS && products.length < 300) {
      products.push(await shop.createProduct({ stock: 1_000_000 }));
    }
    await eventually("every CREATED event on Redis", async () => products.every((p) => firstOnRedis.has(p.id)), 60_000);
    const customer = await shop.createCustomer();

    const answered = new Map<string, number>(); // order id -> when the client got the answer
    let ordering = true;
    let next = 0;
    const orders = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (ordering) {
          const product = products[next++ % products.length]!;
          const r = await shop.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
          if (r.__typename !== "PlaceOrderSuccess") throw new Error(`order refused: ${JSON.stringify(r)}`);
          answered.set(r.order.id, Date.now());
          await sleep(20);
        }
      }),
    );
    orders.catch(() => {}); // awaited (and thrown) below; this keeps a failure during the sleeps from being "unhandled"
    const marks: [string, number][] = [["steady group", Date.now()]];
    try {
      await sleep(3000);
      marks.push(["a bridge SIGTERMed (leaves its group)", Date.now()]);
      await bridges[0]!.kill("SIGTERM");
      await sleep(5000);
      marks.push(["a new bridge started and joining", Date.now()]);
      bridges.push(await startRoleProcess(bridgeEnv, "bridge"));
      await sleep(5000);
      marks.push(["a bridge SIGKILLed (session 2 s)", Date.now()]);
      await bridges[1]!.kill("SIGKILL");
      await sleep(6000);
    } finally {
      ordering = false;
      await orders;
    }
    marks.push(["end", Date.now()]);

    await eventually("every order's event on Redis", async () => [...answered.keys()].every((id) => firstOnRedis.has(id)), 60_000).catch(
      (err) => {
        throw new Error(`${(err as Error).message}: ${[...answered.keys()].filter((id) => !firstOnRedis.has(id)).length} missing`);
      },
    );
    const lines = marks.slice(0, -1).map(([what, from], i) => {
      const to = marks[i + 1]![1];
      const waits = [...answered].filter(([, at]) => at >= from && at < to).map(([id, at]) => Math.max(0, firstOnRedis.get(id)! - at));
      return `  ${what}: ${waits.length} orders, longest wait for Redis ${Math.max(...waits)} ms`;
    });
    console.log(`[bridge-failover] ${products.length} products on ${PARTITIONS} partitions, 2 then 3 bridges:\n${lines.join("\n")}`);
    expect(answered.size).toBeGreaterThan(0);
  }, 240_000);
});
