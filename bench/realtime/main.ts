// Live-stock benchmark: N WebSocket subscribers watch a few products each
// while events flow at a fixed rate; how fast and how cheaply each event
// reaches every subscriber. Three paths per scenario, measured in one run:
//   socket floor  PUBLISH -> a bare ws server writing pre-serialized frames -> clients
//   pipeline      placeOrder -> commit -> outbox relay -> Kafka -> bridge -> Redis -> API -> clients
//   Redis floor   PUBLISH -> API -> clients
// See bench/README.md.
//
//   npx tsx bench/realtime/main.ts [--subscribers 1000,5000] [--deliveries 12500] [--duration 20] ...
//
// Uses DATABASE_URL / REDIS_URL / KAFKA_BROKERS if set, else throwaway servers.
import path from "node:path";
import pg from "pg";
import { Redis } from "ioredis";
import { root, runBench, type Harness, type Outcome } from "../lib/harness.js";
import { freshDatabase, startBenchServices } from "../lib/services.js";
import { openFileLimit } from "../lib/stats.js";
import { kafkaVersion } from "../../infra/services/kafka.js";
import { apiPart } from "./api-part.js";
import { realtimeOptions, type RealtimeOptions } from "./options.js";
import { wall } from "./phase.js";
import { realtimeReport } from "./report.js";
import type { ScenarioResult } from "./results.js";
import type { RunContext } from "./run-context.js";
import { buildScenarios, watchersOf } from "./scenarios.js";
import { seed as seedDatabase } from "./seed.js";
import { socketFloorPart } from "./socket-floor.js";
import { schemaHasRateArgument, subscriptionFor } from "./subscription.js";
import { redisTap } from "./taps.js";

async function realtime(h: Harness, opts: RealtimeOptions): Promise<Outcome> {
  const { log } = h;
  const scenarios = buildScenarios(opts);
  // Client and server each hold one descriptor per subscriber; the parts of a
  // scenario run one after the other, so one set of sockets exists at a time.
  const fd = openFileLimit();
  const most = Math.max(...scenarios.map((s) => s.subscribers));
  log(`open files limit (ulimit -n): soft ${fd.soft}, hard ${fd.hard}; children inherit it`);
  if (fd.soft < most + 500) {
    throw new Error(
      `ulimit -n is ${fd.soft}: too low for ${most} WebSockets (each is one file descriptor in this process and one in the server); raise it (ulimit -n ${most + 1000}) and rerun`,
    );
  }
  const clockSkewStart = Date.now() - wall();

  const apiPhases = opts.phases.has("pipeline") || opts.phases.has("redis-floor");
  const services = await startBenchServices(h, { postgres: { settings: { track_commit_timestamp: "on" } }, redis: true, kafka: apiPhases });
  const db = await freshDatabase(h, services.postgres, "stockwire_realtime");
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  h.onCleanup(() => pool.end());
  const commitTimestamps = (await pool.query<{ v: string }>("SELECT current_setting('track_commit_timestamp') AS v")).rows[0]!.v === "on";
  if (!commitTimestamps)
    log("track_commit_timestamp is off on this server: latency is measured from occurredAt (the transaction's now(), whole ms)");
  const seed = await seedDatabase(pool, opts);
  log(`seeded ${seed.products.length - 1} products + 1 flash-sale product, ${seed.customers.length} customers`);
  const redis = services.redis!;
  const tapTimes = await redisTap(h, redis.url, seed.gidIndex);
  const publisher = new Redis(redis.url, { maxRetriesPerRequest: null });
  publisher.on("error", () => {});
  h.onCleanup(async () => publisher.disconnect());
  const rateArgument = schemaHasRateArgument();
  if (scenarios.some((s) => s.maxUpdatesPerSecond !== undefined) && !rateArgument) {
    log("schema.graphql has no stockChanged(maxUpdatesPerSecond:): the flash sale subscribes without it");
  }

  const run: RunContext = {
    h,
    opts,
    services: { ...services, redis },
    databaseUrl: db.url,
    pool,
    seed,
    tapTimes,
    publisher,
    commitTimestamps,
    rateArgument,
    cpuProfDir: opts.cpuProf ? path.join(root, ".cache", "bench-profiles") : undefined,
  };

  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    log(`=== ${scenario.name} ===`);
    const watchers = watchersOf(scenario, seed.products.length);
    const { assignments: _assignments, ...described } = scenario;
    const result: ScenarioResult = {
      scenario: described,
      watchers,
      rateArgumentSent: subscriptionFor(scenario.maxUpdatesPerSecond, rateArgument).sent,
      parts: [],
    };
    if (opts.phases.has("socket-floor")) result.parts.push(await socketFloorPart(run, scenario, watchers));
    if (apiPhases) result.parts.push(await apiPart(run, scenario, watchers));
    results.push(result);
    for (const p of result.parts) if (p.logTail) log(`${p.target} log tail (${scenario.name}):\n${p.logTail}`);
  }

  const clockSkewEnd = Date.now() - wall();
  const pgVersion = (await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
  const report = realtimeReport(results, { rateArgument, rounds: opts.rounds });
  return {
    ...report,
    setup: [
      `PostgreSQL ${pgVersion.split(" ")[0]} (${services.postgres.given ? "DATABASE_URL" : "throwaway, default settings + track_commit_timestamp=on"}); ` +
        `${redis.given ? "Redis from REDIS_URL" : redis.describe.split(" (")[0]}` +
        (services.kafka ? `; Kafka ${services.kafka.given ? "from KAFKA_BROKERS" : `${kafkaVersion()} KRaft, one broker`}` : ""),
      `${opts.products} products (+1 for the flash sale); each subscriber one graphql-ws connection with one \`stockChanged\` subscription on ${opts.perSubscriber} of them ` +
        `(random, seed ${opts.seed}; the flash sale: all on its one product), anonymous; subscribers in ${opts.threads} worker thread(s) of the bench process`,
      `per scenario, one part after the other: the socket floor (its own server process, same subscribers, same events), then a fresh Stockwire with the pipeline and Redis-floor phases; ` +
        `${opts.rounds > 1 ? `${opts.rounds} interleaved rounds of ` : ""}${opts.durationMs / 1000} s measured per phase after ${opts.warmupMs / 1000} s unmeasured, events open loop`,
      `latency per delivery, from ${commitTimestamps ? "the order's commit timestamp (pg_xact_commit_timestamp, microseconds)" : "occurredAt (whole ms)"} (pipeline) ` +
        `or the PUBLISH call (floors) to the subscriber's message callback (wall clock; this process's clock minus Date.now() drifted ${clockSkewStart.toFixed(1)} -> ${clockSkewEnd.toFixed(1)} ms over the run)`,
    ],
  };
}

const opts = realtimeOptions();
await runBench(
  "realtime",
  { save: opts.save, resultsDir: opts.resultsDir, options: { ...opts, scenarios: [...opts.scenarios], phases: [...opts.phases] } },
  (h) => realtime(h, opts),
);
