// Fan-out to subscribers on this instance. With REDIS_URL: Redis pub/sub via
// graphql-redis-subscriptions, so every API instance sees every event. Without:
// graphql-subscriptions' in-process PubSub (the embedded default). Both are
// the same PubSubEngine interface to the rest of the code.
import { Redis } from "ioredis";
import { PubSub, type PubSubEngine } from "graphql-subscriptions";
import { RedisPubSub } from "graphql-redis-subscriptions";
import type { Config } from "../config/config.js";

export interface PubSubBackend {
  kind: "redis" | "memory";
  describe: string;
  engine: PubSubEngine;
  /**
   * Called after the connection to Redis came back: messages published while
   * it was down are lost to this instance, so subscribers re-read current state.
   */
  onResync(listener: () => void): () => void;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createPubSub(config: Config["redis"]): PubSubBackend {
  if (config.kind === "memory") {
    return {
      kind: "memory",
      describe: "in-process",
      engine: new PubSub(),
      onResync: () => () => {},
      ping: async () => {},
      close: async () => {},
    };
  }
  // ioredis reconnects on its own and re-subscribes its channels afterwards;
  // commands issued meanwhile wait in its offline queue rather than fail.
  const options = { maxRetriesPerRequest: null, retryStrategy: (n: number) => Math.min(n * 100, 1000) };
  const publisher = new Redis(config.url, options);
  const subscriber = new Redis(config.url, options);
  for (const client of [publisher, subscriber]) client.on("error", () => {});
  const listeners = new Set<() => void>();
  let lost = false;
  subscriber.on("close", () => (lost = true));
  subscriber.on("ready", () => {
    if (!lost) return;
    lost = false;
    // ioredis re-subscribes on "ready"; give it a moment before re-reading.
    setTimeout(() => listeners.forEach((l) => l()), 50);
  });
  const engine = new RedisPubSub({ publisher, subscriber });
  const where = new URL(config.url);
  return {
    kind: "redis",
    describe: `${where.hostname}:${where.port || 6379}`,
    engine,
    onResync(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async ping() {
      if (publisher.status !== "ready") throw new Error(`redis is ${publisher.status}`);
      await publisher.ping();
    },
    async close() {
      await engine.close();
    },
  };
}
