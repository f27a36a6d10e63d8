// The Prometheus side of Metrics: one prom-client Registry per process (so
// instances in one test process do not mix), every stockwire_* metric named
// here, and the states Prometheus asks for read when it scrapes (collect
// callbacks), so nothing on the hot path keeps a gauge up to date.
//
// Gauges that every role can report (outbox backlog, consumer lag) are read
// from the shared database and Kafka, so any process shows them, also while
// the relay or bridge is down; across processes, take their max, not the sum.
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Metrics, OrderOutcome } from "./metrics.js";

/** A registry's metrics as JSON, as another process sends them to be aggregated. */
type MetricsJSON = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/** What is read at scrape time; a process provides what it has. */
export interface ScrapeSources {
  outbox?(): Promise<{ pending: number; oldestAgeSeconds: number }>;
  consumerLag?(): Promise<{ topic: string; partition: number; lag: number }[]>;
  /** Read replicas as the API last checked them (db/replicas.ts). */
  replicas?(): { name: string; state: string; lagMs?: number }[];
  /** The API's sockets and live subscriptions, from counters they keep anyway. */
  live?(): {
    connections: number;
    subscriptions: ReadonlyMap<string, number>;
    deliveries: number;
    conflated: number;
    /** The pacing's current stretch of live intervals (1: none) and the time spent stretched (s). */
    stretch: number;
    pacedSeconds: number;
  };
  /** Circuit breaker states by backend (observability/breakers.ts). */
  breakers?(): Record<string, string>;
  /** The catalogue response cache's counters and size (schema/response-cache). */
  responseCache?(): ResponseCacheReport;
}

export interface ResponseCacheReport {
  hits: number;
  misses: number;
  invalidations: number;
  evictions: number;
  refused: number;
  entries: number;
  bytes: number;
  serving: boolean;
}

export interface PrometheusMetrics extends Metrics {
  registry: Registry;
  /** A stockChanged delivery's age at the socket write: from the change's occurredAt (its commit). */
  liveDeliveryLatency(seconds: number): void;
  provide(sources: ScrapeSources): void;
  /** Another registry's metrics merged into this one's exposition (a worker thread's). */
  addRemote(read: () => Promise<MetricsJSON>): void;
  /** The exposition text: this registry's metrics merged with the remotes'. */
  exposition(): Promise<string>;
  contentType: string;
}

const BREAKER_VALUE: Record<string, number> = { closed: 0, "half-open": 1, open: 2 };

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createPrometheusMetrics(opts: { defaults?: boolean } = {}): PrometheusMetrics {
  const registry = new Registry();
  const registers = [registry];
  // Node process metrics and event-loop lag (not on a worker thread: they would count the process twice).
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry });
  const sources: ScrapeSources = {};
  const remotes: (() => Promise<MetricsJSON>)[] = [];

  const orders = new Counter({ name: "stockwire_orders_total", help: "placeOrder calls by outcome.", labelNames: ["outcome"], registers });
  for (const outcome of ["placed", "refused", "replayed"]) orders.inc({ outcome }, 0); // every outcome shows from the start
  const orderSeconds = new Histogram({
    name: "stockwire_order_duration_seconds",
    help: "Time placeOrder spent in the service (all outcomes).",
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const conflicts = new Counter({
    name: "stockwire_version_conflicts_total",
    help: "Writes refused because expectedVersion no longer matched.",
    labelNames: ["entity"],
    registers,
  });
  const adjustments = new Counter({ name: "stockwire_stock_adjustments_total", help: "Committed stock adjustments.", registers });
  const relaySeconds = new Histogram({
    name: "stockwire_relay_publish_seconds",
    help: "Outbox relay: time to publish one batch to the stream.",
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const bridgeSeconds = new Histogram({
    name: "stockwire_bridge_publish_seconds",
    help: "Bridge: time to publish one batch from the stream to pub/sub.",
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const rateLimited = new Counter({
    name: "stockwire_rate_limited_total",
    help: "Requests and subscriptions refused by a rate limit.",
    labelNames: ["limit"],
    registers,
  });
  const deliveryLatency = new Histogram({
    name: "stockwire_live_delivery_latency_seconds",
    help: "stockChanged: from the change's commit to the socket write (sampled once per change per product stream).",
    buckets: LATENCY_BUCKETS,
    registers,
  });

  // --- read at scrape time ---
  // A backend that does not answer (Kafka down: kafkajs retries for seconds) must not stall the scrape.
  const safely = async (metric: { reset(): void }, read: () => Promise<void>) => {
    try {
      await withTimeout(read(), 3_000);
    } catch {
      metric.reset(); // no value rather than a stale one
    }
  };
  // Both outbox gauges are collected side by side in one scrape: they share one query.
  let outboxRead: ReturnType<NonNullable<ScrapeSources["outbox"]>> | undefined;
  const outbox = async () => {
    if (!sources.outbox) return { pending: 0, oldestAgeSeconds: 0 };
    return (outboxRead ??= sources.outbox().finally(() => (outboxRead = undefined)));
  };
  new Gauge({
    name: "stockwire_outbox_pending",
    help: "Outbox rows not yet published to the stream.",
    aggregator: "max",
    registers,
    async collect() {
      await safely(this, async () => this.set((await outbox()).pending));
    },
  });
  new Gauge({
    name: "stockwire_outbox_oldest_age_seconds",
    help: "Age of the oldest unpublished outbox row (0 when none).",
    aggregator: "max",
    registers,
    async collect() {
      await safely(this, async () => this.set((await outbox()).oldestAgeSeconds));
    },
  });
  new Gauge({
    name: "stockwire_bridge_consumer_lag",
    help: "Messages in the stream the bridge's consumer group has not committed yet.",
    labelNames: ["topic", "partition"],
    aggregator: "max",
    registers,
    async collect() {
      await safely(this, async () => {
        const lag = (await sources.consumerLag?.()) ?? [];
        this.reset();
        for (const l of lag) this.set({ topic: l.topic, partition: String(l.partition) }, l.lag);
      });
    },
  });
  new Gauge({
    name: "stockwire_db_replica_serving",
    help: "1 while a read replica serves reads; 0 while it is down, lagging past DATABASE_REPLICA_MAX_LAG_MS or not a standby.",
    labelNames: ["replica"],
    registers,
    collect() {
      this.reset();
      for (const r of sources.replicas?.() ?? []) this.set({ replica: r.name }, r.state === "ok" ? 1 : 0);
    },
  });
  new Gauge({
    name: "stockwire_db_replica_lag_seconds",
    help: "How long the primary has had WAL a read replica has not replayed, at the API's last check (absent while it is down).",
    labelNames: ["replica"],
    registers,
    collect() {
      this.reset();
      for (const r of sources.replicas?.() ?? []) if (r.lagMs !== undefined) this.set({ replica: r.name }, r.lagMs / 1000);
    },
  });
  new Gauge({
    name: "stockwire_breaker_state",
    help: "Circuit breaker of each backend: 0 closed (calls go through), 1 half-open (one probe out), 2 open (calls refused at once).",
    labelNames: ["backend"],
    aggregator: "max",
    registers,
    collect() {
      this.reset();
      for (const [backend, state] of Object.entries(sources.breakers?.() ?? {})) this.set({ backend }, BREAKER_VALUE[state] ?? 2);
    },
  });
  const breakerTransitions = new Counter({
    name: "stockwire_breaker_transitions_total",
    help: "Circuit breaker transitions by backend and the state entered.",
    labelNames: ["backend", "to"],
    registers,
  });
  new Gauge({
    name: "stockwire_ws_connections",
    help: "Open graphql-ws connections.",
    registers,
    collect() {
      this.set(sources.live?.().connections ?? 0);
    },
  });
  new Gauge({
    name: "stockwire_subscriptions_active",
    help: "Running graphql-ws subscriptions by root field.",
    labelNames: ["field"],
    registers,
    collect() {
      this.reset();
      for (const [field, n] of sources.live?.().subscriptions ?? []) this.set({ field }, n);
    },
  });
  // Counters the fan-out keeps anyway: copied at scrape time (a reset and inc by the running total).
  new Counter({
    name: "stockwire_live_deliveries_total",
    help: "stockChanged messages written to subscribers by the shared fan-out.",
    registers,
    collect() {
      this.reset();
      this.inc(sources.live?.().deliveries ?? 0);
    },
  });
  new Counter({
    name: "stockwire_live_conflated_total",
    help: "stockChanged updates a subscriber did not get because a newer one replaced them (backlog or rate).",
    registers,
    collect() {
      this.reset();
      this.inc(sources.live?.().conflated ?? 0);
    },
  });
  new Gauge({
    name: "stockwire_live_pacing_stretch",
    help: "How far live update intervals are stretched while the event loop lags (1: not at all; see LIVE_LAG_THRESHOLD_MS).",
    registers,
    // Across API workers (cluster.ts): the most stretched one.
    aggregator: "max",
    collect() {
      this.set(sources.live?.().stretch ?? 1);
    },
  });
  new Counter({
    name: "stockwire_live_paced_seconds_total",
    help: "Time live delivery spent stretched (yielding to requests because the event loop lagged).",
    registers,
    collect() {
      this.reset();
      this.inc(sources.live?.().pacedSeconds ?? 0);
    },
  });
  responseCacheMetrics(registers, () => sources.responseCache?.());

  return {
    registry,
    contentType: registry.contentType,
    order: (outcome: OrderOutcome, seconds: number) => {
      orders.inc({ outcome });
      orderSeconds.observe(seconds);
    },
    versionConflict: (entity) => conflicts.inc({ entity }),
    stockAdjusted: () => adjustments.inc(),
    relayPublished: (seconds) => relaySeconds.observe(seconds),
    bridgePublished: (seconds) => bridgeSeconds.observe(seconds),
    rateLimited: (limit) => rateLimited.inc({ limit }),
    breakerTransition: (backend, to) => breakerTransitions.inc({ backend, to }),
    liveDeliveryLatency: (seconds) => deliveryLatency.observe(seconds),
    provide: (more) => void Object.assign(sources, more),
    addRemote: (read) => void remotes.push(read),
    async exposition() {
      if (!remotes.length) return registry.metrics();
      const parts = await Promise.all([
        registry.getMetricsAsJSON(),
        // A remote that does not answer in time is left out of this scrape, not waited for.
        ...remotes.map((read) => withTimeout(read(), 2_000).catch(() => [] as MetricsJSON)),
      ]);
      return AggregatorRegistry.aggregate(parts).metrics();
    },
  };
}

/**
 * GET /metrics: the exposition, or 401 when a token is configured and the
 * request's `Authorization: Bearer` does not carry it.
 */
export async function metricsResponse(
  metrics: PrometheusMetrics,
  token: string | undefined,
  authorization: string | null | undefined,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  if (token && !sameSecret(authorization ?? "", `Bearer ${token}`)) {
    return { status: 401, headers: { "content-type": "text/plain", "www-authenticate": "Bearer" }, body: "metrics token required\n" };
  }
  return { status: 200, headers: { "content-type": metrics.contentType }, body: await metrics.exposition() };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(t));
  });
}

/** Compares in constant time (over digests, so lengths do not show either). */
const sameSecret = (a: string, b: string) => {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
};

/** The response cache's counters (kept by the cache anyway) copied at scrape time, and its size. */
function responseCacheMetrics(registers: Registry[], read: () => ResponseCacheReport | undefined) {
  const counters: [keyof ResponseCacheReport, string, string][] = [
    ["hits", "stockwire_response_cache_hits_total", "Catalogue queries answered from the response cache."],
    [
      "misses",
      "stockwire_response_cache_misses_total",
      "Shareable catalogue queries that executed (and were stored unless they changed meanwhile).",
    ],
    ["invalidations", "stockwire_response_cache_invalidations_total", "Cached results dropped because an entity in them changed."],
    ["evictions", "stockwire_response_cache_evictions_total", "Cached results dropped by the size bound (least recently used first)."],
    ["refused", "stockwire_response_cache_refused_total", "Results not stored because an entity in them changed while they were computed."],
  ];
  for (const [field, name, help] of counters) {
    new Counter({
      name,
      help,
      registers,
      collect() {
        const report = read();
        if (!report) return;
        this.reset();
        this.inc(Number(report[field]));
      },
    });
  }
  const gauges: [keyof ResponseCacheReport, string, string][] = [
    ["entries", "stockwire_response_cache_entries", "Results held by the response cache."],
    ["bytes", "stockwire_response_cache_bytes", "Size of the results held (their JSON), against RESPONSE_CACHE_MAX_BYTES."],
    [
      "serving",
      "stockwire_response_cache_serving",
      "1 while the response cache serves; 0 while the change stream is down (reads go to the database).",
    ],
  ];
  for (const [field, name, help] of gauges) {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const report = read();
        if (report) this.set(Number(report[field]));
      },
    });
  }
}
