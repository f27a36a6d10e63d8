// The one typed, validated configuration. Nothing else in the code reads
// process.env: everything receives a Config.
import { isIP } from "node:net";
import path from "node:path";
import { z } from "zod";

const DEV_JWT_SECRET = "stockwire-dev-secret-change-me-0123456789";

/** graphql-ws connections per client address unless LIVE_MAX_CONNECTIONS_PER_ADDRESS says otherwise (loopback spared). */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 200;

/** The Kafka client libraries behind the stream (KAFKA_CLIENT), and the one used unless it says otherwise. */
export const KAFKA_CLIENTS = ["kafkajs", "platformatic"] as const;
export type KafkaClient = (typeof KAFKA_CLIENTS)[number];
export const DEFAULT_KAFKA_CLIENT: KafkaClient = "platformatic";

const url = (protocols: string[], example: string) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL like ${example}` },
  );

const brokers = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .refine((list) => list.length > 0 && list.every((b) => /^[\w.-]+:\d{1,5}$/.test(b)), {
    message: "must be a comma-separated list of host:port",
  });

const points = z.coerce.number().int().min(1).max(1_000_000_000);

const TRUST_PROXY_HELP = "must be false, true or how many reverse proxies stand in front (0-10)";

const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  // Node's default is 511: a sale's opening second (thousands of sockets at once) overflows it and the
  // kernel resets the rest. The kernel caps it at net.core.somaxconn.
  LISTEN_BACKLOG: z.coerce.number().int().min(1).max(65_535).default(4_096),
  API_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  HOST: optional(z.string().min(1)),
  CORS_ORIGINS: optional(
    z
      .string()
      .transform((s) =>
        s
          .split(",")
          .map((o) => o.trim())
          .filter(Boolean),
      )
      .refine((list) => list.every((o) => /^https?:\/\/[^/\s]+$/.test(o)), {
        message: "must be a comma-separated list of origins like https://shop.example.com (scheme and host, no path)",
      }),
  ),
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  DATABASE_URL: optional(url(["postgres:", "postgresql:"], "postgresql://user:pass@host:5432/db")),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(20),
  DATABASE_REPLICA_URL: optional(
    z
      .string()
      .transform((s) =>
        s
          .split(",")
          .map((u) => u.trim())
          .filter(Boolean),
      )
      .pipe(z.array(url(["postgres:", "postgresql:"], "postgresql://user:pass@replica:5432/db")).min(1)),
  ),
  // Bounded waits (README, Resilience): every call to a backend gives up after these, and a request after REQUEST_DEADLINE_MS in all.
  REQUEST_DEADLINE_MS: optional(z.coerce.number().int().min(0).max(600_000)),
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(50).max(600_000).default(2_000),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(50).max(3_600_000).default(5_000),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(50).max(600_000).default(2_000),
  KAFKA_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(3_000),
  KAFKA_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  BREAKER_FAILURES: z.coerce.number().int().min(1).max(1_000).default(5),
  BREAKER_HALF_OPEN_AFTER_MS: z.coerce.number().int().min(10).max(600_000).default(1_000),
  DATABASE_REPLICA_MAX_LAG_MS: z.coerce.number().int().min(1).max(3_600_000).default(2_000),
  STOCKWIRE_DATA_DIR: z.string().default(".data"),
  REDIS_URL: optional(url(["redis:", "rediss:"], "redis://host:6379")),
  KAFKA_BROKERS: optional(brokers),
  KAFKA_TOPIC_STOCK: z
    .string()
    .regex(/^[\w.-]+$/)
    .default("inventory.stock-changed"),
  KAFKA_TOPIC_ORDER_STATUS: z
    .string()
    .regex(/^[\w.-]+$/)
    .default("orders.status-changed"),
  KAFKA_TOPIC_PRICE: z
    .string()
    .regex(/^[\w.-]+$/)
    .default("pricing.price-changed"),
  KAFKA_BRIDGE_GROUP: z.string().min(1).default("stockwire-bridge"),
  // The Kafka client library behind the stream (realtime/stream.ts); the same topics, partitions and groups either way.
  KAFKA_CLIENT: z.enum(KAFKA_CLIENTS).default(DEFAULT_KAFKA_CLIENT),
  KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(10_000).default(12),
  // Kafka's own floor (the broker's group.min.session.timeout.ms, default 6 s): lower it on the broker to go lower here.
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(300_000).default(6_000),
  OUTBOX_RETENTION_SECONDS: z.coerce.number().int().min(0).max(31_536_000).default(3_600),
  // startBulkImport: the largest file accepted (bytes; 50 MB).
  BULK_IMPORT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(2_000_000_000)
    .default(50 * 1024 * 1024),
  // Bulk exports: products (or ledger rows) per page read; an export holds a few pages in memory.
  EXPORT_PAGE_ROWS: z.coerce.number().int().min(100).max(100_000).default(5_000),
  // A RUNNING import whose runner has not committed a chunk for this long is taken over (its process died).
  BULK_IMPORT_STALE_SECONDS: z.coerce.number().min(1).max(3_600).default(30),
  JWT_SECRET: optional(z.string().min(32, { message: "must be at least 32 characters" })),
  STOCKWIRE_SEED: optional(z.enum(["auto", "never"])),
  STOCKWIRE_DEMO: optional(z.enum(["on", "off"])),
  STOCKWIRE_INTROSPECTION: optional(z.enum(["on", "off"])),
  STOCKWIRE_GRAPHIQL: optional(z.enum(["on", "off"])),
  LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).max(1000).default(20),
  LIVE_MAX_CONNECTIONS_PER_ADDRESS: optional(z.coerce.number().int().min(0)),
  LIVE_MAX_UPDATES_PER_SECOND: z.coerce.number().int().min(0).max(1000).default(0),
  LIVE_SLOW_SUBSCRIBER_CLOSE_SECONDS: z.coerce.number().min(1).max(3600).default(30),
  LIVE_LAG_THRESHOLD_MS: z.coerce.number().int().min(0).max(10_000).default(50),
  LIVE_MAX_STRETCH: z.coerce.number().min(1).max(100).default(8),
  STOCKWIRE_PIPELINE_THREAD: optional(z.enum(["on", "off"])),
  PIPELINE_THREAD_MAX_HEAP_MB: z.union([z.literal("off"), z.coerce.number().int().min(64).max(65_536)]).default(96),
  METRICS_PORT: optional(z.coerce.number().int().min(0).max(65535)),
  METRICS_TOKEN: optional(z.string().min(16, { message: "must be at least 16 characters" })),
  RATE_LIMIT_ANONYMOUS_BUCKET: points.default(10_000),
  RATE_LIMIT_ANONYMOUS_RESTORE: points.default(100),
  RATE_LIMIT_CUSTOMER_BUCKET: points.default(20_000),
  RATE_LIMIT_CUSTOMER_RESTORE: points.default(200),
  RATE_LIMIT_ADMIN_BUCKET: points.default(100_000),
  RATE_LIMIT_ADMIN_RESTORE: points.default(1_000),
  RATE_LIMIT_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).max(1_000_000).default(100),
  TRUST_PROXY: z.preprocess(
    (v) => (v === "false" ? "0" : v === "true" ? "1" : v),
    z.coerce.number({ error: TRUST_PROXY_HELP }).int(TRUST_PROXY_HELP).min(0, TRUST_PROXY_HELP).max(10, TRUST_PROXY_HELP).default(0),
  ),
  ORDER_BATCH_MAX: z.coerce.number().int().min(1).max(1000).default(64),
  ORDER_BATCH_IN_FLIGHT: z.coerce.number().int().min(1).max(16).default(2),
  ORDER_SOLD_OUT_TRUST_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  // Tracing (README, Operations): the standard OpenTelemetry variables; the exporter reads the other OTEL_EXPORTER_OTLP_* itself.
  OTEL_SDK_DISABLED: optional(z.enum(["true", "false"])),
  OTEL_TRACES_EXPORTER: optional(z.enum(["otlp", "console", "none"])),
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(url(["http:", "https:"], "http://collector:4318")),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(url(["http:", "https:"], "http://collector:4318/v1/traces")),
  OTEL_EXPORTER_OTLP_PROTOCOL: optional(z.enum(["http/json"], { message: "Stockwire exports OTLP over HTTP as JSON: http/json" })),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: optional(z.enum(["http/json"], { message: "Stockwire exports OTLP over HTTP as JSON: http/json" })),
  HOLD_TTL_DEFAULT: z.coerce.number().int().min(1).max(86_400).default(600),
  HOLD_TTL_MAX: z.coerce.number().int().min(1).max(86_400).default(3_600),
  WAITLIST_HOLD_TTL: z.coerce.number().int().min(1).max(86_400).default(600),
  HOLD_SWEEP_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(250),
  RESPONSE_CACHE: z.enum(["on", "off"]).default("on"),
  RESPONSE_CACHE_MAX_ENTRIES: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  RESPONSE_CACHE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1_000)
    .max(2 ** 40)
    .default(64 * 1024 * 1024),
  RESPONSE_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  HTTP_CACHE_MAX_AGE: z.coerce.number().int().min(0).max(3_600).default(1),
  STOCKWIRE_ROLES: z
    .string()
    .default("api,relay,bridge")
    .transform((s) =>
      s
        .split(",")
        .map((r) => r.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(["api", "relay", "bridge"])).min(1, { message: "name at least one of api, relay, bridge" })),
});

/** Every environment variable the config reads (deployment manifests are checked against it). */
export const CONFIG_ENV_NAMES: readonly string[] = Object.keys(EnvSchema.shape);

export interface Config {
  port: number;
  /** Connections the kernel may queue before the server accepts them (listen(2)'s backlog). */
  listenBacklog: number;
  /** API worker processes sharing the port (cluster.ts); 1: the API runs in this process. */
  apiWorkers: number;
  /** Interface to listen on: loopback in demo mode unless HOST says otherwise, else all. */
  host: string;
  /** Origins other than the API's own that browsers may call it from (CORS); empty = same origin only. */
  corsOrigins: string[];
  env: "development" | "production" | "test";
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  database:
    | {
        kind: "postgres";
        url: string;
        poolSize: number;
        /** Read replicas (streaming standbys of `url`) for read-only requests; a replica further behind than maxLagMs serves none. */
        replicas?: { urls: string[]; maxLagMs: number };
        /** Bounded waits; defaults (POSTGRES_TIMEOUTS) when not given. */
        timeouts?: PostgresTimeouts;
      }
    | { kind: "pglite"; dataDir: string };
  /** commandTimeoutMs: how long a command (or SUBSCRIBE) waits for Redis before it fails. */
  redis: { kind: "redis"; url: string; commandTimeoutMs?: number } | { kind: "memory" };
  /**
   * partitions: of the topics the app creates when missing (existing topics are left as they are).
   * sessionTimeoutMs: how long a bridge that died without leaving its group (SIGKILL, lost node) holds its partitions.
   */
  kafka:
    | {
        kind: "kafka";
        /** The client library: kafkajs, or @platformatic/kafka. */
        client: KafkaClient;
        brokers: string[];
        partitions: number;
        sessionTimeoutMs: number;
        /** How long connecting to a broker, and one request to it (produce, fetch, admin), may take. */
        connectTimeoutMs?: number;
        requestTimeoutMs?: number;
      }
    | { kind: "memory" };
  /** The most a GraphQL request waits in all (ms): past it, SERVICE_UNAVAILABLE naming the backend it waited on; 0: no bound. */
  requestDeadlineMs: number;
  /** Per-backend circuit breakers (observability/breakers.ts): open after `failures` in a row, probe after halfOpenAfterMs. */
  breakers: { failures: number; halfOpenAfterMs: number };
  topics: { stockChanged: string; orderStatusChanged: string; priceChanged: string };
  /** How long the relay keeps published outbox rows before deleting them (s; 0: forever). */
  outboxRetentionSeconds: number;
  /** startBulkImport: the largest file accepted (bytes); multipart bodies up to it (and a little) are let through. */
  bulkImportMaxBytes: number;
  /** Bulk exports: products (or ledger rows) per page read (EXPORT_PAGE_ROWS). */
  exportPageRows: number;
  /** A RUNNING import whose runner wrote no chunk for this long (ms) is taken over by another runner. */
  bulkImportStaleMs: number;
  bridgeGroup: string;
  jwt: { secret: string; isDevSecret: boolean };
  /** Seed the demo catalogue into an empty database (embedded default only, unless asked). */
  seed: boolean;
  /** Storefront demo mode: GET /demo/session hands out customer and admin tokens to anyone. */
  demo: boolean;
  /** Schema introspection and "Did you mean …?" field suggestions (off: neither). */
  introspection: boolean;
  /** GraphiQL at GET /graphql (Accept: text/html) and its assets under /graphiql/; off by default with NODE_ENV=production. */
  graphiql: boolean;
  /** What this process runs: the API, the outbox relay, the stream -> pub/sub bridge. */
  roles: ("api" | "relay" | "bridge")[];
  /**
   * With the API and the relay or bridge in one process on PostgreSQL, Redis
   * and Kafka: run the relay and bridge on a worker thread of their own
   * (main.ts), so the API's fan-out cannot starve them.
   */
  pipelineThread: boolean;
  /**
   * PIPELINE_THREAD_MAX_HEAP_MB: the pipeline thread's old generation at most this many MiB (96;
   * "off": V8's limit). It keeps the process's memory near its live set under bulk work; a thread
   * that runs out is started again with twice the limit (pipeline-thread.ts).
   */
  pipelineThreadMaxHeapMb?: number;
  /**
   * GET /metrics (Prometheus): on the API port, or with `port` on a listener of
   * its own (then only there; relay- and bridge-only processes need it to be
   * scraped). With `token`, only for `Authorization: Bearer <token>`.
   */
  metrics: { port?: number; token?: string };
  /**
   * OpenTelemetry tracing (src/observability/tracing.ts). Off unless
   * OTEL_TRACES_EXPORTER is otlp or console, or (OTEL_TRACES_EXPORTER unset)
   * an OTLP endpoint is set; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none
   * keep it off.
   */
  tracing: { enabled: false } | { enabled: true; exporter: "otlp" | "console" };
  /** placeOrder group commit: at most batchMax orders per batch statement, batchesInFlight batches in the database at once. */
  /** soldOutTrustMs: how long a known sold-out state refuses orders without the database (0: never). */
  orders: { batchMax: number; batchesInFlight: number; soldOutTrustMs: number };
  /**
   * The catalogue response cache (schema/response-cache): anonymous catalogue reads answered from
   * memory, invalidated per product by the stock and catalogue change stream. maxBytes counts the
   * results' JSON; ttlMs bounds how long a change made outside the app (SQL by hand) stays unseen.
   * httpMaxAgeSeconds: Cache-Control max-age of anonymous GET answers, for CDNs and caching proxies.
   */
  responseCache: { enabled: boolean; maxEntries: number; maxBytes: number; ttlMs: number; httpMaxAgeSeconds: number };
  /** Holds: TTL when none is asked for and the most one may ask (s), the TTL of waitlist holds (s), how often expiry is swept (ms; 0: not by this process). */
  holds: { defaultTtlSeconds: number; maxTtlSeconds: number; waitlistTtlSeconds: number; sweepIntervalMs: number };
  live: {
    /** graphql-ws: concurrent subscriptions one connection may hold. */
    maxSubscriptionsPerConnection: number;
    /** graphql-ws: connections one client address may hold; 0 = no cap. */
    maxConnectionsPerAddress: number;
    /** Whether the cap spares loopback addresses (the default cap does: benches, and a local proxy without TRUST_PROXY). */
    capSparesLoopback: boolean;
    /** Server default for stockChanged's maxUpdatesPerSecond; 0 = every change. */
    defaultMaxUpdatesPerSecond: number;
    /** A subscriber whose socket has not drained for this long is closed (1008). */
    slowSubscriberCloseMs: number;
    /** Buyers first (fanout/pacing.ts): event-loop lag (ms) past which live intervals stretch (0: never), and the widest stretch. */
    pacing: { lagThresholdMs: number; maxStretch: number };
  };
  /**
   * Cost-based rate limits: a bucket of points per client (customer, admin or
   * anonymous address), charged each request's cost and restored over time.
   */
  rateLimit: {
    anonymous: BucketSize;
    customer: BucketSize;
    admin: BucketSize;
    /** Subscriptions one client may hold at once (on one API instance). */
    maxSubscriptionsPerClient: number;
    /** How many reverse proxies stand in front: the client address is taken from X-Forwarded-For that many hops back; 0 ignores it. */
    trustProxy: number;
  };
}

export interface PostgresTimeouts {
  /** Waiting for a pooled connection (pool acquire) or opening a new one. */
  connectMs: number;
  /** statement_timeout on every connection; the client gives up on a statement a second after it (a server that does not answer). */
  statementMs: number;
  /** idle_in_transaction_session_timeout: a transaction left open this long is ended by the server. */
  idleInTransactionMs: number;
}

export const POSTGRES_TIMEOUTS: PostgresTimeouts = { connectMs: 2_000, statementMs: 5_000, idleInTransactionMs: 60_000 };

export interface BucketSize {
  /** Points the bucket holds (Shopify's maximumAvailable). */
  points: number;
  /** Points restored per second (Shopify's restoreRate). */
  restorePerSecond: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

function tracingOf(e: z.infer<typeof EnvSchema>): Config["tracing"] {
  if (e.OTEL_SDK_DISABLED === "true" || e.OTEL_TRACES_EXPORTER === "none") return { enabled: false };
  if (e.OTEL_TRACES_EXPORTER) return { enabled: true, exporter: e.OTEL_TRACES_EXPORTER };
  // The SDK's own default exporter is otlp to localhost: here an endpoint has to be named to switch it on.
  return e.OTEL_EXPORTER_OTLP_ENDPOINT || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? { enabled: true, exporter: "otlp" } : { enabled: false };
}

/** 127.0.0.0/8, ::1 (and IPv4-mapped loopback) or the name localhost: nobody else can connect. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0]);
    const got = env[variable];
    throw new ConfigError(`invalid ${variable}: ${issue.message}${got === undefined ? "" : ` (got "${got}")`}`);
  }
  const e = parsed.data;
  const embedded = !e.DATABASE_URL;
  if (e.DATABASE_REPLICA_URL && !e.DATABASE_URL) {
    throw new ConfigError("invalid DATABASE_REPLICA_URL: read replicas need DATABASE_URL (the primary); the embedded database has none");
  }
  if (!e.JWT_SECRET && e.NODE_ENV === "production") {
    throw new ConfigError("invalid JWT_SECRET: required when NODE_ENV=production");
  }
  // Demo mode gives anyone an admin token: on by default only with the development secret.
  const demo = e.STOCKWIRE_DEMO ? e.STOCKWIRE_DEMO === "on" : !e.JWT_SECRET;
  if (demo && e.NODE_ENV === "production" && !e.STOCKWIRE_DEMO) {
    throw new ConfigError("invalid STOCKWIRE_DEMO: set it to on or off explicitly when NODE_ENV=production");
  }
  // The development secret is in the source: anyone who can reach the port can sign an admin token.
  if (!e.JWT_SECRET && e.HOST && !isLoopback(e.HOST)) {
    throw new ConfigError(
      `invalid HOST: ${e.HOST} is reachable from other machines, and without JWT_SECRET anyone could sign an admin token ` +
        "with the development secret (it is in the source): set JWT_SECRET (at least 32 characters) or listen on 127.0.0.1",
    );
  }
  // PGlite, the in-process stream and pub/sub live in one process: workers could not share them.
  if (e.API_WORKERS > 1 && !(e.DATABASE_URL && e.REDIS_URL && e.KAFKA_BROKERS)) {
    throw new ConfigError(
      "invalid API_WORKERS: more than 1 needs DATABASE_URL, REDIS_URL and KAFKA_BROKERS (the embedded default runs in one process)",
    );
  }
  return {
    port: e.PORT,
    listenBacklog: e.LISTEN_BACKLOG,
    apiWorkers: e.API_WORKERS,
    // Demo mode hands out tokens, and the development secret is public: only this machine may
    // reach either (HOST set to a loopback address on purpose is fine too).
    host: e.HOST ?? (demo || !e.JWT_SECRET ? "127.0.0.1" : "0.0.0.0"),
    corsOrigins: e.CORS_ORIGINS ?? [],
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    database: e.DATABASE_URL
      ? {
          kind: "postgres",
          url: e.DATABASE_URL,
          poolSize: e.DATABASE_POOL_SIZE,
          ...(e.DATABASE_REPLICA_URL && { replicas: { urls: e.DATABASE_REPLICA_URL, maxLagMs: e.DATABASE_REPLICA_MAX_LAG_MS } }),
          timeouts: {
            connectMs: e.DATABASE_CONNECT_TIMEOUT_MS,
            statementMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
            idleInTransactionMs: e.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
          },
        }
      : { kind: "pglite", dataDir: path.resolve(e.STOCKWIRE_DATA_DIR, "pglite") },
    redis: e.REDIS_URL ? { kind: "redis", url: e.REDIS_URL, commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS } : { kind: "memory" },
    kafka: e.KAFKA_BROKERS
      ? {
          kind: "kafka",
          client: e.KAFKA_CLIENT,
          brokers: e.KAFKA_BROKERS,
          partitions: e.KAFKA_PARTITIONS,
          sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
          connectTimeoutMs: e.KAFKA_CONNECT_TIMEOUT_MS,
          requestTimeoutMs: e.KAFKA_REQUEST_TIMEOUT_MS,
        }
      : { kind: "memory" },
    // The embedded PGlite runs in this process: a wait there is load (a demo's burst of orders), not a hung backend.
    requestDeadlineMs: e.REQUEST_DEADLINE_MS ?? (embedded ? 0 : 2_000),
    breakers: { failures: e.BREAKER_FAILURES, halfOpenAfterMs: e.BREAKER_HALF_OPEN_AFTER_MS },
    topics: { stockChanged: e.KAFKA_TOPIC_STOCK, orderStatusChanged: e.KAFKA_TOPIC_ORDER_STATUS, priceChanged: e.KAFKA_TOPIC_PRICE },
    outboxRetentionSeconds: e.OUTBOX_RETENTION_SECONDS,
    bulkImportMaxBytes: e.BULK_IMPORT_MAX_BYTES,
    exportPageRows: e.EXPORT_PAGE_ROWS,
    bulkImportStaleMs: e.BULK_IMPORT_STALE_SECONDS * 1_000,
    bridgeGroup: e.KAFKA_BRIDGE_GROUP,
    jwt: { secret: e.JWT_SECRET ?? DEV_JWT_SECRET, isDevSecret: !e.JWT_SECRET },
    seed: e.STOCKWIRE_SEED ? e.STOCKWIRE_SEED === "auto" : embedded,
    demo,
    introspection: e.STOCKWIRE_INTROSPECTION ? e.STOCKWIRE_INTROSPECTION === "on" : e.NODE_ENV === "development",
    graphiql: e.STOCKWIRE_GRAPHIQL ? e.STOCKWIRE_GRAPHIQL === "on" : e.NODE_ENV !== "production",
    roles: [...new Set(e.STOCKWIRE_ROLES)],
    pipelineThread: e.STOCKWIRE_PIPELINE_THREAD !== "off",
    pipelineThreadMaxHeapMb: e.PIPELINE_THREAD_MAX_HEAP_MB === "off" ? undefined : e.PIPELINE_THREAD_MAX_HEAP_MB,
    metrics: { port: e.METRICS_PORT, token: e.METRICS_TOKEN },
    tracing: tracingOf(e),
    orders: { batchMax: e.ORDER_BATCH_MAX, batchesInFlight: e.ORDER_BATCH_IN_FLIGHT, soldOutTrustMs: e.ORDER_SOLD_OUT_TRUST_MS },
    holds: {
      defaultTtlSeconds: Math.min(e.HOLD_TTL_DEFAULT, e.HOLD_TTL_MAX),
      maxTtlSeconds: e.HOLD_TTL_MAX,
      waitlistTtlSeconds: e.WAITLIST_HOLD_TTL,
      sweepIntervalMs: e.HOLD_SWEEP_INTERVAL_MS,
    },
    responseCache: {
      enabled: e.RESPONSE_CACHE === "on",
      maxEntries: e.RESPONSE_CACHE_MAX_ENTRIES,
      maxBytes: e.RESPONSE_CACHE_MAX_BYTES,
      ttlMs: e.RESPONSE_CACHE_TTL_SECONDS * 1000,
      httpMaxAgeSeconds: e.HTTP_CACHE_MAX_AGE,
    },
    live: {
      maxSubscriptionsPerConnection: e.LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxConnectionsPerAddress: e.LIVE_MAX_CONNECTIONS_PER_ADDRESS ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
      capSparesLoopback: e.LIVE_MAX_CONNECTIONS_PER_ADDRESS === undefined,
      defaultMaxUpdatesPerSecond: e.LIVE_MAX_UPDATES_PER_SECOND,
      slowSubscriberCloseMs: e.LIVE_SLOW_SUBSCRIBER_CLOSE_SECONDS * 1000,
      pacing: { lagThresholdMs: e.LIVE_LAG_THRESHOLD_MS, maxStretch: e.LIVE_MAX_STRETCH },
    },
    rateLimit: {
      anonymous: { points: e.RATE_LIMIT_ANONYMOUS_BUCKET, restorePerSecond: e.RATE_LIMIT_ANONYMOUS_RESTORE },
      customer: { points: e.RATE_LIMIT_CUSTOMER_BUCKET, restorePerSecond: e.RATE_LIMIT_CUSTOMER_RESTORE },
      admin: { points: e.RATE_LIMIT_ADMIN_BUCKET, restorePerSecond: e.RATE_LIMIT_ADMIN_RESTORE },
      maxSubscriptionsPerClient: e.RATE_LIMIT_MAX_SUBSCRIPTIONS,
      trustProxy: e.TRUST_PROXY,
    },
  };
}
