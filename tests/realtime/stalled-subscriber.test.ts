// A client that stops reading must not take the server down: its queue is
// bounded, keeps the newest changes, and everyone else is unaffected.
// In-process pub/sub and a stand-in product lookup: this is about the
// subscription's queue, not the transport.
import { encodeGlobalId } from "../../src/ids/index.js";
import { expect, it } from "vitest";
import { anonymous } from "../../src/auth/viewer.js";
import { createPubSub } from "../../src/realtime/pubsub.js";
import { LiveService } from "../../src/services/live.service.js";
import type { OrderService } from "../../src/services/order.service.js";
import type { ProductService } from "../../src/services/product.service.js";

const product = {
  id: "0d7a4c8e-2b1f-4e6a-9c3d-5f8e7a6b4c21",
  sku: "HOT-1",
  name: "Hot item",
  description: "",
  priceCents: 100,
  currency: "EUR",
  stock: 100_000,
  version: 0,
  createdAt: new Date(),
  updatedAt: new Date(),
};
const gid = encodeGlobalId("Product", product.id);

it("survives 5,000 events to a subscriber that does not read, then hands it the newest state", async () => {
  const pubsub = createPubSub({ kind: "memory" });
  const products = {
    byIds: async (ids: readonly string[]) => ids.map(() => ({ ...product })),
    lapsedReserved: async (ids: readonly string[]) => ids.map(() => 0),
  } as unknown as ProductService;
  const live = new LiveService(pubsub, products, {} as OrderService);
  const iterator = (await live.stockChanges(anonymous, [product.id]))[Symbol.asyncIterator]();
  expect((await iterator.next()).value).toMatchObject({ reason: "CURRENT", version: 0 });

  const events = 5_000;
  for (let v = 1; v <= events; v++) {
    await pubsub.publish("stock", product.id, {
      eventId: String(v),
      productId: gid,
      sku: product.sku,
      stock: product.stock - v,
      version: v,
      delta: -1,
      reason: "ORDER_PLACED",
      orderId: null,
      occurredAt: new Date().toISOString(),
    });
  }

  const received: number[] = [];
  for (;;) {
    const { value } = await iterator.next();
    received.push(value.version);
    if (value.version === events) break;
  }
  await iterator.return?.();
  expect(received.at(-1)).toBe(events); // the newest state arrives
  expect(received.length).toBeLessThanOrEqual(256 + 1); // the queue (plus the one handed over) was bounded
  expect(received).toEqual([...received].sort((a, b) => a - b)); // still in version order
});
