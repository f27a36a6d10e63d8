// buildApp: the HTTP server, Yoga and the backends it reports on, as one
// startable/stoppable unit, so main.ts and the tests start the same thing.
import { createServer, type Server } from "node:http";
import { WebSocketServer } from "ws";
import type { AddressInfo } from "node:net";
import { createYoga, useReadinessCheck, type Plugin, type YogaLogger, type YogaServerInstance } from "graphql-yoga";
import { isLoopback, type Config } from "./config/config.js";
import type { Database } from "./db/database.js";
import type { PubSubBackend } from "./realtime/pubsub.js";
import type { StreamBackend } from "./realtime/stream.js";
import type { OutboxSignal } from "./events/outbox-signal.js";
import { schema } from "./schema/index.js";
import { createServices, type Services } from "./services/index.js";
import {
  execute,
  getOperationAST,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  type ExecutionResult,
  type ValidationContext,
} from "graphql";
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { createGraphQLContext, type GraphQLContext } from "./schema/context.js";
import { viewerReader } from "./auth/tokens.js";
import type { Viewer } from "./auth/viewer.js";
import { useCompiledExecution } from "./schema/use-compiled-execution.js";
import { useDocumentLimit } from "./protection/use-document-limit.js";
import { COMPLEXITY_LIMIT } from "./schema/complexity.js";
import { UnauthenticatedError } from "./errors/domain-errors.js";
import { clientErrorCode, maskError } from "./schema/mask-error.js";
import { useWebDemo } from "./demo/web-demo.js";
import { useDemoSession } from "./demo/demo-session.js";
import { graphiqlOptions, useGraphiQL } from "./demo/graphiql.js";
import { LiveFanout } from "./fanout/live-fanout.js";
import { useLiveFanout, type LiveSocket } from "./fanout/use-live-fanout.js";
import { usePrometheus } from "@graphql-yoga/plugin-prometheus";
import { createPrometheusMetrics, metricsResponse, type PrometheusMetrics } from "./observability/prometheus.js";
import { createLog, yogaLogger, type Logger } from "./observability/log.js";
import { readiness } from "./observability/readiness.js";
import { useRequestLog } from "./schema/request-log.js";
import { useTracing } from "./schema/use-tracing.js";
import { serveGraphQLWs, type Extra, type UpgradeRequest } from "./fanout/ws-server.js";
import { useCostLimit } from "./protection/use-cost-limit.js";
import { createCostBuckets } from "./protection/cost-buckets.js";
import { clientAddress, clientOf } from "./protection/client.js";
import { useRequestBodyLimit } from "./protection/request-body-limit.js";
import { useJsonQueryParams, useParseOverflowGuard } from "./protection/malformed-requests.js";
import { useReadRouting } from "./schema/read-routing.js";
import { memoryWriteMarks, redisWriteMarks } from "./db/write-marks.js";
import type { IncomingMessage } from "node:http";

/** Request limits: generous for storefronts, fatal for abuse. */
export const REQUEST_LIMITS = {
  maxBodyBytes: 100_000,
  maxDepth: 12,
  maxTokens: 2_000,
  maxAliases: 20,
  maxDirectives: 50,
  /** Fields an operation selects with its fragments expanded: the complexity plugin's breadth limit, checked before validation. */
  maxFields: COMPLEXITY_LIMIT.breadth,
};

/** Documents up to this many fields (fragments expanded) run compiled: the compiler's time grows with the expansion. */
const COMPILED_MAX_FIELDS = 100;

/** A graphql-armor rule's rejection as a validation error with `code`, instead of an exception thrown out of validate(). */
function reportAs(code: string) {
  const reported = new WeakSet<ValidationContext>(); // once per validation (the depth rule rejects once per operation and fragment)
  return {
    propagateOnRejection: false,
    onReject: [
      (ctx: ValidationContext | null, err: GraphQLError) => {
        if (!ctx || reported.has(ctx)) return;
        reported.add(ctx);
        // Armor words every rejection as a "Syntax Error: ..."; a valid query over a limit is not one.
        ctx.reportError(new GraphQLError(err.message.replace(/^Syntax Error: /, ""), { nodes: err.nodes, extensions: { code } }));
      },
    ],
  };
}

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
}

export interface App {
  yoga: YogaServerInstance<Record<string, never>, GraphQLContext>;
  server: Server;
  services: Services;
  /** The shared stockChanged fan-out (its stats: executions, deliveries, conflated, ...). */
  fanout: LiveFanout;
  /** Listens on config.port (0 picks a free one); resolves with the base URL. */
  start(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish (bounded), closes nothing it was given. */
  stop(graceMs?: number): Promise<void>;
}

export function buildApp(deps: AppDeps): App {
  const { config } = deps;
  const metrics = deps.metrics ?? createPrometheusMetrics();
  metrics.provide({ replicas: () => deps.db.reads.status() });
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
    onError: (err) => pinoLog.error({ err }, "hold sweep failed"),
  });
  const pinoLog = deps.log ?? createLog(config);
  const logger = quietAboutClientErrors(yogaLogger(pinoLog));
  // The client address: the socket's, or X-Forwarded-For's as far back as TRUST_PROXY trusts it.
  // (A request's socket is gone once node destroyed it, e.g. after refusing an oversized body.)
  const addressOf = (request: { socket?: { remoteAddress?: string } | null; headers: UpgradeRequest["headers"] }) =>
    clientAddress(request.socket?.remoteAddress, request.headers["x-forwarded-for"], config.rateLimit.trustProxy);
  // Shared by every API instance on one Redis; in process on the embedded default.
  const buckets = createCostBuckets(config.rateLimit, deps.pubsub.redis);
  // Verified tokens are remembered until they expire (every request carries one).
  const readViewer = viewerReader(config.jwt.secret);
  const log = (line: string) => config.logLevel !== "silent" && logger.info(line);
  // Shared executions run the subscription's selection set as graphql-js does
  // for each event (execute with the event as root), errors masked as everywhere.
  const fanout = new LiveFanout({
    hub: services.live.stock,
    sharedContext: (admin) => createGraphQLContext({ viewer: admin ? { kind: "admin" } : { kind: "anonymous" } }, services),
    execute: (args) => maskResult(execute(args)),
    slowSubscriberCloseMs: config.live.slowSubscriberCloseMs,
    log,
    deliveryLatency: (seconds) => metrics.liveDeliveryLatency(seconds),
  });
  const yoga = createYoga<Record<string, never>, GraphQLContext>({
    schema,
    logging: config.logLevel === "silent" ? false : logger,
    graphqlEndpoint: "/graphql",
    healthCheckEndpoint: "/health",
    landingPage: false,
    // Served by useGraphiQL below (cached static assets, rate-limited), from the local bundle, not a CDN.
    graphiql: false,
    // Unexpected errors reach clients as "Unexpected error." only; the cause is logged.
    maskedErrors: { maskError },
    // Counted by useRequestBodyLimit below instead (cheaper for bodies with a Content-Length).
    maxRequestBodySize: false,
    cors: corsFor(config.corsOrigins),
    // HTTP requests carry the token in a header; graphql-ws connections in
    // connection_init's payload ({ authorization: "Bearer …" }) or the upgrade request.
    context: async (initial) => {
      const { request, connectionParams } = initial as typeof initial & { connectionParams?: Record<string, unknown> };
      const header =
        typeof connectionParams?.authorization === "string" ? connectionParams.authorization : request.headers.get("authorization");
      try {
        const viewer = await readViewer(header);
        return createGraphQLContext({ viewer }, services);
      } catch (err) {
        if (!(err instanceof UnauthenticatedError)) throw err;
        throw new GraphQLError(err.message, { extensions: { code: "UNAUTHENTICATED", http: { status: 401 } } });
      }
    },
    plugins: [
      // Before the body limit, which then counts the form body this reads.
      useJsonQueryParams(),
      useRequestBodyLimit(REQUEST_LIMITS.maxBodyBytes),
      useParseOverflowGuard(),
      ...(config.graphiql
        ? [
            useGraphiQL({
              endpoint: "/graphql",
              options: graphiqlOptions({ config, prisma: deps.db.prisma }),
              charge: async (request, serverContext, points) => {
                const viewer = await readViewer(request.headers.get("authorization")).catch((): Viewer => ({ kind: "anonymous" }));
                const address = serverContext.req ? addressOf(serverContext.req) : "in-process";
                const charged = await buckets.charge(clientOf(viewer, address), points);
                if (charged.ok) return undefined;
                metrics.rateLimited("graphiql");
                return { retryAfterSeconds: Math.max(1, Math.ceil(charged.retryAfterMs / 1000)) };
              },
            }),
          ]
        : []),
      // The expanded selection, measured and refused before validation walks it.
      useDocumentLimit(REQUEST_LIMITS.maxFields),
      EnvelopArmorPlugin({
        // Shape limits, checked while validating. Cost is the schema's own
        // complexity limit (schema/complexity.ts), which sees variables.
        // Reported as validation errors with a code (armor's default throws
        // from inside validate(), which has no code and breaks graphql-ws).
        maxDepth: { n: REQUEST_LIMITS.maxDepth, flattenFragments: true, ...reportAs("QUERY_TOO_DEEP") },
        maxTokens: { n: REQUEST_LIMITS.maxTokens },
        // Every alias counts, __typename ones too (armor allows those by default).
        maxAliases: { n: REQUEST_LIMITS.maxAliases, allowList: [], ...reportAs("TOO_MANY_ALIASES") },
        maxDirectives: { n: REQUEST_LIMITS.maxDirectives, ...reportAs("TOO_MANY_DIRECTIVES") },
        costLimit: { enabled: false },
        // Suggestions name fields the client did not ask about: only where introspection is on too.
        blockFieldSuggestion: { enabled: !config.introspection },
      }),
      ...(config.introspection ? [] : [noIntrospection()]),
      useRequestLog(pinoLog),
      // Queries and mutations run compiled (graphql-jit), small documents only; see the plugin.
      useCompiledExecution(COMPILED_MAX_FIELDS),
      // After graphql-jit: it wraps the compiled execute, so resolvers run inside the operation's span.
      ...(config.tracing.enabled ? [useTracing()] : []),
      // With read replicas: queries read from one, mutations and whoever just wrote from the primary.
      ...(deps.db.reads.status().length
        ? [useReadRouting(deps.db.reads, deps.pubsub.redis ? redisWriteMarks(deps.pubsub.redis) : memoryWriteMarks())]
        : []),
      useReadinessCheck({ endpoint: "/ready", check: readyCheck(deps, (line) => pinoLog.warn(line)) }),
      useCloseAfterTooLarge(),
      // GraphQL phase histograms; /metrics itself is served below (merged with a pipeline thread's, token).
      // Off what costs per request and tells an operator nothing (profiled on the order path, ~8% of
      // the API's CPU): deprecated-field counting walks every document; the request summary keeps
      // quantile sketches per observation; parse and validate are cache hits in Yoga; context is ours.
      usePrometheus({
        registry: metrics.registry,
        endpoint: false,
        // Not by operation name or URL: clients choose them (a GET query string is part of the URL),
        // and every new value would be a new series kept forever.
        labels: { operationName: false, operationType: true, url: false },
        metrics: {
          graphql_envelop_request: true,
          graphql_envelop_request_duration: true,
          graphql_envelop_phase_execute: true,
          graphql_envelop_phase_subscribe: true,
          graphql_envelop_error_result: true,
          graphql_yoga_http_duration: true,
          graphql_envelop_deprecated_field: false,
          graphql_envelop_request_time_summary: false,
          graphql_envelop_phase_parse: false,
          graphql_envelop_phase_validate: false,
          graphql_envelop_phase_context: false,
          graphql_envelop_schema_change: false,
        },
      }),
      ...(config.metrics.port === undefined ? [useMetricsEndpoint(metrics, config.metrics.token)] : []),
      // Before the fan-out: a subscription it refuses never reaches the shared execution.
      useCostLimit({
        buckets,
        maxSubscriptionsPerClient: config.rateLimit.maxSubscriptionsPerClient,
        // HTTP (node's server context: req) or graphql-ws (the upgrade request, in extra).
        addressOf: (ctx) => {
          const { req, extra } = ctx as { req?: IncomingMessage; extra?: Extra };
          const request = req ?? extra?.request;
          return request ? addressOf(request) : "in-process";
        },
        overSocket: (ctx) => "extra" in ctx,
        viewerOf: (request) => readViewer(request.headers.get("authorization")),
        onLimited: (limit) => metrics.rateLimited(limit),
      }),
      useStats(readViewer, () => ({ orders: services.orders.stats, stockHub: services.live.stock.stats, fanout: fanout.stats })),
      useLiveFanout(fanout),
      // The storefront demo at / and, in demo mode only, GET /demo/session.
      useWebDemo(),
      useDemoSession({ config, prisma: deps.db.prisma }),
    ],
  });
  const server = createServer(yoga);
  // Messages above the HTTP body limit are refused: ws closes the socket with 1009.
  const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: REQUEST_LIMITS.maxBodyBytes });
  // Per connection (graphql-ws context): its running subscriptions (id -> root field), and their count per field.
  const openSubscriptions = new WeakMap<object, Map<string, string>>();
  const subscriptionsActive = new Map<string, number>();
  const countSubscription = (field: string, by: number) => subscriptionsActive.set(field, (subscriptionsActive.get(field) ?? 0) + by);
  const release = (ctx: object, id: string) => {
    const open = openSubscriptions.get(ctx);
    const field = open?.get(id);
    if (field === undefined) return;
    open!.delete(id);
    countSubscription(field, -1);
  };
  const verify = (auth: unknown) =>
    readViewer(String(auth)).then(
      () => true,
      () => false,
    );
  const ws = serveGraphQLWs(
    {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- graphql-ws types rootValue as unknown; onSubscribe puts Yoga's execute there
      execute: (args: any) => args.rootValue.execute(args),
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above, and the fields let go below are not optional in ExecutionArgs
      subscribe: async (args: any) => {
        const result = await args.rootValue.subscribe(args);
        const own = (args.contextValue as { liveSocket?: LiveSocket }).liveSocket?.served;
        if (!own) return result;
        // A fan-out subscription is served without these: let them go (memory per socket).
        for (const key of ["contextValue", "rootValue", "document", "variableValues"]) args[key] = undefined;
        return own;
      },
      // A bad token (in connection_init or the upgrade request) closes the connection with 4403 before any operation.
      onConnect: async (ctx) => {
        const auth = ctx.connectionParams?.authorization ?? ctx.extra.request.headers.authorization;
        return auth === undefined ? true : verify(auth);
      },
      onComplete: (ctx, id) => release(ctx, id),
      // The same Yoga pipeline as HTTP: context (auth), limits, masked errors.
      onSubscribe: async (ctx, id, params) => {
        // POST: Yoga refuses mutations in GET requests, and a socket carries mutations too.
        const request = new Request(`http://localhost${ctx.extra.request.url ?? "/"}`, {
          method: "POST",
          headers: Object.entries(ctx.extra.request.headers).flatMap(([k, v]): [string, string][] =>
            typeof v === "string" ? [[k, v]] : [],
          ),
        });
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          request,
          connectionParams: ctx.connectionParams,
          params,
        });
        // Refusals are this operation's errors, with a code as over HTTP; the socket stays open.
        let document;
        try {
          document = parse(params.query);
        } catch (err) {
          return [withCode(err, "GRAPHQL_PARSE_FAILED")];
        }
        let errors: readonly GraphQLError[];
        try {
          errors = validate(schema, document);
        } catch (err) {
          errors = [err as GraphQLError];
        }
        if (errors.length) return errors.map((e) => withCode(e, "GRAPHQL_VALIDATION_FAILED"));
        // Subscriptions are capped per connection; queries and mutations over the socket are not.
        const operation = getOperationAST(document, params.operationName);
        const open =
          operation?.operation === "subscription"
            ? (openSubscriptions.get(ctx) ?? openSubscriptions.set(ctx, new Map()).get(ctx)!)
            : undefined;
        if (open && open.size >= config.live.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`At most ${config.live.maxSubscriptionsPerConnection} subscriptions at once per connection`, {
              extensions: { code: "TOO_MANY_SUBSCRIPTIONS" },
            }),
          ];
        }
        // Held from here (subscribes on one socket run concurrently); graphql-ws calls onComplete only
        // for operations that ran, so a refusal below gives the place back itself.
        if (open) {
          const root = operation!.selectionSet.selections[0];
          const field = root?.kind === "Field" ? root.name.value : "unknown";
          open.set(id, field);
          countSubscription(field, 1);
        }
        let contextValue;
        try {
          contextValue = await contextFactory();
        } catch (err) {
          release(ctx, id);
          return [err instanceof GraphQLError ? err : new GraphQLError("Unexpected error.")];
        }
        // Lets the fan-out write this operation's stockChanged frames to the socket itself.
        const liveSocket: LiveSocket = { socket: ctx.extra.socket, id, address: addressOf(ctx.extra.request), served: undefined };
        Object.assign(contextValue, { liveSocket });
        return {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
      },
    },
    wsServer,
    {
      keepAliveMs: 12_000,
      connectionInitMs: 10_000,
      maxConnectionsPerAddress: config.live.maxConnectionsPerAddress,
      uncapped: config.live.capSparesLoopback ? isLoopback : undefined,
      verifyUpgrade: (request) => verify(request.headers.authorization),
      addressOf,
      log,
    },
  );

  // Holds past their expiry are ended (and announced) by every API process; see hold-sweeper.ts.
  services.sweeper.start();

  metrics.provide({
    live: () => ({
      connections: wsServer.clients.size,
      subscriptions: subscriptionsActive,
      deliveries: fanout.stats.deliveries,
      conflated: fanout.stats.conflated,
    }),
  });

  return {
    yoga,
    server,
    services,
    fanout,
    start: () =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(config.port, config.host, () => {
          const { port } = server.address() as AddressInfo;
          const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
          resolve(`http://${host}:${port}`);
        });
      }),
    stop: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        void ws.dispose();
        fanout.stop();
        void services.sweeper.stop();
        if (!server.listening) return resolve();
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/**
 * CORS: only the origins in CORS_ORIGINS get CORS headers (same-origin pages need none);
 * any other origin gets none, so a browser will not let it read the answer. Tokens
 * travel in the Authorization header, not in cookies: no Allow-Credentials.
 */
function corsFor(origins: string[]) {
  const allowed = new Set(origins);
  return (request: Request) => {
    const origin = request.headers.get("origin");
    return origin && allowed.has(origin)
      ? {
          origin: [origin],
          credentials: false,
          allowedHeaders: ["content-type", "authorization", "accept"],
          methods: ["GET", "POST"],
          maxAge: 600,
        }
      : false;
  };
}

/**
 * Yoga logs every error it masks at error level with its stack, client errors
 * included (~1.2 kB per anonymous `{ me { id } }`): anyone could flood the log.
 * Errors the client caused are one debug line; server failures stay as they were.
 */
function quietAboutClientErrors(logger: YogaLogger): YogaLogger {
  return {
    ...logger,
    error: (...args: unknown[]) => {
      const code = args.length === 1 ? clientErrorCode(args[0]) : undefined;
      if (!code) return logger.error(...args);
      const { message, path } = args[0] as GraphQLError;
      logger.debug(`client error ${code}: ${message.replace(/\s+/g, " ").slice(0, 200)}${path ? ` (at ${path.join(".")})` : ""}`);
    },
  };
}

/**
 * A 413 is sent before the body was read (the rest of it is still on the wire):
 * `Connection: close`, so the client does not send its next request on that
 * socket, which Node would otherwise keep waiting on and then reset.
 */
function useCloseAfterTooLarge(): Plugin {
  return {
    onResponse({ response }) {
      if (response.status === 413) response.headers.set("connection", "close");
    },
  };
}

/** STOCKWIRE_INTROSPECTION=off: graphql-js' own rule refuses __schema and __type (a validation error). */
function noIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

/**
 * GET /stats (admins only): this process's counters as JSON: group commit
 * (batch sizes), sold-out refusals, the stock hub and the fan-out. Read by
 * bench/orders; a stop-gap until these become Prometheus metrics.
 */
function useStats(readViewer: (header: string | null) => Promise<Viewer>, stats: () => Record<string, unknown>): Plugin {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== "/stats") return;
      const viewer = await readViewer(request.headers.get("authorization")).catch(() => null);
      const admin = viewer?.kind === "admin";
      endResponse(
        new fetchAPI.Response(JSON.stringify(admin ? stats() : { error: "admin token required" }), {
          status: admin ? 200 : 403,
          headers: { "content-type": "application/json" },
        }),
      );
    },
  };
}

/**
 * GET /ready: 200 when the database and pub/sub answer, else 503 naming the
 * failing ones (observability/readiness.ts). With Kafka away, orders still
 * commit (their events wait in the outbox) and live stock from the other
 * instances' bridges still arrives, so a load balancer must keep the instance:
 * "degraded", still 200, as with a read replica down or lagging. The relay and
 * bridge roles report Kafka as failing on their own /ready (process.ts).
 */
function readyCheck(deps: AppDeps, log: (line: string) => void) {
  const ready = readiness({
    checks: { database: () => deps.db.ping(), pubsub: () => deps.pubsub.ping(), stream: () => deps.stream.ping() },
    degradesOnly: { stream: "stock changes wait in the outbox" },
    replicas: () => deps.db.reads.status(),
    log,
  });
  return async ({ fetchAPI }: { fetchAPI: { Response: typeof Response } }) => {
    const { status, body } = await ready();
    return new fetchAPI.Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  };
}

/** GET /metrics on the API port (when METRICS_PORT does not move it to a listener of its own). */
function useMetricsEndpoint(metrics: PrometheusMetrics, token: string | undefined): Plugin {
  return {
    async onRequest({ url, request, endResponse, fetchAPI }) {
      if (url.pathname !== "/metrics") return;
      const { status, headers, body } = await metricsResponse(metrics, token, request.headers.get("authorization"));
      endResponse(new fetchAPI.Response(body, { status, headers }));
    },
  };
}

/** A parse or validation failure as a client error with a code (its own, if it has one); anything else is masked. */
function withCode(err: unknown, code: string): GraphQLError {
  if (!(err instanceof GraphQLError)) return new GraphQLError("Unexpected error.", { extensions: { code: "INTERNAL_SERVER_ERROR" } });
  return err.extensions.code ? err : new GraphQLError(err.message, { nodes: err.nodes, extensions: { ...err.extensions, code } });
}

function maskResult(result: ExecutionResult | Promise<ExecutionResult>): ExecutionResult | Promise<ExecutionResult> {
  if ("then" in result) return result.then(maskResult);
  return result.errors
    ? { ...result, errors: result.errors.map((e) => maskError!(e, "Unexpected error.", false) as GraphQLError) }
    : result;
}
