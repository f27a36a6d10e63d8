// The Yoga plugins of the API, in the order they run: each is its owner's
// (protection/, schema/, fanout/, demo/, app/operator-endpoints.ts); what this
// list holds is where each goes relative to the others, and why.
import type { IncomingMessage } from "node:http";
import type { Plugin } from "graphql-yoga";
import type { Config } from "../config/config.js";
import type { Viewer } from "../auth/viewer.js";
import type { Database } from "../db/database.js";
import { memoryWriteMarks, redisWriteMarks } from "../db/write-marks.js";
import type { PrometheusMetrics } from "../observability/prometheus.js";
import type { Logger } from "../observability/log.js";
import type { PubSubBackend } from "../realtime/pubsub.js";
import type { StreamBackend } from "../realtime/stream.js";
import type { Services } from "../services/index.js";
import type { GraphQLContext } from "../schema/context.js";
import type { CatalogueCache } from "../schema/response-cache/index.js";
import { useCompiledExecution } from "../schema/use-compiled-execution.js";
import { useGraphQLMetrics } from "../schema/use-graphql-metrics.js";
import { useReadRouting } from "../schema/read-routing.js";
import { useRequestLog } from "../schema/request-log.js";
import { useTracing } from "../schema/use-tracing.js";
import { useRequestDeadline } from "../schema/use-request-deadline.js";
import type { Breakers } from "../observability/breakers.js";
import type { LiveFanout } from "../fanout/live-fanout.js";
import { useLiveFanout } from "../fanout/use-live-fanout.js";
import type { Extra, UpgradeRequest } from "../fanout/ws-server.js";
import { clientOf } from "../protection/client.js";
import type { CostBuckets } from "../protection/cost-buckets.js";
import { useJsonQueryParams, useParseOverflowGuard } from "../protection/malformed-requests.js";
import { useCloseAfterTooLarge, useRequestBodyLimit } from "../protection/request-body-limit.js";
import { REQUEST_LIMITS, useShapeLimits } from "../protection/request-limits.js";
import { useCostLimit } from "../protection/use-cost-limit.js";
import { useDemoSession } from "../demo/demo-session.js";
import { graphiqlOptions, useGraphiQL } from "../demo/graphiql.js";
import { useWebDemo } from "../demo/web-demo.js";
import { useMetricsEndpoint, useReady, useStats } from "./operator-endpoints.js";
import { useExports } from "./export-endpoints.js";

/** Documents up to this many fields (fragments expanded) run compiled: the compiler's time grows with the expansion. */
const COMPILED_MAX_FIELDS = 100;

export interface PluginDeps {
  config: Config;
  db: Database;
  pubsub: PubSubBackend;
  stream: StreamBackend;
  /** The backends' circuit breakers (process.ts), for /ready and the request deadline. */
  breakers?: Breakers;
  services: Services;
  fanout: LiveFanout;
  metrics: PrometheusMetrics;
  log: Logger;
  buckets: CostBuckets;
  /** The catalogue response cache (RESPONSE_CACHE=on). */
  responseCache?: CatalogueCache;
  readViewer(header: string | null): Promise<Viewer>;
  /** The client address of an HTTP request or a WebSocket upgrade. */
  addressOf(request: { socket?: { remoteAddress?: string } | null; headers: UpgradeRequest["headers"] }): string;
}

export function yogaPlugins(d: PluginDeps): (Plugin | Plugin<GraphQLContext>)[] {
  const { config, db, services, fanout, metrics } = d;
  return [
    // Before the body limit, which then counts the form body this reads.
    useJsonQueryParams(),
    // Multipart bodies (startBulkImport's file) up to the import limit, with room for the other parts.
    useRequestBodyLimit(REQUEST_LIMITS.maxBodyBytes, {
      limit: config.bulkImportMaxBytes + REQUEST_LIMITS.maxBodyBytes,
      operations: ["startBulkImport"],
      allowed: async (authorization) => (await d.readViewer(authorization)).kind === "admin",
    }),
    useParseOverflowGuard(),
    ...(config.graphiql ? [graphiql(d)] : []),
    ...useShapeLimits({ introspection: config.introspection }),
    useRequestLog(d.log),
    // Queries and mutations run compiled (graphql-jit), small documents only; see the plugin.
    useCompiledExecution(COMPILED_MAX_FIELDS),
    // After graphql-jit: it wraps the compiled execute, so resolvers run inside the operation's span.
    ...(config.tracing.enabled ? [useTracing()] : []),
    // With read replicas: queries read from one, mutations and whoever just wrote from the primary.
    ...(db.reads.status().length ? [useReadRouting(db.reads, d.pubsub.redis ? redisWriteMarks(d.pubsub.redis) : memoryWriteMarks())] : []),
    useReady(
      d,
      (line) => d.log.warn(line),
      () => d.responseCache?.degraded() ?? [],
    ),
    useCloseAfterTooLarge(),
    // After the plugins that wrap execute (graphql-jit, tracing): its timer bounds all of them.
    ...(config.requestDeadlineMs > 0 ? [useRequestDeadline(config.requestDeadlineMs, d.breakers?.postgres)] : []),
    useGraphQLMetrics(metrics),
    ...(config.metrics.port === undefined ? [useMetricsEndpoint(metrics, config.metrics.token)] : []),
    // Anonymous catalogue reads from memory (after graphql-jit, whose execute it wraps).
    ...(d.responseCache?.plugins ?? []),
    // Before the fan-out: a subscription it refuses never reaches the shared execution.
    costLimit(d),
    useStats(d.readViewer, () => ({
      orders: services.orders.stats,
      stockHub: services.live.stock.stats,
      fanout: fanout.stats,
      exports: services.exports.stats,
    })),
    // GET /export/*.csv (admins): streamed CSV, outside GraphQL.
    useExports({ readViewer: d.readViewer, exports: services.exports, log: d.log }),
    useLiveFanout(fanout),
    // The storefront demo at / and, in demo mode only, GET /demo/session.
    useWebDemo(),
    useDemoSession({ config, prisma: db.prisma }),
  ];
}

/** GraphiQL (cached static assets from the local bundle, not a CDN), its page loads charged to the client's cost bucket. */
function graphiql(d: PluginDeps): Plugin {
  return useGraphiQL({
    endpoint: "/graphql",
    options: graphiqlOptions({ config: d.config, prisma: d.db.prisma }),
    charge: async (request, serverContext, points) => {
      const viewer = await d.readViewer(request.headers.get("authorization")).catch((): Viewer => ({ kind: "anonymous" }));
      const address = serverContext.req ? d.addressOf(serverContext.req) : "in-process";
      const charged = await d.buckets.charge(clientOf(viewer, address), points);
      if (charged.ok) return undefined;
      d.metrics.rateLimited("graphiql");
      return { retryAfterSeconds: Math.max(1, Math.ceil(charged.retryAfterMs / 1000)) };
    },
  });
}

function costLimit(d: PluginDeps): Plugin<GraphQLContext> {
  return useCostLimit({
    buckets: d.buckets,
    maxSubscriptionsPerClient: d.config.rateLimit.maxSubscriptionsPerClient,
    // HTTP (node's server context: req) or graphql-ws (the upgrade request, in extra).
    addressOf: (ctx) => {
      const { req, extra } = ctx as { req?: IncomingMessage; extra?: Extra };
      const request = req ?? extra?.request;
      return request ? d.addressOf(request) : "in-process";
    },
    overSocket: (ctx) => "extra" in ctx,
    viewerOf: (request) => d.readViewer(request.headers.get("authorization")),
    onLimited: (limit) => d.metrics.rateLimited(limit),
  });
}
