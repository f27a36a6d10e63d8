// stockChanged promises "first the current stock (reason CURRENT), then every
// change". A change whose event is still on its way when a client subscribes
// arrives between the pub/sub subscribe and the database read; the snapshot
// must still come first. Deterministic: in-process pub/sub, and a product
// lookup that lets such an event arrive while the snapshot is being read. The
// path is the one every stockChanged subscriber takes: the shared fan-out
// (StockHub -> LiveFanout), its selection executed on the real schema.
import { execute, parse, type ExecutionResult } from "graphql";
import { encodeGlobalId } from "../../src/ids/index.js";
import { describe, expect, it } from "vitest";
import type { StockChangedEvent } from "../../src/events/stock-changed.event.js";
import { LiveFanout } from "../../src/fanout/live-fanout.js";
import { createPubSub } from "../../src/realtime/pubsub.js";
import { schema } from "../../src/schema/index.js";
import type { ProductService } from "../../src/services/product.service.js";
import { StockHub } from "../../src/services/stock-hub.js";

const product = {
  id: "5e0b7c1e-8f57-4a43-9c56-0e7a1d3c2b10",
  sku: "MUG-1",
  name: "Mug",
  description: "",
  priceCents: 900,
  currency: "EUR",
  stock: 7,
  version: 4,
  createdAt: new Date(),
  updatedAt: new Date(),
};
const gid = encodeGlobalId("Product", product.id);

/** The event of the change that produced `product` as stored (version 4), delivered late. */
const lateEvent: StockChangedEvent = {
  eventId: "41",
  productId: gid,
  sku: product.sku,
  stock: product.stock,
  version: product.version,
  delta: -1,
  reason: "ORDER_PLACED",
  orderId: encodeGlobalId("Order", "9a1f2f4e-1b7e-4c1a-8f7e-3c2d1b0a9f8e"),
  occurredAt: new Date().toISOString(),
};

type Received = { reason: string; stock: number; version: number };

async function firstEvents(deliverLateEvent: boolean): Promise<Received[]> {
  const pubsub = createPubSub({ kind: "memory" });
  const products = {
    async byIds(ids: readonly string[]) {
      // The hub's read of the product it starts watching: the snapshot.
      if (deliverLateEvent) await pubsub.publish("stock", product.id, lateEvent);
      return ids.map((id) => (id === product.id ? { ...product } : null));
    },
    holdReadings: async (ids: readonly string[]) => ids.map((id) => (id === product.id ? { ...product, lapsed: 0 } : null)),
  } as unknown as ProductService;
  const fanout = new LiveFanout({
    hub: new StockHub(pubsub, products),
    sharedContext: () => ({}),
    execute: (args) => execute(args),
    slowSubscriberCloseMs: 60_000,
  });
  const received: Received[] = [];
  let arrived = () => {};
  const document = parse(`subscription { stockChanged(productIds: ["${gid}"]) { reason stock version } }`);
  const request = { productIds: [product.id], maxUpdatesPerSecond: null };
  const detach = await fanout.attach(request, { schema, document }, false, {
    describe: "test subscriber",
    send: (d) => {
      received.push((d.result as ExecutionResult<{ stockChanged: Received }>).data!.stockChanged);
      arrived();
    },
    backlog: () => 0,
    closeSlow: () => {},
  });
  // A later change, to see what comes after the first event.
  await pubsub.publish("stock", product.id, { ...lateEvent, eventId: "42", stock: 6, version: 5 });
  while (received.length < 2) await new Promise<void>((resolve) => (arrived = resolve));
  detach();
  fanout.stop();
  return received;
}

describe("stockChanged snapshot", () => {
  it("starts with CURRENT when nothing is in flight", async () => {
    const [first, second] = await firstEvents(false);
    expect(first).toMatchObject({ reason: "CURRENT", stock: 7, version: 4 });
    expect(second).toMatchObject({ reason: "ORDER_PLACED", stock: 6, version: 5 });
  });

  it("starts with CURRENT even when the event of the latest change arrives while the snapshot is read", async () => {
    const [first, second] = await firstEvents(true);
    expect(first).toMatchObject({ reason: "CURRENT", stock: 7, version: 4 });
    expect(second).toMatchObject({ reason: "ORDER_PLACED", stock: 6, version: 5 });
  });
});
