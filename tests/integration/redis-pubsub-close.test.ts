// The Redis pub/sub backend after close(): a subscription ended late (a
// watcher letting go during shutdown) must not leave graphql-redis-subscriptions'
// UNSUBSCRIBE commands rejecting on the closed connections, which Node reports
// as unhandled rejections (a crash with --unhandled-rejections=strict, and a
// failed run under vitest: it happened in CI).
import { describe, expect, it } from "vitest";
import { createPubSub } from "../../src/realtime/pubsub.js";
import { redisUrl } from "../support/services.js";

describe("Redis pub/sub backend", () => {
  it("unsubscribing after close() leaves no rejected command behind", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const pubsub = createPubSub({ kind: "redis", url: redisUrl() });
      const received: unknown[] = [];
      const unsubscribe = await pubsub.subscribe("stock", "close-test", (e) => received.push(e));
      await pubsub.close();
      unsubscribe();
      // ioredis rejects commands on a closed connection on its next turns.
      await new Promise((r) => setTimeout(r, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
