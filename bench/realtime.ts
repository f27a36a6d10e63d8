// Live-stock latency benchmark: N WebSocket subscribers watch a few products
// each while orders flow at a fixed rate; how long from an order's commit to
// its stockChanged event at every subscriber, end to end through the outbox
// relay, Kafka, the bridge, Redis pub/sub and the API's graphql-ws fan-out.
// In the same run, the floor: events PUBLISHed straight to Redis (no
// database, no Kafka) to the same subscribers through the same API process.
// See bench/README.md.
//
//   npx tsx bench/realtime.ts [--subscribers 1000,5000] [--rate 50] [--duration 20] ...
//
// Uses DATABASE_URL / REDIS_URL / KAFKA_BROKERS if set, else throwaway servers.
import { randomBytes, randomUUID } from "node:crypto";
import os from "node:os";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import { databaseUrl, withClient } from "../infra/services/postgres.js";
import { startRedis } from "../infra/services/redis.js";
import { startKafka, kafkaVersion } from "../infra/services/kafka.js";
import type { StartedService } from "../infra/services/process.js";
import { openDatabase } from "../src/db/database.js";
import { signToken } from "../src/auth/tokens.js";
import { toGlobalId } from "../src/schema/ids.js";
import { channelName } from "../src/realtime/pubsub.js";
import { idOfType } from "../src/ids/index.js";
import type { StockChangedEvent } from "../src/events/stock-changed.event.js";
import { startApi, type ApiProcess } from "./lib/api.js";
import { machineCpu, processCpu, processTreeCpu } from "./lib/cpu.js";
import { jsonClient } from "./lib/http.js";
import { startPostgres } from "../infra/services/postgres.js";
import { openFileLimit, percentiles, processMemory, Sample, type Percentiles } from "./lib/stats.js";
import { KEY_SPAN, startSubscriberThread, type SubscriberThread } from "./lib/subscribers.js";

const HELP = `Usage: npx tsx bench/realtime.ts [options]

  --subscribers <n,...>   WebSocket subscribers; a list runs one scenario per
                          value, each with a fresh API process (default 1000,5000)
  --products <n>          products the orders go to (default 20)
  --per-subscriber <n>    products each subscriber watches, one subscription (default 5)
  --rate <n,...>          orders per second, open loop; the floor publishes as many
                          events per second; a list runs every subscriber count at
                          every rate (default 50)
  --duration <s>          measured time per phase (default 20)
  --warmup <s>            unmeasured time at the start of each phase (default 3)
  --rounds <n>            pipeline + floor phases per scenario, interleaved (default 1)
  --topology <t>          single: one process runs api, relay and bridge (npm start);
                          split: api in one process, relay + bridge in another
                          (docker-compose runs all three apart); both: one after
                          the other (default single)
  --threads <n>           worker threads hosting the subscribers (default 2)
  --connect-concurrency <n>  subscriptions set up at once per thread (default 50)
  --pool <n>              the API's DATABASE_POOL_SIZE (default 20)
  --customers <n>         customers placing orders (default 50)
  --drain-timeout <s>     how long to wait for the last deliveries (default 60)
  --seed <n>              random seed for product choices (default 1)
  --phases <list>         pipeline,floor (default both, in that order)
  --cpu-prof              write a V8 CPU profile of the API process to
                          .cache/bench-profiles/ (the bench prints each phase's
                          offset; summarise with bench/profile-summary.ts)

DATABASE_URL, REDIS_URL, KAFKA_BROKERS (optional): servers to use instead of
throwaway ones (a fresh database, topics and consumer group are created on them).
With DATABASE_URL the server needs track_commit_timestamp=on for commit times;
without it, latency is measured from the event's occurredAt instead.`;

const { values: argv } = parseArgs({
  options: {
    subscribers: { type: "string", default: "1000,5000" },
    products: { type: "string", default: "20" },
    "per-subscriber": { type: "string", default: "5" },
    rate: { type: "string", default: "50" },
    duration: { type: "string", default: "20" },
    warmup: { type: "string", default: "3" },
    rounds: { type: "string", default: "1" },
    topology: { type: "string", default: "single" },
    threads: { type: "string", default: "2" },
    "connect-concurrency": { type: "string", default: "50" },
    pool: { type: "string", default: "20" },
    customers: { type: "string", default: "50" },
    "drain-timeout": { type: "string", default: "60" },
    seed: { type: "string", default: "1" },
    phases: { type: "string", default: "pipeline,floor" },
    "cpu-prof": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (argv.help) {
  console.log(HELP);
  process.exit(0);
}
const usage = (msg: string): never => {
  console.error(`${msg}\n\n${HELP}`);
  process.exit(2);
};
const num = (name: string, v: string | undefined, min: number) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) usage(`--${name} must be a number >= ${min}`);
  return n;
};
const topologies = argv.topology === "both" ? (["single", "split"] as const) : [argv.topology];
for (const t of topologies) if (t !== "single" && t !== "split") usage("--topology must be single, split or both");
const opts = {
  subscribers: (argv.subscribers ?? "").split(",").map((s) => Math.floor(num("subscribers", s.trim(), 1))),
  products: Math.floor(num("products", argv.products, 1)),
  perSubscriber: Math.floor(num("per-subscriber", argv["per-subscriber"], 1)),
  rates: (argv.rate ?? "").split(",").map((s) => num("rate", s.trim(), 0.1)),
  durationMs: num("duration", argv.duration, 0.1) * 1000,
  warmupMs: num("warmup", argv.warmup, 0) * 1000,
  rounds: Math.floor(num("rounds", argv.rounds, 1)),
  topologies: topologies as ("single" | "split")[],
  threads: Math.floor(num("threads", argv.threads, 1)),
  connectConcurrency: Math.floor(num("connect-concurrency", argv["connect-concurrency"], 1)),
  pool: Math.floor(num("pool", argv.pool, 1)),
  customers: Math.floor(num("customers", argv.customers, 1)),
  drainTimeoutMs: num("drain-timeout", argv["drain-timeout"], 1) * 1000,
  seed: Math.floor(num("seed", argv.seed, 0)),
  phases: new Set((argv.phases ?? "").split(",").map((s) => s.trim())),
  cpuProf: argv["cpu-prof"],
};
if (![...opts.phases].every((p) => p === "pipeline" || p === "floor") || !opts.phases.size) usage("--phases: pipeline, floor or both");
if (opts.perSubscriber > opts.products) usage("--per-subscriber cannot exceed --products");

const root = fileURLToPath(new URL("..", import.meta.url));
const log = (line: string) => console.error(`[realtime] ${line}`);
const runId = randomBytes(4).toString("hex");
const BIG_STOCK = 1_000_000_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Wall-clock milliseconds with sub-millisecond resolution (Date.now() has whole ms). */
const wall = () => performance.timeOrigin + performance.now();
const MiB = 2 ** 20;

/** mulberry32: a small seeded PRNG, so runs pick the same products. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// --- resources, released in reverse order even on failure -------------------

const cleanups: (() => Promise<unknown>)[] = [];
async function cleanup() {
  while (cleanups.length) {
    const fn = cleanups.pop()!;
    await fn().catch((err) => log(`cleanup: ${err instanceof Error ? err.message : String(err)}`));
  }
}
/** Runs fn now-or-never at cleanup; returns a function that runs it early (once). */
function deferred(fn: () => Promise<unknown>): () => Promise<void> {
  let done = false;
  const once = async () => {
    if (done) return;
    done = true;
    await fn();
  };
  cleanups.push(once);
  return once;
}

// --- CPU of every party ------------------------------------------------------

interface Pids {
  api: number;
  pipeline?: number;
  pg?: number;
  kafka?: number;
  redis?: number;
}
interface CpuMark {
  at: number;
  values: Record<keyof Pids | "bench", number>;
  machine: { busy: number; total: number };
}
type CpuShare = Record<keyof Pids | "bench" | "other", number>;
function cpuMark(p: Pids): CpuMark {
  const u = process.cpuUsage();
  return {
    at: performance.now(),
    values: {
      api: processCpu(p.api),
      pipeline: p.pipeline ? processCpu(p.pipeline) : NaN,
      pg: p.pg ? processTreeCpu(p.pg) : NaN,
      kafka: p.kafka ? processCpu(p.kafka) : NaN,
      redis: p.redis ? processCpu(p.redis) : NaN,
      bench: (u.user + u.system) / 1e6,
    },
    machine: machineCpu(),
  };
}
/** % of one core per party; other = the machine's busy time not accounted to any of them. */
function cpuShare(a: CpuMark, b: CpuMark): CpuShare {
  const secs = (b.at - a.at) / 1000;
  const share = {} as CpuShare;
  let ours = 0;
  for (const k of Object.keys(a.values) as (keyof CpuMark["values"])[]) {
    share[k] = (100 * (b.values[k] - a.values[k])) / secs;
    if (Number.isFinite(share[k])) ours += share[k];
  }
  const m = b.machine.total - a.machine.total;
  const machinePct = m > 0 ? ((b.machine.busy - a.machine.busy) / m) * os.cpus().length * 100 : NaN;
  share.other = Math.max(0, machinePct - ours);
  return share;
}

// --- results -------------------------------------------------------------------

interface PhaseResult {
  kind: "pipeline" | "floor";
  round: number;
  windowMs: number;
  /** From the window's start to the last delivery of an event emitted in it: how long delivering them took. */
  deliveryMs: number;
  /** Events emitted in the measured window (orders answered with success / events published). */
  events: number;
  /** Deliveries of those events to subscribers. */
  deliveries: number;
  /** Deliveries expected for them (each event x the subscribers watching its product). */
  expectedDeliveries: number;
  /** Per delivery: reference (commit or publish) -> arrival at the subscriber. */
  latency: Percentiles;
  /** Per delivery: occurredAt (the order transaction's now(), whole ms) -> arrival. */
  fromOccurredAt?: Percentiles;
  /** Per delivery: placeOrder answer received -> arrival (negative: the event beat the answer). */
  fromAnswer?: Percentiles;
  /** Per event: reference -> seen on Redis by a tap in this process. */
  toRedis: Percentiles;
  /** Per delivery: seen on Redis -> arrival at the subscriber. */
  redisToClient: Percentiles;
  /** Per event: commit -> the relay's transaction start (outbox_event.published_at, whole ms). */
  toRelay?: Percentiles;
  /** Per event: relay transaction start -> the message's Kafka CreateTime (set by the relay's producer; whole ms). */
  relayToProduce?: Percentiles;
  /** Per event: CreateTime -> a Kafka consumer in this process has it (produce + fetch; whole ms at the start). */
  produceToConsumer?: Percentiles;
  /** Per event: that consumer has it -> on Redis (roughly the bridge's own time: it fetched the same batch). */
  consumerToRedis?: Percentiles;
  /** Per order: placeOrder round trip. */
  orderLatency?: Percentiles;
  orderErrors: number;
  orderErrorSamples: string[];
  /** Last event emitted (answered) -> every subscriber has every event. */
  drainMs: number;
  drained: boolean;
  cpu: CpuShare;
  /** Event-loop utilisation of the subscriber threads and of the order/publish thread (0..1). */
  threadElu: number[];
  mainElu: number;
  threadDelayP99: number[];
  unknownDeliveries: number;
}

interface ScenarioResult {
  subscribers: number;
  rate: number;
  topology: "single" | "split";
  connectMs: number;
  connected: number;
  connectFailures: string[];
  watchers: number[];
  apiRss: { before: number; connected: number; end: number; peak: number };
  /** The API's live heap after a full GC (memory-probe.ts): before connecting, connected, all disconnected again. */
  apiHeap: { before: NodeJS.MemoryUsage; connected: NodeJS.MemoryUsage; disconnected: NodeJS.MemoryUsage };
  benchRss: { before: number; connected: number };
  phases: PhaseResult[];
  check: {
    expected: number;
    received: number;
    missing: number;
    notIncreasing: number;
    noSnapshot: number;
    resyncs: number;
    errors: number;
    unexpectedCloses: number;
    errorSamples: string[];
  };
  apiLogTail?: string;
}

async function main(): Promise<boolean> {
  const startLoad = os.loadavg();
  const clockSkewStart = Date.now() - wall();
  const fdLimit = openFileLimit();
  const maxSubs = Math.max(...opts.subscribers);
  log(`open files limit (ulimit -n) of this process: soft ${fdLimit.soft}, hard ${fdLimit.hard}; children inherit it`);
  if (fdLimit.soft < maxSubs + 500) {
    throw new Error(`ulimit -n is ${fdLimit.soft}: too low for ${maxSubs} WebSockets (each is one file descriptor in this process and one in the API); raise it (ulimit -n ${maxSubs * 2 + 1000}) and rerun`);
  }

  // --- services ---------------------------------------------------------------
  const given = (name: string, variable: string): StartedService | undefined => {
    const v = process.env[variable];
    if (!v) return undefined;
    log(`${name}: using ${variable} from the environment`);
    return { url: v, describe: `${variable} from the environment`, stop: async () => {} };
  };
  const pidOf = (s: StartedService) => Number(/pid (\d+)/.exec(s.describe)?.[1]) || undefined;
  log("starting PostgreSQL, Redis and Kafka (unless given)");
  const started = await Promise.allSettled([
    (async () => given("postgres", "DATABASE_URL") ?? (await startPostgres({ log, settings: { track_commit_timestamp: "on" } })))(),
    (async () => given("redis", "REDIS_URL") ?? (await startRedis({ log })))(),
    (async () => given("kafka", "KAFKA_BROKERS") ?? (await startKafka({ log })))(),
  ]);
  for (const s of started) if (s.status === "fulfilled") cleanups.push(() => s.value.stop());
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const [pgSvc, redisSvc, kafkaSvc] = started.map((s) => (s as PromiseFulfilledResult<StartedService>).value) as [StartedService, StartedService, StartedService];
  for (const s of [pgSvc, redisSvc, kafkaSvc]) log(s.describe);
  const basePids = { pg: pidOf(pgSvc), redis: pidOf(redisSvc), kafka: pidOf(kafkaSvc) };

  const dbName = `stockwire_realtime_${runId}`;
  await withClient(pgSvc.url, (c) => c.query(`CREATE DATABASE "${dbName}"`));
  if (process.env.DATABASE_URL) cleanups.push(() => withClient(pgSvc.url, (c) => c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`)));
  const url = databaseUrl(pgSvc.url, dbName);
  {
    const db = await openDatabase({ kind: "postgres", url, poolSize: 2 });
    try {
      const applied = await db.migrate();
      log(`database ${dbName}: migrated (${applied.length} migrations)`);
    } finally {
      await db.close();
    }
  }
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  cleanups.push(() => pool.end());
  const commitTimestamps = (await pool.query<{ v: string }>("SELECT current_setting('track_commit_timestamp') AS v")).rows[0]!.v === "on";
  if (!commitTimestamps) log("track_commit_timestamp is off on this server: latency is measured from occurredAt (the transaction's now(), whole ms)");

  // --- seed -------------------------------------------------------------------
  await pool.query(
    `INSERT INTO product (sku, name, price_cents, currency, stock)
     SELECT 'LIVE-' || lpad(g::text, 4, '0'), 'Live product ' || g, 1000 + g, 'EUR', $2 FROM generate_series(1, $1::int) g`,
    [opts.products, BIG_STOCK],
  );
  await pool.query(
    `INSERT INTO customer (email, name) SELECT 'live-' || g || '@example.test', 'Live customer ' || g FROM generate_series(1, $1::int) g`,
    [opts.customers],
  );
  await pool.query("VACUUM ANALYZE");
  const products = (await pool.query<{ id: string; sku: string }>("SELECT id, sku FROM product ORDER BY sku")).rows.map((p) => ({
    ...p,
    gid: toGlobalId("Product", p.id),
  }));
  const productIndex = new Map(products.map((p, i) => [p.id, i]));
  const jwtSecret = randomBytes(32).toString("hex");
  const customers = await Promise.all(
    (await pool.query<{ id: string }>("SELECT id FROM customer")).rows.map(
      async (c) => `Bearer ${await signToken({ role: "customer", sub: toGlobalId("Customer", c.id) }, jwtSecret)}`,
    ),
  );
  log(`seeded ${products.length} products (stock ${BIG_STOCK}), ${customers.length} customers`);
  const versionsInDb = async () => {
    const { rows } = await pool.query<{ id: string; version: number }>("SELECT id, version FROM product");
    const v = new Array<number>(products.length).fill(0);
    for (const r of rows) v[productIndex.get(r.id)!] = r.version;
    return v;
  };

  // A tap on Redis: when each event reached pub/sub, to split the latency in two.
  const tap = new Redis(redisSvc.url, { maxRetriesPerRequest: null });
  tap.on("error", () => {});
  cleanups.push(async () => tap.disconnect());
  const tapTimes = new Map<number, number>();
  const gidIndex = new Map(products.map((p, i) => [p.gid, i]));
  tap.on("pmessage", (_pattern: string, _channel: string, message: string) => {
    const t = wall();
    try {
      const e = JSON.parse(message) as StockChangedEvent;
      const p = gidIndex.get(e.productId);
      if (p === undefined) return;
      const key = p * KEY_SPAN + e.version;
      if (!tapTimes.has(key)) tapTimes.set(key, t);
    } catch {
      // not ours
    }
  });
  await tap.psubscribe(channelName("stock", "*"));
  const publisher = new Redis(redisSvc.url, { maxRetriesPerRequest: null });
  publisher.on("error", () => {});
  cleanups.push(async () => publisher.disconnect());

  // --- scenarios ----------------------------------------------------------------
  const results: ScenarioResult[] = [];
  let scenarioNo = 0;
  for (const topology of opts.topologies) {
    for (const n of opts.subscribers) {
      for (const rate of opts.rates) {
        scenarioNo++;
        results.push(await scenario(n, rate, topology, scenarioNo));
      }
    }
  }

  async function scenario(nSubs: number, rate: number, topology: "single" | "split", no: number): Promise<ScenarioResult> {
    log(`=== ${nSubs} subscribers, ${rate} orders/s, topology ${topology} ===`);
    const random = rng(opts.seed * 1000 + no);
    const streamEnv = {
      REDIS_URL: redisSvc.url,
      KAFKA_BROKERS: kafkaSvc.url,
      KAFKA_TOPIC_STOCK: `bench.${runId}.${no}.stock-changed`,
      KAFKA_TOPIC_ORDER_STATUS: `bench.${runId}.${no}.order-status-changed`,
      KAFKA_BRIDGE_GROUP: `bench.${runId}.${no}.bridge`,
    };
    const processes: ApiProcess[] = [];
    let stopTapLater: (() => Promise<void>) | undefined;
    const stopProcesses = deferred(async () => {
      await Promise.all(processes.map((p) => p.stop()));
    });
    const cpuProfDir = opts.cpuProf ? path.join(root, ".cache", "bench-profiles") : undefined;
    if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
    const apiStartedAt = performance.now();
    const profileAt = (what: string) => cpuProfDir && log(`${what}: API profile offset ~${((performance.now() - apiStartedAt) / 1000).toFixed(1)} s`);
    const api = await startApi({
      databaseUrl: url,
      poolSize: opts.pool,
      jwtSecret,
      cpuProfDir,
      memoryProbe: true,
      env: { ...streamEnv, STOCKWIRE_ROLES: topology === "single" ? "api,relay,bridge" : "api" },
    });
    processes.push(api);
    let pipelineProc: ApiProcess | undefined;
    if (topology === "split") {
      pipelineProc = await startApi({
        databaseUrl: url,
        poolSize: 5,
        jwtSecret,
        env: { ...streamEnv, STOCKWIRE_ROLES: "relay,bridge" },
        readyLine: /^stockwire: bridge/m,
      });
      processes.push(pipelineProc);
    }
    log(`API ${api.url} (pid ${api.pid}, roles ${topology === "single" ? "api,relay,bridge" : "api"})` +
      (pipelineProc ? `; relay + bridge pid ${pipelineProc.pid}` : ""));
    const pids: Pids = { api: api.pid, pipeline: pipelineProc?.pid, ...basePids };
    // A crash, or a signal the benchmark did not send: say so rather than report broken sockets.
    const alive = () => {
      for (const p of processes) {
        const signalled = /^stockwire: (SIG\w+): stopping/m.exec(p.logTail())?.[1];
        if (p.exitedAs() || signalled) {
          throw new Error(`a Stockwire process (pid ${p.pid}) stopped during the benchmark ` +
            `(${signalled ? `${signalled} from outside the benchmark` : p.exitedAs()}); its log:\n${p.logTail()}`);
        }
      }
    };
    const http = jsonClient(api.url, 64, { retryReusedSocketReset: true });
    cleanups.push(async () => http.close());

    // --- orders ---------------------------------------------------------------
    let seq = 0;
    const PLACE_ORDER = `mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) { __typename ... on PlaceOrderSuccess { order { id } } ... on Error { message } }
}`;
    const placeOrder = async (p: number): Promise<{ orderGid?: string; error?: string; sentAt: number; answeredAt: number }> => {
      const sentAt = wall();
      const body = JSON.stringify({
        query: PLACE_ORDER,
        variables: { input: { idempotencyKey: `live-${runId}-${no}-${++seq}`, items: [{ productId: products[p]!.gid, quantity: 1 }] } },
      });
      try {
        const { status, json } = await http.post("/graphql", body, { authorization: customers[seq % customers.length]! });
        const answeredAt = wall();
        const res = json as { data?: { placeOrder?: { __typename: string; order?: { id: string }; message?: string } }; errors?: { message: string }[] };
        const r = res.data?.placeOrder;
        if (r?.__typename === "PlaceOrderSuccess" && r.order) return { orderGid: r.order.id, sentAt, answeredAt };
        return { error: `HTTP ${status}: ${res.errors?.[0]?.message ?? `${r?.__typename}: ${r?.message ?? ""}`}`, sentAt, answeredAt };
      } catch (err) {
        return { error: err instanceof Error ? err.message : String(err), sentAt, answeredAt: wall() };
      }
    };

    /** Open loop: event i is due at start + i / rate, whether or not earlier ones finished. */
    const openLoop = async (count: number, emit: (i: number) => void, onMeasureStart: () => void, measureFrom: number) => {
      const start = performance.now();
      for (let i = 0; i < count; i++) {
        if (i === measureFrom) onMeasureStart();
        const wait = start + (i * 1000) / rate - performance.now();
        if (wait >= 1) await sleep(wait);
        emit(i);
      }
      // The window is [first measured due time, last due time + 1 period).
      const endDue = start + (count * 1000) / rate;
      const rest = endDue - performance.now();
      if (rest >= 1) await sleep(rest);
    };

    // Warm-up without subscribers: JIT, pools, Kafka topics and the bridge's group.
    {
      const count = Math.max(20, Math.round(rate * 3));
      const pending: Promise<unknown>[] = [];
      await openLoop(count, () => pending.push(placeOrder(Math.floor(random() * products.length))), () => {}, 0);
      const warm = await Promise.all(pending) as { error?: string }[];
      const bad = warm.filter((w) => w.error);
      if (bad.length) log(`warm-up: ${bad.length} of ${warm.length} orders failed, e.g. ${bad[0]!.error}`);
      // Until the warm-up's events made it through the pipeline to Redis.
      const want = await versionsInDb();
      const t0 = performance.now();
      while (performance.now() - t0 < 60_000 && !want.every((v, p) => v === 0 || tapTimes.has(p * KEY_SPAN + v))) await sleep(100);
      if (!want.every((v, p) => v === 0 || tapTimes.has(p * KEY_SPAN + v))) throw new Error("the warm-up orders' events never reached Redis: is the relay/bridge running?");
      log(`warm-up: ${warm.length} orders, their events reached Redis`);
      alive();
    }

    // A second consumer of the stock topic (own group, the bridge's fetch
    // settings): when each message was produced (CreateTime) and fetched.
    const kafkaTimes = new Map<number, { created: number; received: number }>();
    {
      const kafka = new Kafka({ clientId: `bench-tap-${runId}`, brokers: kafkaSvc.url.split(","), logLevel: logLevel.NOTHING });
      const consumer = kafka.consumer({ groupId: `bench.${runId}.${no}.tap`, maxWaitTimeInMs: 100 });
      const stopTap = deferred(() => consumer.disconnect());
      await consumer.connect();
      await consumer.subscribe({ topics: [streamEnv.KAFKA_TOPIC_STOCK], fromBeginning: true });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          const t = wall();
          for (const m of batch.messages) {
            try {
              const e = JSON.parse(m.value?.toString() ?? "") as StockChangedEvent;
              const p = gidIndex.get(e.productId);
              if (p !== undefined) kafkaTimes.set(p * KEY_SPAN + e.version, { created: Number(m.timestamp), received: t });
            } catch {
              // not ours
            }
          }
        },
      });
      stopTapLater = stopTap;
    }

    // --- subscribers ------------------------------------------------------------
    const assignments: number[][] = [];
    const watchers = new Array<number>(products.length).fill(0);
    for (let s = 0; s < nSubs; s++) {
      const pick = products.map((_, i) => i);
      for (let j = 0; j < opts.perSubscriber; j++) {
        const k = j + Math.floor(random() * (pick.length - j));
        [pick[j], pick[k]] = [pick[k]!, pick[j]!];
      }
      const mine = pick.slice(0, opts.perSubscriber).sort((a, b) => a - b);
      mine.forEach((p) => watchers[p]!++);
      assignments.push(mine);
    }
    await sleep(1000);
    const apiHeapBefore = await api.memory();
    const apiRssBefore = processMemory(api.pid).rss;
    const benchRssBefore = process.memoryUsage.rss();
    const threadCount = Math.min(opts.threads, nSubs);
    const threads: SubscriberThread[] = [];
    const closeThreads = deferred(async () => {
      await Promise.all(threads.map((t) => t.close()));
    });
    for (let t = 0; t < threadCount; t++) {
      threads.push(
        await startSubscriberThread({
          url: `${api.url.replace(/^http/, "ws")}/graphql`,
          productGids: products.map((p) => p.gid),
          subscribers: assignments.filter((_, s) => s % threadCount === t),
          connectConcurrency: opts.connectConcurrency,
        }),
      );
    }
    log(`connecting ${nSubs} subscribers (${threadCount} threads, ${opts.perSubscriber} of ${products.length} products each)`);
    const connects = await Promise.all(threads.map((t) => t.connect()));
    const connected = connects.reduce((n, c) => n + c.connected, 0);
    const connectMs = Math.max(...connects.map((c) => c.ms));
    const connectFailures = connects.flatMap((c) => c.firstErrors);
    log(`connected ${connected} of ${nSubs} in ${(connectMs / 1000).toFixed(1)} s` + (connectFailures.length ? `; failures e.g. ${connectFailures[0]}` : ""));
    alive();
    await sleep(2000);
    const apiRssConnected = processMemory(api.pid).rss;
    const benchRssConnected = process.memoryUsage.rss();
    const apiHeapConnected = await api.memory();
    log(`API RSS ${(apiRssBefore / MiB).toFixed(0)} -> ${(apiRssConnected / MiB).toFixed(0)} MiB = ${((apiRssConnected - apiRssBefore) / connected / 1024).toFixed(1)} KiB per connection; ` +
      `heap after GC ${(apiHeapBefore.heapUsed / MiB).toFixed(1)} -> ${(apiHeapConnected.heapUsed / MiB).toFixed(1)} MiB = ${((apiHeapConnected.heapUsed - apiHeapBefore.heapUsed) / connected / 1024).toFixed(1)} KiB per connection`);

    // --- phases -----------------------------------------------------------------
    const phases: PhaseResult[] = [];
    const count = Math.round((rate * (opts.warmupMs + opts.durationMs)) / 1000);
    const measureFrom = Math.round((rate * opts.warmupMs) / 1000);

    const window = () => {
      let a: CpuMark | undefined;
      let eluA = performance.eventLoopUtilization();
      let startedAt = 0;
      return {
        get startedAt() {
          return startedAt;
        },
        start() {
          startedAt = wall();
          a = cpuMark(pids);
          eluA = performance.eventLoopUtilization();
          void Promise.all(threads.map((t) => t.stats()));
        },
        async end() {
          const b = cpuMark(pids);
          const mainElu = performance.eventLoopUtilization(performance.eventLoopUtilization(), eluA).utilization;
          const stats = await Promise.all(threads.map((t) => t.stats()));
          return { cpu: cpuShare(a!, b), windowMs: b.at - a!.at, mainElu, threadElu: stats.map((s) => s.elu), threadDelayP99: stats.map((s) => s.delayP99) };
        },
      };
    };

    /** Every thread until each subscriber has each product at `versions`; the latest completion time. */
    const drain = async (versions: number[]) => {
      const waiting = Promise.all(threads.map((t) => t.awaitVersions(versions, opts.drainTimeoutMs)));
      let done = false;
      void waiting.finally(() => (done = true));
      while (!done) {
        alive();
        await Promise.race([waiting, sleep(500)]);
      }
      const replies = await waiting;
      return { at: Math.max(...replies.map((r) => r.at)), complete: replies.every((r) => r.complete), behind: replies.reduce((n, r) => n + r.behind, 0) };
    };
    const collect = async () => {
      const parts = await Promise.all(threads.map((t) => t.collect()));
      return parts;
    };

    let lastOutboxId = (await pool.query<{ id: string | null }>("SELECT max(id)::text AS id FROM outbox_event")).rows[0]!.id ?? "0";

    for (let round = 1; round <= opts.rounds; round++) {
      // Pipeline: placeOrder -> commit -> outbox relay -> Kafka -> bridge -> Redis -> API -> subscribers.
      if (opts.phases.has("pipeline")) {
        log(`round ${round}: pipeline, ${rate} orders/s for ${(opts.warmupMs + opts.durationMs) / 1000} s (${opts.warmupMs / 1000} s unmeasured)`);
        await collect(); // drop anything left over
        const w = window();
        const orders: (Awaited<ReturnType<typeof placeOrder>> & { i: number; p: number })[] = [];
        const pending: Promise<void>[] = [];
        await openLoop(
          count,
          (i) => {
            const p = Math.floor(random() * products.length);
            pending.push(placeOrder(p).then((r) => void orders.push({ ...r, i, p })));
          },
          () => {
            w.start();
            profileAt("pipeline measured window starts");
          },
          measureFrom,
        );
        profileAt("pipeline measured window ends");
        const ww = await w.end();
        await Promise.all(pending);
        const lastAnswer = Math.max(...orders.map((o) => o.answeredAt));
        alive();
        const final = await versionsInDb();
        const d = await drain(final);
        log(`  ${orders.filter((o) => o.orderGid).length} orders placed; ${d.complete ? `all delivered ${(d.at - lastAnswer).toFixed(0)} ms after the last answer` : `${d.behind} (subscriber, product) pairs still behind after ${opts.drainTimeoutMs / 1000} s`}`);
        const parts = await collect();

        // Reference times of this phase's events, from the database.
        const { rows } = await pool.query<{ id: string; product_id: string; version: number; order_id: string; commit_ms: number | null; occurred_ms: number; published_ms: number | null }>(
          `SELECT e.id::text, e.payload->>'productId' AS product_id, (e.payload->>'version')::int AS version, e.payload->>'orderId' AS order_id,
                  ${commitTimestamps ? "extract(epoch FROM pg_xact_commit_timestamp(o.xmin))::float8 * 1000" : "NULL::float8"} AS commit_ms,
                  extract(epoch FROM (e.payload->>'occurredAt')::timestamptz)::float8 * 1000 AS occurred_ms,
                  extract(epoch FROM e.published_at)::float8 * 1000 AS published_ms
           FROM outbox_event e JOIN "order" o ON o.id = (e.payload->>'orderId')::uuid
           WHERE e.id > $1::bigint ORDER BY e.id`,
          [lastOutboxId],
        );
        if (rows.length) lastOutboxId = rows[rows.length - 1]!.id;
        const byOrder = new Map(orders.filter((o) => o.orderGid).map((o) => [o.orderGid!, o]));
        const refs = new Map<number, { ref: number; occurred: number; published: number | null; answered: number; measured: boolean }>();
        for (const r of rows) {
          const o = byOrder.get(toGlobalId("Order", r.order_id));
          const p = productIndex.get(r.product_id);
          if (!o || p === undefined) continue;
          refs.set(p * KEY_SPAN + r.version, {
            ref: r.commit_ms ?? r.occurred_ms,
            occurred: r.occurred_ms,
            published: r.published_ms,
            answered: o.answeredAt,
            measured: o.i >= measureFrom,
          });
        }
        const lat = new Sample();
        const fromOcc = new Sample();
        const fromAns = new Sample();
        const redisToClient = new Sample();
        let unknown = 0;
        let lastDelivered = 0;
        for (const { keys, times } of parts) {
          for (let i = 0; i < keys.length; i++) {
            const ref = refs.get(keys[i]!);
            if (!ref) {
              unknown++;
              continue;
            }
            if (!ref.measured) continue;
            const t = times[i]!;
            if (t > lastDelivered) lastDelivered = t;
            lat.push(t - ref.ref);
            fromOcc.push(t - ref.occurred);
            fromAns.push(t - ref.answered);
            const tt = tapTimes.get(keys[i]!);
            if (tt !== undefined) redisToClient.push(t - tt);
          }
        }
        const toRedis = new Sample();
        const toRelay = new Sample();
        const relayToProduce = new Sample();
        const produceToConsumer = new Sample();
        const consumerToRedis = new Sample();
        let events = 0;
        let expectedDeliveries = 0;
        for (const [key, ref] of refs) {
          if (!ref.measured) continue;
          events++;
          expectedDeliveries += watchers[Math.floor(key / KEY_SPAN)]!;
          const tt = tapTimes.get(key);
          if (tt !== undefined) toRedis.push(tt - ref.ref);
          if (ref.published !== null) toRelay.push(ref.published - ref.ref);
          const k = kafkaTimes.get(key);
          if (k) {
            if (ref.published !== null) relayToProduce.push(k.created - ref.published);
            produceToConsumer.push(k.received - k.created);
            if (tt !== undefined) consumerToRedis.push(tt - k.received);
          }
        }
        const measuredOrders = orders.filter((o) => o.i >= measureFrom);
        const errors = orders.filter((o) => o.error);
        phases.push({
          kind: "pipeline",
          round,
          windowMs: ww.windowMs,
          deliveryMs: Math.max(ww.windowMs, lastDelivered - w.startedAt),
          events,
          deliveries: lat.length,
          expectedDeliveries,
          latency: percentiles(lat.values()),
          fromOccurredAt: percentiles(fromOcc.values()),
          fromAnswer: percentiles(fromAns.values()),
          toRedis: percentiles(toRedis.values()),
          redisToClient: percentiles(redisToClient.values()),
          toRelay: percentiles(toRelay.values()),
          relayToProduce: percentiles(relayToProduce.values()),
          produceToConsumer: percentiles(produceToConsumer.values()),
          consumerToRedis: percentiles(consumerToRedis.values()),
          orderLatency: percentiles(measuredOrders.map((o) => o.answeredAt - o.sentAt)),
          orderErrors: errors.length,
          orderErrorSamples: [...new Set(errors.map((e) => e.error!))].slice(0, 3),
          drainMs: d.at - lastAnswer,
          drained: d.complete,
          cpu: ww.cpu,
          threadElu: ww.threadElu,
          mainElu: ww.mainElu,
          threadDelayP99: ww.threadDelayP99,
          unknownDeliveries: unknown,
        });
        logPhase(phases.at(-1)!);
      }

      // Floor: PUBLISH to the same channels, payload as the bridge publishes it; no database, no Kafka.
      if (opts.phases.has("floor")) {
        log(`round ${round}: floor, ${rate} Redis PUBLISH/s for ${(opts.warmupMs + opts.durationMs) / 1000} s`);
        await collect();
        const versions = await versionsInDb();
        const stocks = (await pool.query<{ id: string; stock: number }>("SELECT id, stock FROM product")).rows;
        const stock = new Array<number>(products.length).fill(0);
        for (const r of stocks) stock[productIndex.get(r.id)!] = r.stock;
        const refs = new Map<number, { ref: number; measured: boolean }>();
        const w = window();
        let lastPublish = 0;
        const pending: Promise<unknown>[] = [];
        await openLoop(
          count,
          (i) => {
            const p = Math.floor(random() * products.length);
            const version = ++versions[p]!;
            const event: StockChangedEvent = {
              eventId: `floor-${runId}-${no}-${round}-${i}`,
              productId: products[p]!.gid,
              sku: products[p]!.sku,
              stock: --stock[p]!,
              version,
              delta: -1,
              reason: "ORDER_PLACED",
              orderId: toGlobalId("Order", randomUUID()),
              occurredAt: new Date().toISOString(),
            };
            const payload = JSON.stringify(event);
            const t = wall();
            refs.set(p * KEY_SPAN + version, { ref: t, measured: i >= measureFrom });
            lastPublish = t;
            pending.push(publisher.publish(channelName("stock", idOfType("Product", event.productId)!), payload));
          },
          () => {
            w.start();
            profileAt("floor measured window starts");
          },
          measureFrom,
        );
        profileAt("floor measured window ends");
        const ww = await w.end();
        await Promise.all(pending);
        alive();
        const d = await drain(versions);
        log(`  ${count} events published; ${d.complete ? `all delivered ${(d.at - lastPublish).toFixed(0)} ms after the last publish` : `${d.behind} (subscriber, product) pairs still behind after ${opts.drainTimeoutMs / 1000} s`}`);
        const parts = await collect();
        // The next round's orders must carry versions above these, or subscribers drop them as stale.
        await pool.query(`UPDATE product p SET version = v.version FROM unnest($1::uuid[], $2::int[]) AS v(id, version) WHERE p.id = v.id`, [
          products.map((p) => p.id),
          versions,
        ]);
        const lat = new Sample();
        const redisToClient = new Sample();
        let unknown = 0;
        let lastDelivered = 0;
        for (const { keys, times } of parts) {
          for (let i = 0; i < keys.length; i++) {
            const ref = refs.get(keys[i]!);
            if (!ref) {
              unknown++;
              continue;
            }
            if (!ref.measured) continue;
            if (times[i]! > lastDelivered) lastDelivered = times[i]!;
            lat.push(times[i]! - ref.ref);
            const tt = tapTimes.get(keys[i]!);
            if (tt !== undefined) redisToClient.push(times[i]! - tt);
          }
        }
        const toRedis = new Sample();
        let events = 0;
        let expectedDeliveries = 0;
        for (const [key, ref] of refs) {
          if (!ref.measured) continue;
          events++;
          expectedDeliveries += watchers[Math.floor(key / KEY_SPAN)]!;
          const tt = tapTimes.get(key);
          if (tt !== undefined) toRedis.push(tt - ref.ref);
        }
        phases.push({
          kind: "floor",
          round,
          windowMs: ww.windowMs,
          deliveryMs: Math.max(ww.windowMs, lastDelivered - w.startedAt),
          events,
          deliveries: lat.length,
          expectedDeliveries,
          latency: percentiles(lat.values()),
          toRedis: percentiles(toRedis.values()),
          redisToClient: percentiles(redisToClient.values()),
          orderErrors: 0,
          orderErrorSamples: [],
          drainMs: d.at - lastPublish,
          drained: d.complete,
          cpu: ww.cpu,
          threadElu: ww.threadElu,
          mainElu: ww.mainElu,
          threadDelayP99: ww.threadDelayP99,
          unknownDeliveries: unknown,
        });
        logPhase(phases.at(-1)!);
      }
    }

    // --- checks, then tear down -----------------------------------------------
    const finalVersions = await versionsInDb();
    const checks = await Promise.all(threads.map((t) => t.check(finalVersions)));
    const sum = (f: (c: (typeof checks)[number]) => number) => checks.reduce((n, c) => n + f(c), 0);
    const check = {
      expected: sum((c) => c.expected),
      received: sum((c) => c.received),
      missing: sum((c) => c.missing),
      notIncreasing: sum((c) => c.notIncreasing),
      noSnapshot: sum((c) => c.noSnapshot),
      resyncs: sum((c) => c.resyncs),
      errors: sum((c) => c.errors),
      unexpectedCloses: sum((c) => c.unexpectedCloses),
      errorSamples: [...new Set(checks.flatMap((c) => c.errorSamples))].slice(0, 5),
    };
    const apiMemEnd = processMemory(api.pid);
    log(`checks: ${check.received} of ${check.expected} deliveries, ${check.missing} missing, ${check.notIncreasing} not increasing, ${check.errors} errors, ${check.unexpectedCloses} unexpected closes`);
    await closeThreads();
    await sleep(2000);
    const apiHeapDisconnected = await api.memory();
    log(`API heap after GC with everyone disconnected again: ${(apiHeapDisconnected.heapUsed / MiB).toFixed(1)} MiB`);
    await stopTapLater?.();
    const apiLogTail = check.errors || check.missing ? api.logTail() : undefined;
    await stopProcesses();
    return {
      subscribers: nSubs,
      rate,
      topology,
      connectMs,
      connected,
      connectFailures,
      watchers,
      apiRss: { before: apiRssBefore, connected: apiRssConnected, end: apiMemEnd.rss, peak: apiMemEnd.peak },
      benchRss: { before: benchRssBefore, connected: benchRssConnected },
      apiHeap: { before: apiHeapBefore, connected: apiHeapConnected, disconnected: apiHeapDisconnected },
      phases,
      check,
      apiLogTail,
    };
  }

  function logPhase(r: PhaseResult) {
    log(`  ${r.kind}: ${(r.events / (r.windowMs / 1000)).toFixed(1)} events/s, ${(r.expectedDeliveries / (r.windowMs / 1000)).toFixed(0)} deliveries/s offered, ${(r.deliveries / (r.deliveryMs / 1000)).toFixed(0)} delivered/s ` +
      `(${r.deliveries}/${r.expectedDeliveries}); latency p50 ${r.latency.p50.toFixed(1)} p95 ${r.latency.p95.toFixed(1)} p99 ${r.latency.p99.toFixed(1)} max ${r.latency.max.toFixed(1)} ms; ` +
      `to Redis p50 ${r.toRedis.p50.toFixed(1)} p99 ${r.toRedis.p99.toFixed(1)}; Redis->client p50 ${r.redisToClient.p50.toFixed(1)} p99 ${r.redisToClient.p99.toFixed(1)}; ` +
      `CPU api ${r.cpu.api.toFixed(0)}%${Number.isFinite(r.cpu.pipeline) ? ` relay+bridge ${r.cpu.pipeline.toFixed(0)}%` : ""} pg ${r.cpu.pg.toFixed(0)}% kafka ${r.cpu.kafka.toFixed(0)}% redis ${r.cpu.redis.toFixed(0)}% bench ${r.cpu.bench.toFixed(0)}% other ${r.cpu.other.toFixed(0)}%; ` +
      `ELU subscriber threads ${r.threadElu.map((e) => e.toFixed(2)).join("/")}, main ${r.mainElu.toFixed(2)}`);
    if (r.kind === "pipeline") {
      const q = (x: Percentiles | undefined) => (x ? `${x.p50.toFixed(0)}/${x.p99.toFixed(0)}` : "-");
      log(`  stages p50/p99 ms: commit->relay ${q(r.toRelay)}, relay->produced ${q(r.relayToProduce)}, produced->fetched ${q(r.produceToConsumer)}, ` +
        `fetched->Redis ${q(r.consumerToRedis)}, Redis->client ${q(r.redisToClient)}; placeOrder ${q(r.orderLatency)}`);
    }
  }

  // --- report -------------------------------------------------------------------
  const endLoad = os.loadavg();
  const clockSkewEnd = Date.now() - wall();
  const pgVersion = (await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
  const out: string[] = [];
  const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "-");
  const pct = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? `${x.toFixed(0)}%` : "-");
  const int = (x: number) => Math.round(x).toLocaleString("en-US");
  out.push(`### Run ${new Date().toISOString()} (${runId})`, "");
  out.push(`- machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "?"}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}; ` +
    `load average ${startLoad.map((l) => l.toFixed(2)).join(" ")} at start, ${endLoad.map((l) => l.toFixed(2)).join(" ")} at end; open files limit ${fdLimit.soft}`);
  out.push(`- code: ${codeVersion()}`);
  out.push(`- Node.js ${process.version}; PostgreSQL ${pgVersion.split(" ")[0]} (${process.env.DATABASE_URL ? "DATABASE_URL" : "throwaway, default settings + track_commit_timestamp=on"}); ` +
    `${process.env.REDIS_URL ? "Redis from REDIS_URL" : redisSvc.describe.split(" (")[0]}; Kafka ${process.env.KAFKA_BROKERS ? "from KAFKA_BROKERS" : `${kafkaVersion()} KRaft, one broker`}`);
  out.push(`- ${products.length} products; each subscriber one graphql-ws connection with one \`stockChanged\` subscription on ${opts.perSubscriber} of them (random, seed ${opts.seed}), anonymous; ` +
    `subscribers in ${opts.threads} worker thread(s) of the bench process`);
  out.push(`- open loop: ${opts.rates.join(", ")} orders/s (one line, quantity 1, random product) through GraphQL placeOrder, then the floor at the same rate; ` +
    `${opts.rounds > 1 ? `${opts.rounds} interleaved rounds of ` : ""}${opts.durationMs / 1000} s measured per phase after ${opts.warmupMs / 1000} s unmeasured`);
  out.push(`- latency per delivery, from ${commitTimestamps ? "the order's commit timestamp (pg_xact_commit_timestamp, microseconds)" : "occurredAt (whole ms)"} ` +
    `(pipeline) or the PUBLISH call (floor) to the subscriber's message callback (wall clock; this process's clock minus Date.now() drifted ${f1(clockSkewStart)} -> ${f1(clockSkewEnd)} ms over the run)`);
  out.push("");
  for (const r of results) {
    const perProduct = r.watchers.reduce((a, b) => a + b, 0) / r.watchers.length;
    out.push(`#### ${int(r.subscribers)} subscribers, ${r.rate} orders/s (${int(r.rate * perProduct)} deliveries/s offered), ` +
      `${r.topology === "single" ? "one process: api + relay + bridge" : "api in one process, relay + bridge in another"}`, "");
    out.push(`- connected ${int(r.connected)} of ${int(r.subscribers)} in ${(r.connectMs / 1000).toFixed(1)} s; ${perProduct.toFixed(0)} subscribers per product on average (${Math.min(...r.watchers)}-${Math.max(...r.watchers)})` +
      (r.connectFailures.length ? `; failures, e.g. ${r.connectFailures[0]}` : ""));
    const perConn = (r.apiRss.connected - r.apiRss.before) / r.connected;
    const h = r.apiHeap;
    const heapPerConn = (h.connected.heapUsed + h.connected.external - h.before.heapUsed - h.before.external) / r.connected;
    out.push(`- API process memory per connection: **${(heapPerConn / 1024).toFixed(1)} KiB** of live JS heap + external after a full GC ` +
      `(heap ${(h.before.heapUsed / MiB).toFixed(1)} -> ${(h.connected.heapUsed / MiB).toFixed(1)} MiB, external ${(h.before.external / MiB).toFixed(1)} -> ${(h.connected.external / MiB).toFixed(1)} MiB; ` +
      `${(h.disconnected.heapUsed / MiB).toFixed(1)} MiB heap once all had disconnected again); ` +
      `RSS ${(r.apiRss.before / MiB).toFixed(0)} -> ${(r.apiRss.connected / MiB).toFixed(0)} MiB = ${(perConn / 1024).toFixed(1)} KiB per connection, ` +
      `${(r.apiRss.end / MiB).toFixed(0)} MiB after the phases (peak ${(r.apiRss.peak / MiB).toFixed(0)} MiB). ` +
      `Bench process (the clients): ${((r.benchRss.connected - r.benchRss.before) / r.connected / 1024).toFixed(1)} KiB RSS per connection`);
    out.push("");
    out.push("| path | round | events/s | deliveries/s offered | delivered/s | p50 ms | p95 ms | p99 ms | max ms | delivered / expected | all delivered after | CPU api | CPU relay+bridge | CPU pg | CPU kafka | CPU redis | CPU bench | CPU other | subscriber threads ELU | main ELU |");
    out.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const ph of r.phases) {
      const secs = ph.windowMs / 1000;
      out.push(`| ${ph.kind === "pipeline" ? "pipeline: commit -> relay -> Kafka -> bridge -> Redis -> API -> client" : "floor: Redis PUBLISH -> API -> client"} | ${ph.round} | ` +
        `${f1(ph.events / secs)} | ${int(ph.expectedDeliveries / secs)} | ${int(ph.deliveries / (ph.deliveryMs / 1000))} | ${f1(ph.latency.p50)} | ${f1(ph.latency.p95)} | ${f1(ph.latency.p99)} | ${f1(ph.latency.max)} | ` +
        `${int(ph.deliveries)} / ${int(ph.expectedDeliveries)} | ${ph.drained ? `${int(ph.drainMs)} ms` : "**never**"} | ` +
        `${pct(ph.cpu.api)} | ${pct(ph.cpu.pipeline)} | ${pct(ph.cpu.pg)} | ${pct(ph.cpu.kafka)} | ${pct(ph.cpu.redis)} | ${pct(ph.cpu.bench)} | ${pct(ph.cpu.other)} | ` +
        `${ph.threadElu.map((e) => e.toFixed(2)).join(" / ")} | ${ph.mainElu.toFixed(2)} |`);
    }
    out.push("");
    for (let round = 1; round <= opts.rounds; round++) {
      const p = r.phases.find((x) => x.kind === "pipeline" && x.round === round);
      const fl = r.phases.find((x) => x.kind === "floor" && x.round === round);
      if (!p || !fl) continue;
      out.push(`- round ${round}: pipeline / floor = **${(p.latency.p50 / fl.latency.p50).toFixed(1)}x** at p50 (${f1(p.latency.p50)} / ${f1(fl.latency.p50)} ms), ` +
        `**${(p.latency.p99 / fl.latency.p99).toFixed(1)}x** at p99 (${f1(p.latency.p99)} / ${f1(fl.latency.p99)} ms)`);
    }
    out.push("", "Where the time goes (ms; per delivery unless marked per event):", "");
    out.push("| stage | round | p50 | p95 | p99 | max |", "|---|---:|---:|---:|---:|---:|");
    const row = (name: string, round: number, q: Percentiles | undefined) => q && out.push(`| ${name} | ${round} | ${f1(q.p50)} | ${f1(q.p95)} | ${f1(q.p99)} | ${f1(q.max)} |`);
    for (const ph of r.phases) {
      if (ph.kind === "pipeline") {
        row("pipeline: placeOrder round trip (per order)", ph.round, ph.orderLatency);
        row("pipeline: commit -> relay transaction start (published_at, whole ms; per event)", ph.round, ph.toRelay);
        row("pipeline: relay transaction start -> Kafka CreateTime (whole ms; per event)", ph.round, ph.relayToProduce);
        row("pipeline: Kafka CreateTime -> fetched by a consumer (whole ms; per event)", ph.round, ph.produceToConsumer);
        row("pipeline: fetched -> on Redis (~ the bridge; per event)", ph.round, ph.consumerToRedis);
        row("pipeline: commit -> on Redis (relay + Kafka + bridge; per event)", ph.round, ph.toRedis);
        row("pipeline: on Redis -> client (API fan-out)", ph.round, ph.redisToClient);
        row("pipeline: occurredAt (transaction start, whole ms) -> client", ph.round, ph.fromOccurredAt);
        row("pipeline: placeOrder answer received -> client", ph.round, ph.fromAnswer);
      } else {
        row("floor: PUBLISH -> on Redis (per event)", ph.round, ph.toRedis);
        row("floor: on Redis -> client (API fan-out)", ph.round, ph.redisToClient);
      }
    }
    out.push("");
    const c = r.check;
    const ok = c.missing === 0 && c.notIncreasing === 0 && c.errors === 0 && c.unexpectedCloses === 0 && c.noSnapshot === 0 && r.connected === r.subscribers &&
      r.phases.every((p) => p.drained && p.orderErrors === 0 && p.unknownDeliveries === 0);
    out.push(`- ${ok ? "PASS" : "FAIL"}: every subscriber got a CURRENT snapshot, then every event of its products exactly once, versions strictly increasing: ` +
      `${int(c.received)} of ${int(c.expected)} deliveries, ${c.missing} missing, ${c.notIncreasing} not increasing, ${c.noSnapshot} without snapshot, ` +
      `${c.resyncs} re-syncs, ${c.errors} errors, ${c.unexpectedCloses} unexpected closes; order errors ${r.phases.reduce((n, p) => n + p.orderErrors, 0)}` +
      (c.errorSamples.length ? `; e.g. ${c.errorSamples.join("; ")}` : "") +
      (r.phases.some((p) => p.orderErrorSamples.length) ? `; order errors e.g. ${r.phases.flatMap((p) => p.orderErrorSamples)[0]}` : ""));
    out.push("");
    (r as ScenarioResult & { ok?: boolean }).ok = ok;
  }
  const pass = results.every((r) => (r as ScenarioResult & { ok?: boolean }).ok);
  out.push(`**${pass ? "PASS" : "FAIL"}**`);
  console.log(out.join("\n"));
  for (const r of results) if (r.apiLogTail) log(`API log tail (${r.subscribers} subscribers, ${r.topology}):\n${r.apiLogTail}`);
  return pass;
}

/** The commit benchmarked, and whether the files that make up the API differ from it. */
function codeVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const commit = git("rev-parse", "--short", "HEAD");
    const dirty = git("status", "--porcelain", "--", "src", "prisma", "schema.graphql", "package.json", "package-lock.json");
    return `git ${commit}${dirty ? " + uncommitted changes in src/ or prisma/" : " (clean)"}`;
  } catch {
    return "not a git checkout";
  }
}

let exitCode = 1;
try {
  exitCode = (await main()) ? 0 : 1;
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
} finally {
  await cleanup();
}
process.exit(exitCode);
