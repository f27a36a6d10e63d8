// Redis going away: pub/sub messages sent while an instance is not connected
// are lost to it, so its subscribers must still end up on the current stock
// (the CURRENT re-read after reconnecting, or the live event) and later
// changes keep flowing. Two faults: Redis itself restarting (empty, as after a
// crash), and one instance cut off while Redis and the bridge carry on. Uses a
// Redis of its own: the shared one serves the test files running beside this.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tcpProxy } from "../support/tcp-proxy.js";
import { startRedis } from "../../infra/services/redis.js";
import type { StartedService } from "../../infra/services/process.js";
import { channelName } from "../../src/realtime/pubsub.js";
import { idOfType } from "../../src/ids/index.js";
import { createTestDatabase } from "../support/database.js";
import { kafkaBrokers } from "../support/services.js";
import {
  eventually,
  shopAt,
  sleep,
  startInstance,
  stockwireEnv,
  streamNames,
  subscribeStock,
  versionRegressions,
  type Role,
  type StockEvent,
  type Subscription,
} from "../support/stockwire.js";
import { expectTypename } from "../support/shop.js";

let redis: StartedService;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = await startRedis({ log: () => {} });
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await redis?.stop();
});

/** A database and stream names of the test's own, and Stockwire instances on them. */
async function stack(label: string) {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const names = streamNames(label);
  return {
    async start(roles: Role[], redisUrl = redis.url) {
      const instance = await startInstance(
        stockwireEnv({ databaseUrl: database.url, redisUrl, kafkaBrokers: kafkaBrokers() }, names, roles),
      );
      cleanups.push(() => instance.stop());
      return instance;
    },
  };
}

function subscribed(url: string, token: string, productId: string): Subscription<StockEvent> {
  const sub = subscribeStock(url, token, [productId]);
  cleanups.push(() => sub.close());
  return sub;
}

describe("Redis restart", () => {
  it("subscribers end up on the current stock after Redis comes back, and later changes keep flowing", async () => {
    const instance = await (await stack("redis-restart")).start(["api", "relay", "bridge"]);
    const api = await shopAt(instance.url);
    const product = await api.createProduct({ stock: 50 });
    const customer = await api.createCustomer();
    const before = subscribed(instance.url, customer.token, product.id);
    await before.waitFor("the snapshot", (e) => e.version === 0);
    expect((await api.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }])).__typename).toBe("PlaceOrderSuccess");
    await before.waitFor("a live change", (e) => e.version === 1);

    await redis.pause!();
    // The API does not need Redis to change stock.
    expect(await api.adjustStock(product.id, 10)).toEqual({ stock: 60, version: 2 }); // on hand: the order's unit is committed
    expect((await api.placeOrder(customer.token, [{ productId: product.id, quantity: 2 }])).__typename).toBe("PlaceOrderSuccess");
    const current = await api.stockOf(product.id);
    expect(current).toEqual({ stock: 57, version: 3 });
    // A client that subscribes during the outage.
    const during = subscribed(instance.url, customer.token, product.id);
    // Degraded, not down: this instance's own bridge's changes still reach its subscribers, in process
    // (tests/realtime/redis-degraded.test.ts); other instances' would wait for Redis.
    await before.waitFor("its own bridge's changes meanwhile, in process", (e) => e.version === current.version);

    await redis.resume!();
    const t0 = Date.now();
    for (const sub of [before, during]) {
      await sub.waitFor("the current stock after the restart", (e) => e.version === current.version, 30_000);
      expect(sub.events.at(-1)).toMatchObject({ available: current.stock, version: current.version });
    }
    console.log(
      `[redis-restart] current stock ${Date.now() - t0} ms after Redis was back, via ${before.events.at(-1)!.reason}; ` +
        `WebSocket connects: ${before.connects}`,
    );

    // Live changes flow again, to both. (First let the resync re-reads finish: one
    // that ran after the next order would deliver it as CURRENT, hiding the live path.)
    await sleep(1000);
    const next = expectTypename(await api.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]), "PlaceOrderSuccess");
    for (const sub of [before, during]) {
      const change = await sub.waitFor("a change after the restart", (e) => e.version === current.version + 1, 20_000);
      expect(change).toMatchObject({ available: current.stock - 1, delta: 0, reason: "ORDER_PLACED", orderId: next.order.id });
      expect(versionRegressions(sub.events)).toEqual([]);
      expect(sub.errors).toEqual([]);
    }
  }, 120_000);

  it("an instance cut off from Redis while events flow re-reads the current stock when it reconnects (CURRENT resync)", async () => {
    // The bridge talks to Redis directly; the API instance through a proxy that can cut it off.
    const proxy = await tcpProxy(new URL(redis.url));
    cleanups.push(() => proxy.close());
    const s = await stack("redis-resync");
    await s.start(["relay", "bridge"]);
    const instance = await s.start(["api"], proxy.url);
    const api = await shopAt(instance.url);
    const product = await api.createProduct({ stock: 20 });
    const customer = await api.createCustomer();
    const raw = new Redis(redis.url);
    cleanups.push(async () => raw.disconnect());
    const onRedis: number[] = [];
    raw.on("message", (_channel: string, message: string) => onRedis.push(JSON.parse(message).version));
    await raw.subscribe(channelName("stock", idOfType("Product", product.id)!));

    const sub = subscribed(instance.url, customer.token, product.id);
    await sub.waitFor("the snapshot", (e) => e.version === 0);
    await api.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
    await sub.waitFor("a live change", (e) => e.version === 1);

    proxy.cut();
    await api.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
    await api.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
    // Published while the instance was away: lost to it.
    await eventually("the bridge to publish both changes", async () => onRedis.includes(3));
    await sleep(500);
    expect(sub.events.at(-1)).toMatchObject({ version: 1 });

    proxy.restore();
    const resync = await sub.waitFor("the current stock after reconnecting", (e) => e.version === 3, 30_000);
    // Only the re-read can bring it: the live messages for versions 2 and 3 went out while the
    // instance was away. (A live copy arriving here means the bridge sent them again.)
    expect(resync, "the state after reconnecting comes from the CURRENT re-read").toMatchObject({
      reason: "CURRENT",
      available: 17,
      version: 3,
    });

    await sleep(500);
    const next = expectTypename(await api.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]), "PlaceOrderSuccess");
    const live = await sub.waitFor("a live change after reconnecting", (e) => e.version === 4, 20_000);
    expect(live).toMatchObject({ reason: "ORDER_PLACED", available: 16, orderId: next.order.id });
    expect(versionRegressions(sub.events)).toEqual([]);
    expect(sub.errors).toEqual([]);
  }, 120_000);
});
