// StockHub's rules with in-process pub/sub and a stand-in product lookup:
// changes pass in version order, only the newest when the process fell
// behind, and a listener that throws does not keep a change from the others.
import { describe, expect, it } from "vitest";
import { createPubSub } from "../../src/realtime/pubsub.js";
import { StockHub, type StockChange } from "../../src/services/stock-hub.js";
import type { ProductService } from "../../src/services/product.service.js";
import type { StockChangedEvent } from "../../src/events/stock-changed.event.js";

const product = {
  id: "6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b",
  sku: "HUB-1",
  name: "Hub",
  description: "",
  priceCents: 100,
  currency: "EUR",
  stock: 100,
  version: 0,
  createdAt: new Date(),
  updatedAt: new Date(),
};

const event = (version: number): StockChangedEvent => ({
  eventId: String(version),
  productId: "unused-here",
  sku: product.sku,
  stock: product.stock - version,
  version,
  delta: -1,
  reason: "ORDER_PLACED",
  orderId: null,
  occurredAt: new Date().toISOString(),
});

async function hubWithListeners(...listeners: ((c: StockChange) => void)[]) {
  const pubsub = createPubSub({ kind: "memory" });
  const products = {
    byIds: async (ids: readonly string[]) => ids.map(() => ({ ...product })),
    lapsedReserved: async (ids: readonly string[]) => ids.map(() => 0),
  } as unknown as ProductService;
  const hub = new StockHub(pubsub, products);
  for (const l of listeners) await hub.watch(product.id, l);
  const publish = (versions: number[]) => Promise.all(versions.map((v) => pubsub.publish("stock", product.id, event(v))));
  return { hub, publish };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("StockHub", () => {
  it("passes every change in version order when on time, and drops repeats and older versions", async () => {
    const seen: number[] = [];
    const { publish } = await hubWithListeners((c) => seen.push(c.version));
    await publish([1, 2, 2, 3, 1, 4]);
    await nextTurn();
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it("passes only the newest state when the process fell behind, and counts the rest as conflated", async () => {
    const seen: number[] = [];
    const { hub, publish } = await hubWithListeners((c) => seen.push(c.version));
    await publish([1, 2, 3, 4, 5]);
    const until = performance.now() + 80; // the event loop is busy elsewhere before it gets to them
    while (performance.now() < until);
    await nextTurn();
    expect(seen).toEqual([5]);
    expect(hub.stats.conflated).toBe(4);
  });

  it("a listener that throws does not keep the change from the others", async () => {
    const seen: number[] = [];
    const { hub, publish } = await hubWithListeners(
      () => {
        throw new Error("a bug in one subscriber");
      },
      (c) => seen.push(c.version),
    );
    await publish([1]);
    await nextTurn();
    expect(seen).toEqual([1]);
    expect(hub.stats.listenerErrors).toBe(1);
  });

  it("answers current() from memory for a watched product, with its newest version", async () => {
    const { hub, publish } = await hubWithListeners(() => {});
    await publish([1, 2]);
    await nextTurn();
    const queries = hub.stats.snapshotQueries;
    const [current] = await hub.current([product.id]);
    expect(current).toMatchObject({ version: 2, stock: 98, reason: "CURRENT" });
    expect(hub.stats.snapshotQueries).toBe(queries);
  });
});
