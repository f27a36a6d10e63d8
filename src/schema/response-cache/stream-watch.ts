// Keeps the response cache exact from the change stream every API instance already receives: each
// product's stock events (the bridge's Redis channels, one pattern subscription) and catalogue
// changes no stock event carries (updateProduct). While that stream cannot be trusted, the cache
// serves nothing (EntityCache.suspend): from the moment the pub/sub connection drops until it is
// back and re-subscribed, and while Redis or Kafka fail their check (with Kafka down, other
// instances' changes wait in the outbox and would arrive late).
import type { PubSubBackend } from "../../realtime/pubsub.js";
import type { StreamBackend } from "../../realtime/stream.js";
import type { EntityCache } from "./entity-cache.js";
import { stockEventEntities } from "./entities.js";

export interface StreamWatch {
  /** Resolves once subscribed (until then the cache serves nothing). */
  ready: Promise<void>;
  /** Why the cache is off, for /ready; empty while it serves. */
  degraded(): string[];
  stop(): void;
}

// "starting" (the first milliseconds, until subscribed) is not worth a degraded /ready.
const REASONS: Record<string, string> = {
  pubsub: "response cache off: pub/sub connection lost, catalogue reads go to the database",
  "pubsub-check": "response cache off: pub/sub unreachable, catalogue reads go to the database",
  stream: "response cache off: stream unreachable, catalogue reads go to the database",
};

export function watchChangeStream(deps: {
  cache: EntityCache;
  pubsub: PubSubBackend;
  stream: Pick<StreamBackend, "ping">;
  /** How often Redis and Kafka are checked. */
  checkIntervalMs?: number;
}): StreamWatch {
  const { cache, pubsub } = deps;
  const interval = deps.checkIntervalMs ?? 500;
  cache.suspend("starting");
  const unsubscribes: (() => void)[] = [];
  let stopped = false;
  const offLost = pubsub.onLost(() => cache.suspend("pubsub"));
  const offResync = pubsub.onResync(() => cache.resume("pubsub"));
  const ready = Promise.all([
    pubsub.subscribeAll("stock", (e) => cache.invalidate(stockEventEntities(e))),
    pubsub.subscribeAll("catalog", (m) => (m.all ? cache.clear() : cache.invalidate(m.entities))),
  ]).then((offs) => {
    unsubscribes.push(...offs);
    if (stopped) return offs.forEach((off) => off());
    cache.resume("starting");
  });
  // A check that has not answered within the interval counts as failed.
  const check = async (reason: "pubsub-check" | "stream", ping: () => Promise<void>) => {
    const ok = await Promise.race([
      ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(resolve, interval, false).unref()),
    ]);
    if (stopped) return;
    // A lost pub/sub connection ("pubsub") comes back through onResync, once re-subscribed.
    if (ok) cache.resume(reason);
    else cache.suspend(reason);
  };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void Promise.all([check("pubsub-check", () => pubsub.ping()), check("stream", () => deps.stream.ping())]).finally(
      () => (running = false),
    );
  }, interval);
  timer.unref();
  return {
    ready,
    degraded: () => cache.suspendedReasons.flatMap((r) => (r === "starting" ? [] : [REASONS[r] ?? `response cache off: ${r}`])),
    stop() {
      stopped = true;
      clearInterval(timer);
      offLost();
      offResync();
      unsubscribes.forEach((off) => off());
    },
  };
}
