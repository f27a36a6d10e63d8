// A price-changed event on the stream reaches every API process's price book:
// the bridge passes it to pub/sub, the follower drops the product's prices
// (and everything when pub/sub reconnects). In-process stream and pub/sub:
// the route is the same code as with Kafka and Redis.
import { afterEach, expect, it, vi } from "vitest";
import { createStream } from "../../src/realtime/stream.js";
import { createPubSub } from "../../src/realtime/pubsub.js";
import { startBridge } from "../../src/realtime/bridge.js";
import { toStreamMessage } from "../../src/realtime/stream-events.js";
import { followPriceChanges } from "../../src/services/pricing/price-follower.js";
import { PriceBook } from "../../src/services/pricing/price-book.js";

const topics = { stockChanged: "t.stock", orderStatusChanged: "t.status", priceChanged: "t.price" };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it("drops the product named by a price-changed event, and only it", async () => {
  const stream = createStream({ kind: "memory" });
  const pubsub = createPubSub({ kind: "memory" });
  const bridge = await startBridge({ stream, pubsub, topics, groupId: "g" });
  cleanups.push(
    () => stream.close(),
    () => pubsub.close(),
    () => bridge.stop(),
  );
  const book = new PriceBook({ query: () => Promise.reject(new Error("not read here")) });
  const dropped: string[] = [];
  vi.spyOn(book, "dropProducts").mockImplementation((ids) => void dropped.push(...ids));
  cleanups.push(await followPriceChanges(pubsub, book));

  const productId = "00000000-0000-4000-8000-0000000000a1";
  const payload = { productId, priceListId: null, priceVersion: 3, occurredAt: new Date().toISOString() };
  await stream.publish([toStreamMessage({ id: 7n, topic: "price-changed", payload }, topics)]);
  await vi.waitFor(() => expect(dropped).toEqual([productId]));
});
