// One Stockwire process: opens the backends (database, pub/sub, stream) and
// starts the roles it was given on them: the API (app.ts: HTTP + WebSocket),
// the outbox relay and the Kafka -> pub/sub bridge, all reporting to one
// metrics registry (GET /metrics on the API port or on METRICS_PORT). main.ts
// and the multi-instance tests start exactly this.
import { existsSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import path from "node:path";
import type { AddressInfo } from "node:net";
import type { Config } from "./config/config.js";
import { openDatabase, type Database, type DatabaseOptions } from "./db/database.js";
import { seedDemoData } from "./db/seed.js";
import { createPubSub, type HandOff, type PubSubBackend } from "./realtime/pubsub.js";
import { createStream, type StreamBackend } from "./realtime/stream.js";
import { startOutboxRelay } from "./realtime/outbox-relay.js";
import { startBridge } from "./realtime/bridge.js";
import { buildApp, type App } from "./app.js";
import { createOutboxSignal, OUTBOX_CHANNEL, type OutboxSignal } from "./events/outbox-signal.js";
import { outboxBacklog } from "./realtime/outbox-relay.js";
import { createPrometheusMetrics, metricsResponse, type PrometheusMetrics } from "./observability/prometheus.js";
import { readiness } from "./observability/readiness.js";
import { createBreakers, type Breakers } from "./observability/breakers.js";
import { breakerStates } from "./app/operator-endpoints.js";

export interface StockwireProcess {
  db: Database;
  pubsub: PubSubBackend;
  app?: App;
  /** Base URL of the API, when this process runs it. */
  url?: string;
  metrics: PrometheusMetrics;
  /** This process's outbox commits (the pipeline thread hears of the API thread's through it). */
  outbox: OutboxSignal;
  /** Base URL of the METRICS_PORT listener, when configured (GET /metrics there). */
  metricsUrl?: string;
  stop(): Promise<void>;
}

export interface Backends {
  /** One circuit breaker per backend, shared by every role of this process. */
  breakers: Breakers;
  db: Database;
  pubsub: PubSubBackend;
  stream: StreamBackend;
  outbox: OutboxSignal;
  close(): Promise<void>;
}

interface StartOptions {
  say?: (line: string) => void;
  dbOptions?: DatabaseOptions;
  /** On a pipeline thread: the process metrics and the scrape-time reads (outbox, lag) are the main thread's. */
  pipelineThread?: boolean;
  /** On a pipeline thread: where messages go that Redis could not take (the API thread's subscribers). */
  pubsubHandOff?: HandOff;
  /** The primary of API workers (cluster.ts): they serve /metrics for it. */
  apiWorkers?: boolean;
}

/** Opens and migrates the database (seeding it when configured), then pub/sub and the stream. */
export async function openBackends(config: Config, opts: StartOptions = {}): Promise<Backends> {
  const say = opts.say ?? (() => {});
  // Read replicas serve the API's queries; a relay or bridge alone reads nothing there.
  const database =
    config.roles.includes("api") || config.database.kind !== "postgres" ? config.database : { ...config.database, replicas: undefined };
  // Creating an embedded database (WebAssembly PostgreSQL's initdb, then the migrations) takes seconds: say so first.
  if (database.kind === "pglite" && !existsSync(path.join(database.dataDir, "PG_VERSION"))) {
    say(`database  creating PGlite (embedded) at ${database.dataDir} (first start: about 10 s)`);
  }
  const breakers = createBreakers(config.breakers);
  // Once per transition, not per refused call.
  breakers.onTransition((backend, to) => say(`breaker   ${backend} ${to}`));
  const db = await openDatabase(database, {
    breaker: breakers.postgres,
    onReplicaState: (r) => say(`replica   ${r.name} ${r.state}${r.lagMs ? ` (${r.lagMs} ms behind)` : ""}${r.error ? `: ${r.error}` : ""}`),
    ...opts.dbOptions,
  });
  try {
    const applied = await db.migrate();
    say(
      `database  ${db.kind === "pglite" ? "PGlite (embedded)" : "PostgreSQL"} at ${db.describe}` +
        (applied.length ? `; applied ${applied.length} migration(s)` : "; schema up to date"),
    );
    if (config.seed) {
      const seeded = await seedDemoData(db.prisma);
      if (seeded) {
        const [locations, customers] = await Promise.all([db.prisma.location.count(), db.prisma.customer.count()]);
        say(`seeded    ${seeded} demo products at ${locations} locations and ${customers} customers`);
      }
    }
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  // API processes deliver in process while Redis is unreachable (degraded, not down).
  const fallback = opts.pubsubHandOff ?? (config.roles.includes("api") ? "local" : undefined);
  const pubsub = createPubSub(config.redis, { breaker: breakers.redis, fallback });
  say(`pubsub    ${pubsub.kind === "redis" ? `Redis at ${pubsub.describe}` : "in-process (embedded)"}`);
  const stream = createStream(config.kafka, breakers.kafka);
  say(`stream    ${stream.kind === "kafka" ? `Kafka at ${stream.describe}` : "in-process (embedded)"}`);
  return {
    breakers,
    db,
    pubsub,
    stream,
    outbox: createOutboxSignal(() => db.notify(OUTBOX_CHANNEL)),
    async close() {
      await Promise.allSettled([stream.close(), pubsub.close()]);
      await db.close();
    },
  };
}

export async function startProcess(config: Config, opts: StartOptions = {}): Promise<StockwireProcess> {
  const roles = new Set(config.roles);
  const say = opts.say ?? (() => {});
  const warn = (what: string) => (err: unknown) => say(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  const backends = await openBackends(config, opts);
  const { db, pubsub, stream, outbox } = backends;
  const metrics = createPrometheusMetrics({ defaults: !opts.pipelineThread });
  backends.breakers.onTransition((backend, to) => metrics.breakerTransition(backend, to));
  // Read from the shared database and Kafka: every role shows the backlog and the bridge's lag, also while those are down.
  if (!opts.pipelineThread) {
    metrics.provide({
      breakers: () => breakerStates(backends),
      outbox: () => outboxBacklog(db),
      consumerLag: () => stream.consumerLag(config.bridgeGroup, [config.topics.stockChanged, config.topics.orderStatusChanged]),
    });
  }
  const stops: (() => Promise<void>)[] = [() => backends.close()];
  try {
    if (roles.has("relay")) {
      const relay = await startOutboxRelay({
        db,
        stream,
        outbox,
        topics: config.topics,
        retention: { seconds: config.outboxRetentionSeconds },
        onError: warn("relay"),
        metrics,
      });
      stops.unshift(() => relay.stop());
      say(
        `relay     outbox -> ${stream.kind === "kafka" ? `Kafka topics ${config.topics.stockChanged}, ${config.topics.orderStatusChanged}, ${config.topics.priceChanged}` : "in-process stream"}`,
      );
    }
    if (roles.has("bridge")) {
      const bridge = await startBridge({
        stream,
        pubsub,
        topics: config.topics,
        groupId: config.bridgeGroup,
        onError: warn("bridge"),
        metrics,
      });
      stops.unshift(() => bridge.stop());
      say(`bridge    stream -> pub/sub (group ${config.bridgeGroup})`);
    }
    let app: App | undefined;
    let url: string | undefined;
    if (roles.has("api")) {
      app = buildApp({ config, db, pubsub, stream, outbox, metrics, breakers: backends.breakers });
      url = await app.start();
      stops.unshift(() => app!.stop());
    }
    let metricsUrl: string | undefined;
    if (config.metrics.port !== undefined) {
      // Probes for relay- and bridge-only pods, which have no API port: the backends their roles use.
      const checks: Record<string, () => Promise<void>> = { stream: () => stream.ping() };
      if (roles.has("relay")) checks.database = () => db.ping();
      if (roles.has("bridge")) checks.pubsub = () => pubsub.ping();
      const listener = await serveMetrics(metrics, config, checks, say, () => breakerStates(backends));
      metricsUrl = listener.url;
      stops.unshift(listener.stop);
      say(`metrics   ${metricsUrl}/metrics`);
    } else if (!app && !opts.pipelineThread && !opts.apiWorkers) {
      say("metrics   not served: set METRICS_PORT (this process has no API port)");
    }
    return {
      db,
      pubsub,
      app,
      url,
      metrics,
      outbox,
      metricsUrl,
      async stop() {
        for (const stop of stops) await stop().catch(() => {});
      },
    };
  } catch (err) {
    for (const stop of stops) await stop().catch(() => {});
    throw err;
  }
}

/**
 * GET /metrics on METRICS_PORT: a listener of its own (relay- and bridge-only
 * processes have no API port). Also GET /health (the process answers) and
 * GET /ready (observability/readiness.ts: 200 when every backend in `checks`
 * answers within 2 s, else 503 naming the failing ones, as the API's /ready),
 * for Kubernetes probes.
 */
async function serveMetrics(
  metrics: PrometheusMetrics,
  config: Config,
  checks: Record<string, () => Promise<void>>,
  say: (line: string) => void,
  breakers: () => Record<string, string>,
): Promise<{ url: string; stop(): Promise<void> }> {
  const ready = readiness({ checks, log: say, breakers });
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const server = createServer((req, res) => {
    const path = req.url?.split("?")[0];
    if (req.method === "GET" && path === "/health") return json(res, 200, { status: "ok" });
    if (req.method === "GET" && path === "/ready") {
      ready().then(
        ({ status, body }) => json(res, status, body),
        () => res.writeHead(500).end(),
      );
      return;
    }
    if (req.method !== "GET" || path !== "/metrics") return res.writeHead(404).end();
    metricsResponse(metrics, config.metrics.token, req.headers.authorization).then(
      ({ status, headers, body }) => res.writeHead(status, headers).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.metrics.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  return {
    url: `http://${host}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
