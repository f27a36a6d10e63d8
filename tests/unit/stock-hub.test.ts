// StockHub's rules with in-process pub/sub and a stand-in product lookup:
// changes pass in version order, only the newest when the process fell
// behind, and a listener that throws does not keep a change from the others.
import { describe, expect, it } from "vitest";
import { createPubSub } from "../../src/realtime/pubsub.js";
import { StockHub, type StockChange } from "../../src/services/stock-hub.js";
import type { ProductService } from "../../src/services/product.service.js";
import type { StockChangedEvent, StockChangedLevel } from "../../src/events/stock-changed.event.js";
import type { LevelRow } from "../../src/db/location.sql.js";
import { encodeGlobalId } from "../../src/ids/index.js";

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
    holdReadings: async (ids: readonly string[]) => ids.map(() => ({ ...product, lapsed: 0 })),
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

// Levels: the snapshot has all of them, each event the ones it touched.
const [A, B] = ["0b6a1d2c-1111-4a5b-8c7d-000000000001", "0b6a1d2c-1111-4a5b-8c7d-000000000002"];
const level = (locationId: string, onHand: number, version: number): LevelRow => ({
  productId: product.id,
  locationId,
  onHand,
  committed: 0,
  reserved: 0,
  incoming: 0,
  version,
  fulfils: true,
});
const touched = (l: LevelRow): StockChangedLevel => ({
  locationId: encodeGlobalId("Location", l.locationId),
  locationCode: l.locationId.slice(-1),
  onHand: l.onHand,
  committed: 0,
  reserved: 0,
  incoming: 0,
  available: l.onHand,
  version: l.version,
  fulfilsOrders: true,
});

async function hubWithLevels(listener: (c: StockChange) => void) {
  const pubsub = createPubSub({ kind: "memory" });
  const products = {
    byIds: async (ids: readonly string[]) => ids.map(() => ({ ...product })),
    holdReadings: async (ids: readonly string[]) => ids.map(() => ({ ...product, lapsed: 0 })),
  } as unknown as ProductService;
  const levels = { levelsByProductIds: async (ids: readonly string[]) => ids.map(() => [level(A, 10, 0), level(B, 10, 0)]) };
  const hub = new StockHub(pubsub, products, levels);
  await hub.watch(product.id, listener);
  const publish = (version: number, ...ls: LevelRow[]) =>
    pubsub.publish("stock", product.id, { ...event(version), levels: ls.map(touched), schemaVersion: 2 });
  return { hub, publish };
}

const numbers = (c: StockChange) => c.levels.map((l) => [l.locationId, l.onHand, l.version]);

describe("StockHub levels", () => {
  it("each state carries every level: the touched ones merged into the newest known, older level versions ignored", async () => {
    const seen: StockChange[] = [];
    const { publish } = await hubWithLevels((c) => seen.push(c));
    await publish(1, level(A, 9, 1));
    await publish(2, level(B, 8, 1));
    await publish(3, level(A, 7, 2), level(B, 7, 2));
    // A level older than the one known (levels are read after the product row, so may be newer than its version).
    await publish(4, level(A, 1, 1));
    await nextTurn();
    expect(seen.map((c) => [numbers(c), c.touched])).toEqual([
      [
        [
          [A, 9, 1],
          [B, 10, 0],
        ],
        [A],
      ],
      [
        [
          [A, 9, 1],
          [B, 8, 1],
        ],
        [B],
      ],
      [
        [
          [A, 7, 2],
          [B, 7, 2],
        ],
        [A, B],
      ],
      [
        [
          [A, 7, 2],
          [B, 7, 2],
        ],
        [A],
      ],
    ]);
  });

  it("when it fell behind, the newest state it passes on stands for the skipped ones: their levels and the locations they touched", async () => {
    const seen: StockChange[] = [];
    const { hub, publish } = await hubWithLevels((c) => seen.push(c));
    await publish(1, level(A, 9, 1));
    await publish(2, level(B, 8, 1));
    const until = performance.now() + 80; // the event loop is busy elsewhere before it gets to them
    while (performance.now() < until);
    await nextTurn();
    expect(hub.stats.conflated).toBe(1);
    // A store screen at A still hears of version 2, and with A's numbers of version 1.
    expect(seen.map((c) => [c.version, numbers(c), c.touched])).toEqual([
      [
        2,
        [
          [A, 9, 1],
          [B, 8, 1],
        ],
        [A, B],
      ],
    ]);
  });
});
