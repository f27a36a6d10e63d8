// The catalogue response cache: what buildApp needs of it (plugins, /ready, metrics, stop).
import type { Config } from "../../config/config.js";
import type { PubSubBackend } from "../../realtime/pubsub.js";
import type { StreamBackend } from "../../realtime/stream.js";
import type { Plugin } from "graphql-yoga";
import type { ResponseCacheReport } from "../../observability/prometheus.js";
import { EntityCache } from "./entity-cache.js";
import { watchChangeStream } from "./stream-watch.js";
import { useCatalogueCache } from "./use-response-cache.js";

export { EntityCache } from "./entity-cache.js";

export interface CatalogueCache {
  cache: EntityCache;
  plugins: Plugin[];
  /** Resolves once it listens to the change stream. */
  ready: Promise<void>;
  degraded(): string[];
  /** Counters and size, for /metrics. */
  report(): ResponseCacheReport;
  stop(): void;
}

export function createCatalogueCache(deps: {
  config: Pick<Config, "responseCache" | "database">;
  pubsub: PubSubBackend;
  stream: Pick<StreamBackend, "ping">;
  graphqlEndpoint: string;
  checkIntervalMs?: number;
}): CatalogueCache {
  const { responseCache: settings, database } = deps.config;
  // With read replicas a read may miss a change by up to the lag bound plus a replica check (db/replicas.ts).
  const replicas = database.kind === "postgres" ? database.replicas : undefined;
  const staleReadMs = replicas ? replicas.maxLagMs + Math.min(1000, Math.max(50, replicas.maxLagMs / 4)) + 100 : 0;
  const cache = new EntityCache({ maxEntries: settings.maxEntries, maxBytes: settings.maxBytes, ttlMs: settings.ttlMs, staleReadMs });
  const watch = watchChangeStream({ cache, pubsub: deps.pubsub, stream: deps.stream, checkIntervalMs: deps.checkIntervalMs });
  const plugins = useCatalogueCache({
    cache,
    ttlMs: settings.ttlMs,
    httpMaxAgeSeconds: settings.httpMaxAgeSeconds,
    graphqlEndpoint: deps.graphqlEndpoint,
    // Not durable: if it is lost, so is the other instances' pub/sub connection, and their caches go off.
    announce: (message) => void deps.pubsub.publish("catalog", "changed", message).catch(() => {}),
  });
  const report = (): ResponseCacheReport => ({ ...cache.stats, ...cache.size, serving: cache.serving });
  return { cache, plugins, ready: watch.ready, degraded: watch.degraded, report, stop: watch.stop };
}
