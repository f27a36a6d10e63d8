import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, loadConfig } from "../../src/config/config.js";

describe("config", () => {
  it("defaults to the embedded backends with no environment", () => {
    const c = loadConfig({});
    expect(c.port).toBe(4000);
    expect(c.database.kind).toBe("pglite");
    expect(c.redis.kind).toBe("memory");
    expect(c.kafka.kind).toBe("memory");
    expect(c.jwt.isDevSecret).toBe(true);
    expect(c.seed).toBe(true);
  });

  it("uses real services when their URLs are given", () => {
    const c = loadConfig({
      DATABASE_URL: "postgresql://u:p@db:5432/stockwire",
      REDIS_URL: "redis://cache:6379",
      KAFKA_BROKERS: "k1:9092, k2:9092",
      JWT_SECRET: "x".repeat(32),
    });
    expect(c.database).toMatchObject({ kind: "postgres", url: "postgresql://u:p@db:5432/stockwire" });
    expect(c.redis).toEqual({ kind: "redis", url: "redis://cache:6379", commandTimeoutMs: 2_000 });
    expect(c.kafka).toEqual({
      kind: "kafka",
      client: "platformatic",
      brokers: ["k1:9092", "k2:9092"],
      partitions: 12,
      sessionTimeoutMs: 6_000,
      connectTimeoutMs: 3_000,
      requestTimeoutMs: 5_000,
    });
    expect(c.database).toMatchObject({ timeouts: { connectMs: 2_000, statementMs: 5_000, idleInTransactionMs: 60_000 } });
    expect(c.requestDeadlineMs).toBe(2_000);
    expect(loadConfig({}).requestDeadlineMs).toBe(0); // embedded: no bound unless REQUEST_DEADLINE_MS says so
    expect(c.breakers).toEqual({ failures: 5, halfOpenAfterMs: 1_000 });
    expect(c.jwt).toEqual({ secret: "x".repeat(32), isDevSecret: false });
    expect(c.seed).toBe(false);
  });

  it("reads read replicas as a comma-separated list, only with a primary", () => {
    const c = loadConfig({
      DATABASE_URL: "postgresql://u:p@db:5432/s",
      DATABASE_REPLICA_URL: "postgresql://u:p@r1:5432/s, postgresql://u:p@r2:5432/s",
    });
    expect(c.database).toMatchObject({ replicas: { urls: ["postgresql://u:p@r1:5432/s", "postgresql://u:p@r2:5432/s"], maxLagMs: 2000 } });
    expect(loadConfig({ DATABASE_URL: "postgresql://u:p@db:5432/s" }).database).not.toHaveProperty("replicas");
    expect(() => loadConfig({ DATABASE_REPLICA_URL: "postgresql://u:p@r1:5432/s" })).toThrow(
      /invalid DATABASE_REPLICA_URL: .*need DATABASE_URL/,
    );
    expect(() => loadConfig({ DATABASE_URL: "postgresql://db/s", DATABASE_REPLICA_URL: "postgresql://r1/s,mysql://r2/s" })).toThrow(
      /invalid DATABASE_REPLICA_URL: must be a URL like postgresql:/,
    );
  });

  it.each([
    ["DATABASE_URL", "banana"],
    ["DATABASE_REPLICA_MAX_LAG_MS", "0"],
    ["DATABASE_URL", "mysql://db/x"],
    ["PORT", "-1"],
    ["PORT", "http"],
    ["REDIS_URL", "localhost:6379"],
    ["KAFKA_BROKERS", "nohostport"],
    ["JWT_SECRET", "short"],
    ["LOG_LEVEL", "loud"],
    ["TRUST_PROXY", "yes"],
    ["TRUST_PROXY", "11"],
    ["RATE_LIMIT_CUSTOMER_BUCKET", "0"],
    ["RATE_LIMIT_ADMIN_RESTORE", "fast"],
    ["KAFKA_PARTITIONS", "0"],
    ["KAFKA_SESSION_TIMEOUT_MS", "500"],
  ])("rejects %s=%s with an error naming the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrowError(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrowError(new RegExp(`^invalid ${name}: .*\\(got "${value}"\\)$`));
  });

  it("reads the rate limits: admins above customers above anonymous clients, X-Forwarded-For ignored unless TRUST_PROXY", () => {
    const { rateLimit } = loadConfig({});
    expect(rateLimit.trustProxy).toBe(0);
    expect(rateLimit.admin.points).toBeGreaterThan(rateLimit.customer.points);
    expect(rateLimit.customer.points).toBeGreaterThanOrEqual(rateLimit.anonymous.points);
    expect(loadConfig({ TRUST_PROXY: "true" }).rateLimit.trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: "false" }).rateLimit.trustProxy).toBe(0);
    expect(loadConfig({ TRUST_PROXY: "2", RATE_LIMIT_ANONYMOUS_BUCKET: "500" }).rateLimit).toMatchObject({
      trustProxy: 2,
      anonymous: { points: 500, restorePerSecond: 100 },
    });
  });

  it("limits the pipeline thread's heap to 96 MiB unless PIPELINE_THREAD_MAX_HEAP_MB says otherwise (64 MiB or more, or off)", () => {
    expect(loadConfig({}).pipelineThreadMaxHeapMb).toBe(96);
    expect(loadConfig({ PIPELINE_THREAD_MAX_HEAP_MB: "96" }).pipelineThreadMaxHeapMb).toBe(96);
    expect(loadConfig({ PIPELINE_THREAD_MAX_HEAP_MB: "off" }).pipelineThreadMaxHeapMb).toBeUndefined();
    expect(() => loadConfig({ PIPELINE_THREAD_MAX_HEAP_MB: "32" })).toThrow(/invalid PIPELINE_THREAD_MAX_HEAP_MB/);
    expect(() => loadConfig({ PIPELINE_THREAD_MAX_HEAP_MB: "1.5" })).toThrow(/invalid PIPELINE_THREAD_MAX_HEAP_MB/);
  });

  it("listens with a backlog of LISTEN_BACKLOG connections (default 4,096, 1-65,535)", () => {
    expect(loadConfig({}).listenBacklog).toBe(4_096);
    expect(loadConfig({ LISTEN_BACKLOG: "20000" }).listenBacklog).toBe(20_000);
    expect(() => loadConfig({ LISTEN_BACKLOG: "0" })).toThrow(/invalid LISTEN_BACKLOG/);
    expect(() => loadConfig({ LISTEN_BACKLOG: "70000" })).toThrow(/invalid LISTEN_BACKLOG/);
  });

  it("runs API_WORKERS API processes (default 1), more than one only on PostgreSQL, Redis and Kafka", () => {
    const external = { DATABASE_URL: "postgresql://db/s", REDIS_URL: "redis://r:6379", KAFKA_BROKERS: "k:9092" };
    expect(loadConfig({}).apiWorkers).toBe(1);
    expect(loadConfig({ ...external, API_WORKERS: "4" }).apiWorkers).toBe(4);
    expect(() => loadConfig({ API_WORKERS: "2" })).toThrow(/invalid API_WORKERS: .*embedded default runs in one process/);
    expect(() => loadConfig({ ...external, KAFKA_BROKERS: undefined, API_WORKERS: "2" })).toThrow(/invalid API_WORKERS/);
    expect(() => loadConfig({ ...external, API_WORKERS: "0" })).toThrow(/invalid API_WORKERS/);
  });

  it("stretches live intervals past LIVE_LAG_THRESHOLD_MS (default 50; 0: never), at most LIVE_MAX_STRETCH (default 8)", () => {
    expect(loadConfig({}).live.pacing).toEqual({ lagThresholdMs: 50, maxStretch: 8 });
    expect(loadConfig({ LIVE_LAG_THRESHOLD_MS: "0", LIVE_MAX_STRETCH: "3" }).live.pacing).toEqual({ lagThresholdMs: 0, maxStretch: 3 });
    expect(() => loadConfig({ LIVE_MAX_STRETCH: "0.5" })).toThrow(/invalid LIVE_MAX_STRETCH/);
  });

  it("caps the order batch at ORDER_BATCH_MAX (default 64, 1-1000)", () => {
    expect(loadConfig({}).orders.batchMax).toBe(64);
    expect(loadConfig({ ORDER_BATCH_MAX: "1" }).orders.batchMax).toBe(1);
    expect(() => loadConfig({ ORDER_BATCH_MAX: "0" })).toThrow(ConfigError);
    expect(() => loadConfig({ ORDER_BATCH_MAX: "lots" })).toThrow(/invalid ORDER_BATCH_MAX/);
  });

  it("takes over an import whose runner wrote nothing for BULK_IMPORT_STALE_SECONDS (default 30, 1-3600)", () => {
    expect(loadConfig({}).bulkImportStaleMs).toBe(30_000);
    expect(loadConfig({ BULK_IMPORT_STALE_SECONDS: "1.5" }).bulkImportStaleMs).toBe(1_500);
    expect(() => loadConfig({ BULK_IMPORT_STALE_SECONDS: "0" })).toThrow(/invalid BULK_IMPORT_STALE_SECONDS/);
  });

  it("keeps ORDER_BATCH_IN_FLIGHT batches in the database at once (default 2, 1-16)", () => {
    expect(loadConfig({}).orders.batchesInFlight).toBe(2);
    expect(loadConfig({ ORDER_BATCH_IN_FLIGHT: "1" }).orders.batchesInFlight).toBe(1);
    expect(() => loadConfig({ ORDER_BATCH_IN_FLIGHT: "0" })).toThrow(ConfigError);
    expect(() => loadConfig({ ORDER_BATCH_IN_FLIGHT: "17" })).toThrow(/invalid ORDER_BATCH_IN_FLIGHT/);
  });

  it("switches tracing on only by OTEL_TRACES_EXPORTER or an OTLP endpoint; none and OTEL_SDK_DISABLED keep it off", () => {
    const tracing = (env: Record<string, string>) => loadConfig(env).tracing;
    expect(tracing({})).toEqual({ enabled: false });
    expect(tracing({ OTEL_SERVICE_NAME: "shop" })).toEqual({ enabled: false });
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toEqual({ enabled: true, exporter: "otlp" });
    expect(tracing({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" })).toEqual({ enabled: true, exporter: "otlp" });
    expect(tracing({ OTEL_TRACES_EXPORTER: "otlp" })).toEqual({ enabled: true, exporter: "otlp" });
    expect(tracing({ OTEL_TRACES_EXPORTER: "console" })).toEqual({ enabled: true, exporter: "console" });
    expect(tracing({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toEqual({ enabled: false });
    expect(tracing({ OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "otlp" })).toEqual({ enabled: false });
    expect(() => loadConfig({ OTEL_TRACES_EXPORTER: "jaeger" })).toThrowError(/OTEL_TRACES_EXPORTER/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrowError(/OTLP over HTTP as JSON/);
  });

  it("reads the response cache settings: on by default, bounded by entries and bytes, a short HTTP max-age", () => {
    expect(loadConfig({}).responseCache).toEqual({
      enabled: true,
      maxEntries: 10_000,
      maxBytes: 64 * 1024 * 1024,
      ttlMs: 300_000,
      httpMaxAgeSeconds: 1,
    });
    expect(
      loadConfig({
        RESPONSE_CACHE: "off",
        RESPONSE_CACHE_MAX_ENTRIES: "5",
        RESPONSE_CACHE_MAX_BYTES: "100000",
        RESPONSE_CACHE_TTL_SECONDS: "10",
        HTTP_CACHE_MAX_AGE: "0",
      }).responseCache,
    ).toEqual({ enabled: false, maxEntries: 5, maxBytes: 100_000, ttlMs: 10_000, httpMaxAgeSeconds: 0 });
    for (const [name, value] of [
      ["RESPONSE_CACHE", "yes"],
      ["RESPONSE_CACHE_MAX_ENTRIES", "0"],
      ["RESPONSE_CACHE_MAX_BYTES", "10"],
      ["RESPONSE_CACHE_TTL_SECONDS", "0"],
      ["HTTP_CACHE_MAX_AGE", "-1"],
    ]) {
      expect(() => loadConfig({ [name!]: value })).toThrowError(new RegExp(`^invalid ${name}: `));
    }
  });

  it("requires a real JWT secret in production", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrowError(/JWT_SECRET/);
  });

  it.each(["0.0.0.0", "::", "10.0.0.5", "shop.example.com"])(
    "refuses HOST=%s without JWT_SECRET, whatever NODE_ENV says (the development secret is public)",
    (host) => {
      for (const env of [{}, { NODE_ENV: "development" }, { NODE_ENV: "test" }, { STOCKWIRE_DEMO: "off" }]) {
        expect(() => loadConfig({ HOST: host, ...env })).toThrowError(/^invalid HOST: .*JWT_SECRET/);
      }
      expect(loadConfig({ HOST: host, JWT_SECRET: "x".repeat(32) }).host).toBe(host);
    },
  );

  it("listens on loopback with the development secret, by default and on purpose", () => {
    expect(loadConfig({ STOCKWIRE_DEMO: "off" }).host).toBe("127.0.0.1");
    for (const host of ["127.0.0.1", "127.0.1.1", "localhost", "::1", "[::1]", "::ffff:127.0.0.1"])
      expect(loadConfig({ HOST: host }).host).toBe(host);
    expect(loadConfig({ JWT_SECRET: "x".repeat(32) }).host).toBe("0.0.0.0");
  });

  it("serves GraphiQL unless NODE_ENV=production, where STOCKWIRE_GRAPHIQL=on brings it back", () => {
    const secret = { JWT_SECRET: "x".repeat(32), STOCKWIRE_DEMO: "off" };
    expect(loadConfig({}).graphiql).toBe(true);
    expect(loadConfig({ STOCKWIRE_GRAPHIQL: "off" }).graphiql).toBe(false);
    expect(loadConfig({ ...secret, NODE_ENV: "production" }).graphiql).toBe(false);
    expect(loadConfig({ ...secret, NODE_ENV: "production", STOCKWIRE_GRAPHIQL: "on" }).graphiql).toBe(true);
    expect(() => loadConfig({ STOCKWIRE_GRAPHIQL: "yes" })).toThrowError(/^invalid STOCKWIRE_GRAPHIQL/);
  });

  it("caps graphql-ws connections per address by default, sparing loopback; an explicit LIVE_MAX_CONNECTIONS_PER_ADDRESS spares nobody", () => {
    expect(loadConfig({}).live).toMatchObject({ maxConnectionsPerAddress: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, capSparesLoopback: true });
    expect(loadConfig({ LIVE_MAX_CONNECTIONS_PER_ADDRESS: "50" }).live).toMatchObject({
      maxConnectionsPerAddress: 50,
      capSparesLoopback: false,
    });
    expect(loadConfig({ LIVE_MAX_CONNECTIONS_PER_ADDRESS: "0" }).live.maxConnectionsPerAddress).toBe(0);
  });
});
