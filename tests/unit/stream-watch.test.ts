// The response cache's watch on the change stream, on the in-process pub/sub: every product's stock
// event and catalogue change reaches the cache through one subscription; a stream (Kafka) that stops
// answering its check turns the cache off until it answers again. (Redis cut off for real:
// tests/realtime/response-cache.test.ts.)
import { afterEach, describe, expect, it } from "vitest";
import { createPubSub } from "../../src/realtime/pubsub.js";
import { EntityCache } from "../../src/schema/response-cache/entity-cache.js";
import { watchChangeStream, type StreamWatch } from "../../src/schema/response-cache/stream-watch.js";
import { encodeGlobalId } from "../../src/ids/index.js";

const watches: StreamWatch[] = [];
afterEach(() => watches.splice(0).forEach((w) => w.stop()));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, probe: () => boolean) {
  for (let i = 0; i < 200 && !probe(); i++) await sleep(10);
  expect(probe(), what).toBe(true);
}

function setup() {
  const pubsub = createPubSub({ kind: "memory" });
  const cache = new EntityCache({ maxEntries: 100, maxBytes: 1_000_000, ttlMs: 60_000 });
  const stream = { up: true, ping: async () => (stream.up ? undefined : Promise.reject(new Error("kafka down"))) };
  const watch = watchChangeStream({ cache, pubsub, stream, checkIntervalMs: 20 });
  watches.push(watch);
  const store = (key: string, productGid: string) => {
    cache.prepareStore({ startedAt: cache.clock() });
    cache.set(key, { data: { key } }, [{ typename: "Product", id: productGid }], 60_000);
  };
  return { pubsub, cache, stream, watch, store };
}

const event = (productId: string, version: number) => ({
  eventId: String(version),
  productId,
  sku: "SKU-1",
  stock: 5,
  available: 5,
  reserved: 0,
  version,
  delta: -1,
  reason: "ORDER_PLACED" as const,
  orderId: null,
  holdId: null,
  occurredAt: new Date().toISOString(),
});

describe("watchChangeStream", () => {
  it("serves nothing until subscribed, then drops a product's results on its stock event or catalogue change", async () => {
    const { pubsub, cache, watch, store } = setup();
    expect(cache.serving).toBe(false);
    await watch.ready;
    expect(cache.serving).toBe(true);
    const [a, b] = [encodeGlobalId("Product", "a"), encodeGlobalId("Product", "b")];
    store("a", a);
    store("b", b);
    await pubsub.publish("stock", "a", event(a, 1));
    await until("a dropped", () => cache.get("a") === null);
    expect(cache.get("b")).not.toBeNull();
    await pubsub.publish("catalog", "changed", { entities: [{ typename: "Product", id: b }] });
    await until("b dropped", () => cache.get("b") === null);
    store("c", a);
    await pubsub.publish("catalog", "changed", { entities: [], all: true });
    await until("everything dropped", () => cache.size.entries === 0);
  });

  it("turns the cache off while the stream fails its check (/ready says why), and on again once it answers", async () => {
    const { cache, stream, watch, store } = setup();
    await watch.ready;
    const a = encodeGlobalId("Product", "a");
    store("a", a);
    stream.up = false;
    await until("cache off", () => !cache.serving);
    expect(cache.get("a")).toBeNull();
    expect(watch.degraded()).toEqual([expect.stringMatching(/^response cache off: stream unreachable/)]);
    stream.up = true;
    await until("cache on", () => cache.serving);
    expect(watch.degraded()).toEqual([]);
    expect(cache.get("a")).toBeNull(); // what it held may have missed an event
    store("a", a);
    expect(cache.get("a")).not.toBeNull();
  });
});
