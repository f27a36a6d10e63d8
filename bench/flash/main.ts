// Flash-sale burst benchmark (issue 31): --orders customers each send one
// placeOrder for a product with --units at the same moment, through at most
// --connections HTTP connections, while nobody / 1,000 / 10,000 graphql-ws
// subscribers watch its stock; beside it the same burst as raw SQL on the
// same PostgreSQL (the physical floor). See bench/README.md.
//
//   npx tsx bench/flash/main.ts [--watchers 0,1000,10000] [--units 1000] [--orders 3000] [--connections 256] ...
//
// Uses DATABASE_URL / REDIS_URL / KAFKA_BROKERS if set, else throwaway servers.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { signToken } from "../../src/auth/tokens.js";
import { encodeGlobalId as toGlobalId } from "../../src/ids/index.js";
import { kafkaVersion } from "../../infra/services/kafka.js";
import { startApi } from "../lib/api.js";
import { runBench, type Harness, type Outcome } from "../lib/harness.js";
import { jsonClient } from "../lib/http.js";
import { freshDatabase, startBenchServices } from "../lib/services.js";
import { openFileLimit } from "../lib/stats.js";
import { KEY_SPAN } from "../lib/subscribers.js";
import { orderOperations } from "../orders/operations.js";
import type { ApiOrderStats } from "../orders/report.js";
import { schemaHasRateArgument } from "../realtime/subscription.js";
import { redisTap } from "../realtime/taps.js";
import { apiOrder, burst, wall } from "./burst.js";
import { flashOptions, type FlashOptions } from "./options.js";
import { apiPhase, floorPhase, type FlashContext, type PhaseResult } from "./phases.js";
import { flashReport } from "./report.js";

async function flash(h: Harness, opts: FlashOptions): Promise<Outcome> {
  const { log } = h;
  const most = Math.max(0, ...opts.watchers);
  const fd = openFileLimit();
  // This process holds every watcher's socket and the client's connections; the API as many again.
  if (fd.soft < most + opts.connections + 500)
    throw new Error(`ulimit -n is ${fd.soft}: too low for ${most} WebSockets and ${opts.connections} connections; raise it and rerun`);
  const clockSkewStart = Date.now() - wall();

  const services = await startBenchServices(h, {
    postgres: { maxConnections: 200, settings: { track_commit_timestamp: "on" } },
    redis: true,
    kafka: true,
  });
  const db = await freshDatabase(h, services.postgres, "stockwire_flash");
  const pool = new pg.Pool({ connectionString: db.url, max: opts.pool });
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  h.onCleanup(() => pool.end());
  const commitTimestamps = (await pool.query<{ v: string }>("SELECT current_setting('track_commit_timestamp') AS v")).rows[0]!.v === "on";
  if (!commitTimestamps)
    log("track_commit_timestamp is off on this server: lags are measured from the last sale's created_at (its transaction's now())");

  // --- seed: one customer per order, warm-up products -----------------------
  await pool.query(
    `INSERT INTO customer (email, name) SELECT 'flash-' || g || '@example.test', 'Flash customer ' || g FROM generate_series(1, $1::int) g`,
    [opts.orders],
  );
  await pool.query(
    `INSERT INTO product (sku, name, price_cents, currency, stock)
     SELECT 'WARM-' || lpad(g::text, 3, '0'), 'Warm-up product ' || g, 1000 + g, 'EUR', 1000000000 FROM generate_series(1, 20) g`,
  );
  await pool.query("VACUUM ANALYZE");
  const jwtSecret = randomBytes(32).toString("hex");
  const customerRows = (await pool.query<{ id: string }>("SELECT id FROM customer ORDER BY email")).rows;
  const customers = await Promise.all(
    customerRows.map(async (c) => ({
      id: c.id,
      auth: `Bearer ${await signToken({ role: "customer", sub: toGlobalId("Customer", c.id) }, jwtSecret)}`,
    })),
  );
  const warmProducts = (await pool.query<{ id: string }>("SELECT id FROM product WHERE sku LIKE 'WARM-%'")).rows.map((r) =>
    toGlobalId("Product", r.id),
  );
  log(`seeded ${customers.length} customers, ${warmProducts.length} warm-up products`);
  const gidIndex = new Map<string, number>();
  const redisTimes = await redisTap(h, services.redis!.url, gidIndex);

  // --- the API: every role in one process, as npm start runs it -------------
  const prefix = `bench.${h.runId}.flash`;
  const api = await startApi({
    databaseUrl: db.url,
    poolSize: opts.pool,
    jwtSecret,
    env: {
      REDIS_URL: services.redis!.url,
      KAFKA_BROKERS: services.kafka!.url,
      KAFKA_TOPIC_STOCK: `${prefix}.stock-changed`,
      KAFKA_TOPIC_ORDER_STATUS: `${prefix}.order-status-changed`,
      KAFKA_BRIDGE_GROUP: `${prefix}.bridge`,
      STOCKWIRE_ROLES: "api,relay,bridge",
      API_WORKERS: String(opts.apiWorkers),
    },
  });
  h.onCleanup(() => api.stop());
  log(`API ${api.url} (pid ${api.pid}, roles api,relay,bridge, DATABASE_POOL_SIZE=${opts.pool}, API_WORKERS=${opts.apiWorkers})`);
  const alive = () => {
    const signalled = /^stockwire: (SIG\w+): stopping/m.exec(api.logTail())?.[1];
    if (api.exitedAs() || signalled)
      throw new Error(`the API stopped during the benchmark (${signalled ?? api.exitedAs()}); its log:\n${api.logTail()}`);
  };
  const http = jsonClient(api.url, opts.connections, { retryReusedSocketReset: true });
  h.onCleanup(async () => http.close());
  const adminAuth = `Bearer ${await signToken({ role: "admin" }, jwtSecret)}`;
  const apiStats = async (): Promise<ApiOrderStats> => {
    const res = await fetch(`${api.url}/stats`, { headers: { authorization: adminAuth } });
    if (!res.ok) throw new Error(`GET /stats: HTTP ${res.status}`);
    return ((await res.json()) as { orders: ApiOrderStats }).orders;
  };

  // --- warm-up: ordinary orders nobody watches (JIT, pools, topics, the bridge) until their events reach Redis
  if (opts.warmup > 0) {
    warmProducts.forEach((gid, i) => gidIndex.set(gid, 1_000_000 + i));
    const warm = await burst(opts.warmup, (i) =>
      apiOrder(
        http,
        customers.map((c) => c.auth),
        warmProducts[i % warmProducts.length]!,
        `warm-${h.runId}`,
      )(i),
    );
    if (warm.errors) log(`warm-up: ${warm.errors} of ${opts.warmup} orders failed, e.g. ${Object.keys(warm.errorSamples)[0]}`);
    const versions = (await pool.query<{ id: string; version: number }>("SELECT id, version FROM product WHERE sku LIKE 'WARM-%'")).rows;
    const keys = versions.filter((v) => v.version > 0).map((v) => gidIndex.get(toGlobalId("Product", v.id))! * KEY_SPAN + v.version);
    const t0 = Date.now();
    while (Date.now() - t0 < 60_000 && !keys.every((k) => redisTimes.has(k))) await new Promise((r) => setTimeout(r, 100));
    if (!keys.every((k) => redisTimes.has(k)))
      throw new Error("the warm-up orders' events never reached Redis: is the relay/bridge running?");
    log(`warm-up: ${opts.warmup} orders in ${(warm.durationMs / 1000).toFixed(1)} s, their events reached Redis`);
    await pool.query("ANALYZE");
    alive();
  }

  const ctx: FlashContext = {
    h,
    opts,
    pool,
    http,
    wsUrl: `${api.url.replace(/^http/, "ws")}/graphql`,
    customers: customers.map((c) => c.auth),
    parties: {
      api: { pid: api.pid },
      pg: services.postgres.pid ? { pid: services.postgres.pid, tree: true } : undefined,
      kafka: services.kafka?.pid ? { pid: services.kafka.pid } : undefined,
      redis: services.redis?.pid ? { pid: services.redis.pid } : undefined,
    },
    gidIndex,
    redisTimes,
    commitTimestamps,
    rateArgument: schemaHasRateArgument(),
    apiStats,
    alive,
  };
  if (!ctx.rateArgument) log("schema.graphql has no stockChanged(maxUpdatesPerSecond:): the watchers subscribe without it");

  // The raw-SQL floor: bench/orders' operations (customers at random), batched in the sizes the API formed.
  const raw = orderOperations({ runId: h.runId, http, pool, customers, productGid: new Map() });
  const ordersOf = (sizes: Record<string, number>) => Object.entries(sizes).flatMap(([size, n]) => Array<number>(n).fill(Number(size)));
  let apiSizes: number[] = [];
  const floorOps = {
    classic: (pick: () => string) => raw.classicOrder(pick),
    batched: (pick: () => string) => raw.batchedOrder(pick, () => apiSizes),
  };

  const phases: PhaseResult[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    if (opts.rounds > 1) log(`round ${round} of ${opts.rounds}`);
    // Every other round in reverse, so no watcher count always runs first on a fresh process or last on a tired machine.
    for (const watchers of round % 2 ? opts.watchers : [...opts.watchers].reverse()) {
      const p = await apiPhase(ctx, round, watchers);
      phases.push(p);
      if (watchers === Math.min(...opts.watchers)) apiSizes = ordersOf(p.api!.sizes);
    }
    for (const kind of opts.floors) phases.push(await floorPhase(ctx, round, kind, floorOps));
  }

  const clockSkewEnd = Date.now() - wall();
  const pgVersion = (await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
  const report = flashReport(phases, opts);
  return {
    ...report,
    setup: [
      `PostgreSQL ${pgVersion.split(" ")[0]} (${services.postgres.given ? "DATABASE_URL" : "throwaway, default settings + track_commit_timestamp=on"}); ` +
        `${services.redis!.given ? "Redis from REDIS_URL" : services.redis!.describe.split(" (")[0]}; ` +
        `Kafka ${services.kafka!.given ? "from KAFKA_BROKERS" : `${kafkaVersion()} KRaft, one broker`}`,
      `the API: dist/main.js, NODE_ENV=production, roles api,relay,bridge ${opts.apiWorkers > 1 ? `(the API in ${opts.apiWorkers} worker processes, API_WORKERS; /stats batch sizes are one worker's)` : "in one process"}, DATABASE_POOL_SIZE=${opts.pool}; ` +
        `warmed with ${opts.warmup} ordinary orders on 20 other products first`,
      `each burst: a fresh product with ${opts.units.toLocaleString("en-US")} units; ${opts.orders.toLocaleString("en-US")} placeOrder of one unit, ` +
        `each from a different customer, all sent at once through at most ${opts.connections} keep-alive connections (opened before the burst); ` +
        `answer times from the burst's start (what each customer waited, the client's queue included)`,
      `watchers: graphql-ws subscribers of stockChanged on the burst's product with maxUpdatesPerSecond ${opts.maxUpdatesPerSecond}` +
        `${ctx.rateArgument ? "" : " (not sent: schema.graphql lacks the argument)"}, anonymous, in ${opts.threads} worker thread(s) of the bench, ` +
        `connected ${opts.connectConcurrency} at a time per thread before the burst and closed after it; lag to the final count: from the last sale's ` +
        `${commitTimestamps ? "commit (pg_xact_commit_timestamp)" : "created_at (its transaction's now(), ms; track_commit_timestamp is off)"} ` +
        `to the watcher's callback with its version (wall clock; this process's clock minus Date.now() drifted ${clockSkewStart.toFixed(1)} -> ${clockSkewEnd.toFixed(1)} ms)`,
      `${opts.rounds > 1 ? `${opts.rounds} rounds, each: ` : "order: "}the API bursts (watchers ${opts.watchers.join(", ")}${opts.rounds > 1 ? ", every other round in reverse" : ""}), ` +
        `then the raw-SQL floor bursts (${opts.floors.join(", ") || "none"})`,
    ],
  };
}

const opts = flashOptions();
await runBench("flash", { save: opts.save, resultsDir: opts.resultsDir, options: { ...opts, floors: [...opts.floors] } }, (h) =>
  flash(h, opts),
);
