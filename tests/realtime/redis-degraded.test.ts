// Degraded, not down: an instance (api, relay, bridge) whose Redis is cut off
// (connections dropped, new ones refused) or hangs (connections open, nothing
// answered) keeps delivering its own bridge's events to its subscribers in
// process, takes new subscriptions, and says "degraded" on /ready (still 200);
// once Redis is back, events flow through it again. Redis is the shared one,
// reached through a TCP proxy of this test's own.
import { afterAll, describe, expect, it } from "vitest";
import { tcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { createTestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import {
  eventually,
  shopAt,
  startInstance,
  startRoleProcess,
  stockwireEnv,
  streamNames,
  subscribeStock,
  type Instance,
  type StockEvent,
  type Subscription,
} from "../support/stockwire.js";
import type { Shop } from "../support/shop.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

/** An instance of all roles whose Redis is behind a proxy: in this process, or `npm start`'s (the relay and bridge on a pipeline thread). */
async function instanceBehindProxy(
  label: string,
  pipelineThread = false,
): Promise<{ instance: { url: string }; proxy: TcpProxy; api: Shop }> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const proxy = await tcpProxy(new URL(redisUrl()));
  cleanups.push(() => proxy.close());
  const env = stockwireEnv({ databaseUrl: database.url, redisUrl: proxy.url, kafkaBrokers: kafkaBrokers() }, streamNames(label), [
    "api",
    "relay",
    "bridge",
  ]);
  let instance: { url: string };
  if (pipelineThread) {
    const proc = await startRoleProcess(env, "all");
    cleanups.push(() => proc.kill());
    expect(proc.output()).toMatch(/pipeline\s+relay and bridge on a worker thread of their own/);
    instance = { url: /GraphiQL\s+(http:\/\/\S+)\/graphql/.exec(proc.output())![1]! };
  } else {
    const started: Instance = await startInstance(env);
    cleanups.push(() => started.stop());
    instance = started;
  }
  return { instance, proxy, api: await shopAt(instance.url) };
}

function subscribed(url: string, token: string, productId: string): Subscription<StockEvent> {
  const sub = subscribeStock(url, token, [productId]);
  cleanups.push(() => sub.close());
  return sub;
}

const readyOf = async (url: string) => {
  const res = await fetch(`${url}/ready`);
  return { status: res.status, body: (await res.json()) as { status: string; degraded?: string[] } };
};

describe("Redis unreachable", () => {
  for (const [fault, pipelineThread] of [
    ["cut off", false],
    ["hanging", false],
    ["cut off", true],
  ] as const) {
    const where = pipelineThread ? " (relay and bridge on a pipeline thread)" : "";
    it(`${fault}${where}: subscribers keep receiving this instance's own stream, new ones subscribe, /ready says degraded`, async () => {
      const label = `redis-degraded-${fault.replace(" ", "-")}${pipelineThread ? "-thread" : ""}`;
      const { instance, proxy, api } = await instanceBehindProxy(label, pipelineThread);
      const product = await api.createProduct({ stock: 50 });
      const customer = await api.createCustomer();
      const before = subscribed(instance.url, customer.token, product.id);
      await before.waitFor("the snapshot", (e) => e.version === 0);

      if (fault === "cut off") proxy.cut();
      else proxy.pause();
      expect((await api.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }])).__typename).toBe("PlaceOrderSuccess");
      await before.waitFor("the order's change, delivered in process", (e) => e.version === 1);
      const ready = await eventually("/ready degraded", async () => {
        const r = await readyOf(instance.url);
        return r.body.degraded?.some((d) => d.startsWith("pubsub unreachable")) && r;
      });
      expect(ready.status).toBe(200);
      expect(ready.body.status).toBe("degraded");

      // A subscription that starts now works too: its snapshot, then the next change.
      const during = subscribed(instance.url, customer.token, product.id);
      await during.waitFor("the snapshot while Redis is away", (e) => e.version === 1);
      await api.adjustStock(product.id, 5);
      for (const sub of [before, during]) await sub.waitFor("the restock", (e) => e.version === 2);

      if (fault === "cut off") proxy.restore();
      else proxy.resume();
      await eventually("/ready ready again", async () => (await readyOf(instance.url)).body.status === "ready");
      expect((await api.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }])).__typename).toBe("PlaceOrderSuccess");
      for (const sub of [before, during]) await sub.waitFor("a change through Redis again", (e) => e.version === 3);
    });
  }
});
