// A client that stops reading must not take the server down: its queue is
// bounded, keeps the newest changes, and everyone else is unaffected.
// In-process pub/sub and a stand-in order lookup: this is about the queue of a
// per-subscriber feed (services/live-feed.ts, behind orderStatusChanged), not
// the transport. stockChanged subscribers are served by the shared fan-out,
// whose slow readers tests/realtime/fanout.test.ts covers over real sockets.
import { encodeGlobalId } from "../../src/ids/index.js";
import { expect, it } from "vitest";
import { anonymous } from "../../src/auth/viewer.js";
import { createPubSub } from "../../src/realtime/pubsub.js";
import { LiveService } from "../../src/services/live.service.js";
import type { OrderService } from "../../src/services/order.service.js";
import type { ProductService } from "../../src/services/product.service.js";

const order = {
  id: "0d7a4c8e-2b1f-4e6a-9c3d-5f8e7a6b4c21",
  customerId: "5e0b7c1e-8f57-4a43-9c56-0e7a1d3c2b10",
  status: "PENDING" as const,
  totalCents: 100,
  currency: "EUR",
  version: 0,
  idempotencyKey: "k",
  createdAt: new Date(),
  updatedAt: new Date(),
};

it("survives 5,000 events to a subscriber that does not read, then hands it the newest state", async () => {
  const pubsub = createPubSub({ kind: "memory" });
  const orders = {
    visibleOrder: async () => ({ ...order }),
    byIds: async (ids: readonly string[]) => ids.map(() => ({ ...order })),
  } as unknown as OrderService;
  const live = new LiveService(pubsub, {} as ProductService, orders);
  const iterator = (await live.orderStatusChanges(anonymous, order.id))[Symbol.asyncIterator]();
  expect((await iterator.next()).value).toMatchObject({ status: "PENDING", version: 0 });

  const events = 5_000;
  for (let v = 1; v <= events; v++) {
    await pubsub.publish("orderStatus", order.id, {
      eventId: String(v),
      orderId: encodeGlobalId("Order", order.id),
      customerId: encodeGlobalId("Customer", order.customerId),
      status: v % 2 ? "CONFIRMED" : "PENDING",
      previousStatus: v % 2 ? "PENDING" : "CONFIRMED",
      version: v,
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
