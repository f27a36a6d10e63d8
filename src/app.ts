// buildApp: the HTTP server, Yoga and the backends it reports on, as one
// startable/stoppable unit, so main.ts and the tests start the same thing.
// It composes: Yoga and its plugins are app/'s, graphql-ws is fanout/ws-operations.ts'.
import { createServer, type Server } from "node:http";
import { execute } from "graphql";
import { isLoopback, type Config } from "./config/config.js";
import type { Database } from "./db/database.js";
import type { PubSubBackend } from "./realtime/pubsub.js";
import type { StreamBackend } from "./realtime/stream.js";
import type { OutboxSignal } from "./events/outbox-signal.js";
import { createServices, type Services } from "./services/index.js";
import { followPriceChanges } from "./services/pricing/price-follower.js";
import type { BulkImportRunnerOptions } from "./services/bulk-import-runner.js";
import { createGraphQLContext } from "./schema/context.js";
import { maskResult } from "./schema/mask-error.js";
import { quietAboutClientErrors } from "./schema/client-error-log.js";
import { viewerReader } from "./auth/tokens.js";
import { LiveFanout } from "./fanout/live-fanout.js";
import { LoopPacing } from "./fanout/pacing.js";
import { serveWsOperations } from "./fanout/ws-operations.js";
import { createPrometheusMetrics, type PrometheusMetrics } from "./observability/prometheus.js";
import type { Breakers } from "./observability/breakers.js";
import { breakerStates } from "./app/operator-endpoints.js";
import { createLog, yogaLogger, type Logger } from "./observability/log.js";
import { createCostBuckets } from "./protection/cost-buckets.js";
import { clientAddress } from "./protection/client.js";
import { REQUEST_LIMITS } from "./protection/request-limits.js";
import type { PluginDeps } from "./app/plugins.js";
import { createApiYoga, type ApiYoga } from "./app/yoga.js";
import { closeGracefully, listen } from "./app/http-server.js";
import { createCatalogueCache, type CatalogueCache } from "./schema/response-cache/index.js";

// Where the tests read the limits from.
export { REQUEST_LIMITS };

export interface AppDeps {
  config: Config;
  db: Database;
  pubsub: PubSubBackend;
  stream: StreamBackend;
  outbox: OutboxSignal;
  /** This process's metrics (process.ts); a registry of the app's own otherwise. */
  metrics?: PrometheusMetrics;
  /** Where logs go (pino); from the config otherwise. */
  log?: Logger;
  /** The backends' circuit breakers (process.ts opened the backends with them). */
  breakers?: Breakers;
  /** Tests: the bulk import runner's chunk size, poll and takeover times, a hook after each chunk. */
  bulkImport?: BulkImportRunnerOptions;
}

export interface App {
  yoga: ApiYoga;
  server: Server;
  services: Services;
  /** The shared stockChanged fan-out (its stats: executions, deliveries, conflated, ...). */
  fanout: LiveFanout;
  /** The catalogue response cache (RESPONSE_CACHE=on). */
  responseCache?: CatalogueCache;
  /** Listens on config.port (0 picks a free one); resolves with the base URL. */
  start(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish (bounded), closes nothing it was given. */
  stop(graceMs?: number): Promise<void>;
}

export function buildApp(deps: AppDeps): App {
  const { config } = deps;
  const metrics = deps.metrics ?? createPrometheusMetrics();
  metrics.provide({ replicas: () => deps.db.reads.status() });
  const { breakers } = deps;
  if (breakers) metrics.provide({ breakers: () => breakerStates({ ...deps, breakers }) });
  // A registry of the app's own (tests): process.ts counts the transitions into the one it passes.
  if (breakers && !deps.metrics) breakers.onTransition((backend, to) => metrics.breakerTransition(backend, to));
  const log = deps.log ?? createLog(config);
  const services = createServices({
    prisma: deps.db.prisma,
    sql: deps.db.sql,
    reads: deps.db.reads,
    pubsub: deps.pubsub,
    outbox: deps.outbox,
    live: { maxUpdatesPerSecond: config.live.defaultMaxUpdatesPerSecond },
    metrics,
    orders: config.orders,
    holds: config.holds,
    onError: (err) => log.error({ err }, "hold sweep failed"),
    exportPageRows: config.exportPageRows,
    postgresCircuit: breakers && {
      state: () => breakers.postgres.state(),
      onOpen: (listener) => void breakers.onTransition((backend, to) => backend === "postgres" && to === "open" && listener()),
    },
    bulkImport: {
      maxBytes: config.bulkImportMaxBytes,
      staleMs: config.bulkImportStaleMs,
      onError: (err) => log.error({ err }, "bulk import chunk failed"),
      ...deps.bulkImport,
    },
  });
  const logger = quietAboutClientErrors(yogaLogger(log));
  const info = (line: string) => config.logLevel !== "silent" && logger.info(line);
  // The client address: the socket's, or X-Forwarded-For's as far back as TRUST_PROXY trusts it.
  // (A request's socket is gone once node destroyed it, e.g. after refusing an oversized body.)
  const addressOf: PluginDeps["addressOf"] = (request) =>
    clientAddress(request.socket?.remoteAddress, request.headers["x-forwarded-for"], config.rateLimit.trustProxy);
  // Verified tokens are remembered until they expire (every request carries one).
  const readViewer = viewerReader(config.jwt.secret);
  // Shared executions run the subscription's selection set as graphql-js does
  // for each event (execute with the event as root), errors masked as everywhere.
  // Live delivery yields to requests while the event loop lags (buyers first).
  const pacing = new LoopPacing(config.live.pacing);
  pacing.start();
  const fanout = new LiveFanout({
    pacing,
    hub: services.live.stock,
    sharedContext: (admin) => createGraphQLContext({ viewer: admin ? { kind: "admin" } : { kind: "anonymous" } }, services),
    execute: (args) => maskResult(execute(args)),
    slowSubscriberCloseMs: config.live.slowSubscriberCloseMs,
    log: info,
    deliveryLatency: (seconds) => metrics.liveDeliveryLatency(seconds),
  });
  // Cost buckets are shared by every API instance on one Redis; in process on the embedded default.
  const buckets = createCostBuckets(config.rateLimit, deps.pubsub.redis);
  const responseCache = config.responseCache.enabled
    ? createCatalogueCache({ config, pubsub: deps.pubsub, stream: deps.stream, graphqlEndpoint: "/graphql" })
    : undefined;
  if (responseCache) metrics.provide({ responseCache: responseCache.report });
  const yoga = createApiYoga({ ...deps, services, fanout, metrics, log, logger, buckets, responseCache, readViewer, addressOf });
  const server = createServer(yoga);
  const verify = (auth: unknown) =>
    readViewer(String(auth)).then(
      () => true,
      () => false,
    );
  const ws = serveWsOperations({
    yoga,
    server,
    maxPayloadBytes: REQUEST_LIMITS.maxBodyBytes,
    maxSubscriptionsPerConnection: config.live.maxSubscriptionsPerConnection,
    maxConnectionsPerAddress: config.live.maxConnectionsPerAddress,
    uncapped: config.live.capSparesLoopback ? isLoopback : undefined,
    verify,
    addressOf,
    log: info,
  });
  // Holds past their expiry are ended (and announced) by every API process; see hold-sweeper.ts.
  services.sweeper.start();
  // In-memory prices drop what other processes changed (price-changed events); see price-book.ts.
  const followingPrices = followPriceChanges(deps.pubsub, services.prices).catch((err: unknown) => {
    log.warn({ err }, "price-changed events not followed: prices are re-read when an order finds them stale");
    return () => {};
  });
  // Bulk imports: every API process runs a runner; the claim lets one job run at a time (bulk-import-runner.ts).
  services.bulkImportRunner.start();
  metrics.provide({
    live: () => ({
      connections: ws.connections(),
      subscriptions: ws.subscriptions,
      deliveries: fanout.stats.deliveries,
      conflated: fanout.stats.conflated,
      stretch: pacing.stretch,
      pacedSeconds: pacing.stretchedSeconds,
    }),
  });

  return {
    yoga,
    server,
    services,
    fanout,
    responseCache,
    start: () => listen(server, config.port, config.host, config.listenBacklog),
    stop: (graceMs = 5000) => {
      void ws.dispose();
      fanout.stop();
      pacing.stop();
      responseCache?.stop();
      void services.sweeper.stop();
      void followingPrices.then((off) => off());
      const imports = services.bulkImportRunner.stop().catch(() => {});
      return closeGracefully(server, graceMs).finally(() => imports);
    },
  };
}
