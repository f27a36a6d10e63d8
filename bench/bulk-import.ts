// Bulk import (issue 25, the import half of bench:bulk): a --rows-row CSV (one product and its count at
// the one location per row) into an empty catalogue, through the API against the floor of the same run
// on the same PostgreSQL: the same bytes COPYed into a temporary table and merged with one INSERT ...
// ON CONFLICT per table, plus the ledger rows and events (bulk-import-floor.ts). Each round runs the
// floor, then the API, each on a fresh database (the API a fresh process on it): startBulkImport
// (multipart, admin token), then bulkOperation polled until the job is done; rate = rows / (upload start
// to COMPLETED seen). Medians over the rounds. The API's RSS is sampled every 10 ms while it imports and
// compared with its idle RSS (after a refused tiny upload and a full GC). Then one more API round with
// --watchers graphql-ws subscribers of stockChanged on products of the file (created beforehand, with
// the file's fields and no stock): they must stay connected and end at each product's count from the file.
// Checks, every round: the job COMPLETED with no failed row; products, stock, levels and ledger are the file's.
// Goals: import >= 0.5x the floor's rate; the API's RSS within 100 MB of idle; no watcher disconnected, all
// at their final counts.
//
//   npm run bench:bulk:import [-- --rows 100000 --rounds 3 --watchers 200]
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { withClient } from "../infra/services/postgres.js";
import { signToken } from "../src/auth/tokens.js";
import { startApi } from "./lib/api.js";
import { root, runBench, type Harness, type Outcome } from "./lib/harness.js";
import { parseOptions } from "./lib/options.js";
import { f1, f2, int, table } from "./lib/report.js";
import { freshDatabase, startBenchServices, type BenchService } from "./lib/services.js";
import {
  apiImport,
  backendsCpu,
  connectWatchers,
  createWatched,
  outboxBacklog,
  warmUp,
  watchOutcome,
  type ImportRun,
  type WatchOutcome,
  type Watchers,
} from "./bulk-import-api.js";
import {
  FLOOR_WRITES,
  floorImport,
  makeFile,
  tableWrites,
  wholeCheck,
  WRITTEN_TABLES,
  type FloorRun,
  type ImportFile,
  type Whole,
} from "./bulk-import-floor.js";

const options = parseOptions("npx tsx bench/bulk-import.ts [options]", {
  rows: { arg: "<n>", default: "100000", help: "Rows in the file (one product each, at the one location)" },
  rounds: { arg: "<n>", default: "3", help: "Interleaved rounds (floor, then API), each on a fresh database; medians reported" },
  watchers: { arg: "<n>", default: "200", help: "stockChanged subscribers during one more API round (0: no such round)" },
  "watch-products": { arg: "<n>", default: "5", help: "Products each watcher subscribes to (spread over the file)" },
  "request-deadline-ms": {
    arg: "<ms>",
    default: "60000",
    help: "The API's REQUEST_DEADLINE_MS (its default on PostgreSQL, 2000, answers the upload of a large file\n503 DEADLINE_EXCEEDED: the file is parsed and staged within the request)",
  },
  "poll-ms": { arg: "<ms>", default: "20", help: "How often the bench asks bulkOperation(id) for the job's status" },
  stream: {
    arg: "<kafka|memory>",
    default: "kafka",
    help: "How the API's events travel: the relay to Kafka, the bridge to Redis (as deployed; from KAFKA_BROKERS\nand REDIS_URL, else throwaway servers), or the in-process stream and pub/sub (PostgreSQL only)",
  },
  "cpu-prof": {
    flag: true,
    help: "Write a V8 CPU profile of the first API round's process to .cache/bench-profiles/\n(summarise with: npx tsx bench/profile-summary.ts <file>)",
  },
  save: { flag: true, default: true, help: "Write the report to bench/results (--no-save: do not)" },
  "results-dir": { arg: "<dir>", default: "bench/results", help: "Where reports go" },
});
const opts = {
  rows: options.int("rows", 1),
  rounds: options.int("rounds", 1),
  watchers: options.int("watchers", 0),
  watchProducts: options.int("watch-products", 1),
  pollMs: options.int("poll-ms", 1),
  requestDeadlineMs: options.int("request-deadline-ms", 0),
  stream: options.string("stream") as "kafka" | "memory",
  cpuProf: options.flag("cpu-prof"),
  save: options.flag("save"),
  resultsDir: options.string("results-dir")!,
};

if (opts.stream !== "kafka" && opts.stream !== "memory") options.fail("--stream must be kafka or memory");

const MIB = 2 ** 20;
const RATIO_GOAL = 0.5;
const MEMORY_GOAL_MIB = 100;

interface FloorRound extends FloorRun {
  round: number;
  whole: Whole;
  /** Row versions written per table (tableWrites). */
  writes: Record<string, number>;
}

interface ApiRound extends ImportRun {
  round: number;
  /** "api" (an interleaved round) or "watched" (the round with watchers, not in the medians). */
  kind: "api" | "watched";
  profiled: boolean;
  idleRss: number;
  /** RSS after the import and a full GC. */
  rssAfterGc: number;
  /** The main thread's process.memoryUsage() when idle and after the import, each after a full GC. */
  memoryIdle: NodeJS.MemoryUsage;
  memoryAfterGc: NodeJS.MemoryUsage;
  whole: Whole;
  writes: Record<string, number>;
  watch?: WatchOutcome;
}

interface Context {
  h: Harness;
  postgres: BenchService;
  /** With --stream kafka. */
  redis?: BenchService;
  kafka?: BenchService;
  file: ImportFile;
  jwtSecret: string;
  token: string;
  cpuProfDir?: string;
}

/** A fresh migrated database for one part of a round, dropped when the part is done. */
async function withDatabase<T>(ctx: Context, name: string, fn: (url: string, name: string) => Promise<T>): Promise<T> {
  const db = await freshDatabase(ctx.h, ctx.postgres, `stockwire_bulk_import_${name}`);
  try {
    // Each part starts with nothing of the one before left to write out.
    await withClient(db.url, (c) => c.query("CHECKPOINT")).catch(() => {});
    return await fn(db.url, db.name);
  } finally {
    await withClient(ctx.postgres.url, (c) => c.query(`DROP DATABASE IF EXISTS "${db.name}" WITH (FORCE)`)).catch((err) =>
      ctx.h.log(`could not drop ${db.name}: ${err instanceof Error ? err.message : String(err)}`),
    );
  }
}

async function floorRound(ctx: Context, round: number): Promise<FloorRound> {
  return withDatabase(ctx, `floor_${round}`, async (url) => {
    const run = await floorImport(url, ctx.file);
    const whole = await wholeCheck(url, ctx.file);
    const writes = await tableWrites(url);
    ctx.h.log(
      `round ${round} floor: ${f1(run.ms)} ms (COPY ${f1(run.copyMs)} ms), ${int(ctx.file.rows / (run.ms / 1000))} rows/s; ` +
        `PostgreSQL CPU ${f1(run.pgCpuSeconds)} s` +
        (whole.problems.length ? `; NOT WHOLE: ${whole.problems.join("; ")}` : ""),
    );
    return { round, ...run, whole, writes };
  });
}

async function apiRound(ctx: Context, round: number, kind: "api" | "watched", profiled: boolean): Promise<ApiRound> {
  const { h, file } = ctx;
  return withDatabase(ctx, `${kind}_${round}`, async (url, name) => {
    const watched = kind === "watched" ? await createWatched(url, file.rows, opts.watchers, opts.watchProducts) : undefined;
    const apiStartedAt = performance.now();
    const prefix = `bench.${h.runId}.bulk-import.${kind}-${round}`;
    const api = await startApi({
      databaseUrl: url,
      poolSize: 10,
      jwtSecret: ctx.jwtSecret,
      memoryProbe: true,
      cpuProfDir: profiled ? ctx.cpuProfDir : undefined,
      // Every role in one process, as npm start runs it; fresh topics and bridge group per round.
      env: {
        REQUEST_DEADLINE_MS: String(opts.requestDeadlineMs),
        ...(ctx.kafka
          ? {
              REDIS_URL: ctx.redis!.url,
              KAFKA_BROKERS: ctx.kafka.url,
              KAFKA_TOPIC_STOCK: `${prefix}.stock-changed`,
              KAFKA_TOPIC_ORDER_STATUS: `${prefix}.order-status-changed`,
              KAFKA_TOPIC_PRICE: `${prefix}.price-changed`,
              KAFKA_BRIDGE_GROUP: `${prefix}.bridge`,
              STOCKWIRE_ROLES: "api,relay,bridge",
            }
          : {}),
      },
    });
    const stopApi = h.deferred(() => api.stop());
    const backlog = await outboxBacklog(url);
    const closeBacklog = h.deferred(() => backlog.close());
    let watchers: Watchers | undefined;
    const closeWatchers = h.deferred(async () => watchers?.thread.close());
    try {
      await warmUp(api, ctx.token);
      const idle = await api.memory();
      if (watched) {
        watchers = await connectWatchers(`${api.url.replace(/^http/, "ws")}/graphql`, watched, opts.watchers, opts.watchProducts);
        h.log(
          `round ${round} watchers: ${watchers.connected} of ${opts.watchers} connected in ${f1(watchers.connectMs / 1000)} s` +
            (watchers.connectFailures.length ? `; e.g. ${watchers.connectFailures[0]}` : ""),
        );
      }
      const offset = () => `${((performance.now() - apiStartedAt) / 1000).toFixed(1)} s`;
      const run = await apiImport(api, ctx.token, file, {
        pollMs: opts.pollMs,
        timeoutMs: Math.max(120_000, file.rows * 5),
        backendsCpu: backendsCpu(ctx.postgres.url, name),
        backlog: backlog.count,
        onStart: () => profiled && h.log(`round ${round} API import starts at profile offset ~${offset()}`),
        onEnd: () => profiled && h.log(`round ${round} API import ends at profile offset ~${offset()}`),
      });
      const watch = watchers ? await watchOutcome(watchers, url, 30_000) : undefined;
      const after = await api.memory();
      const whole = await wholeCheck(url, file);
      // Its connections closed: every backend's counts are in the statistics.
      await closeWatchers();
      await stopApi();
      await closeBacklog();
      const writes = await tableWrites(url);
      h.log(
        `round ${round} ${kind === "api" ? "API" : `API with ${opts.watchers} watchers`}: ${f1(run.ms)} ms (upload ${f1(run.uploadMs)} ms), ` +
          `${int(file.rows / (run.ms / 1000))} rows/s, events relayed at ${f1(run.relayedMs)} ms (${int(run.backlogAtEnd)} left at the end), ${run.op.status} ${int(run.op.rowsDone)}/${int(run.op.rowsTotal)} rows, ${run.op.rowsFailed} failed; ` +
          `RSS idle ${f1(idle.rss / MIB)} max ${f1(run.rssMax / MIB)} (${f1(run.rssMaxUpload / MIB)} until the upload answered) after GC ${f1(after.rss / MIB)} MiB ` +
          `(main thread's heap used ${f1(idle.heapUsed / MIB)} -> ${f1(after.heapUsed / MIB)}, total ${f1(idle.heapTotal / MIB)} -> ` +
          `${f1(after.heapTotal / MIB)}, external ${f1(idle.external / MIB)} -> ${f1(after.external / MIB)} MiB); CPU API ${f1(run.cpuSeconds)} s, ` +
          `PostgreSQL ${f1(run.pgCpuSeconds)} s; longest poll ${f1(run.pollMaxMs)} ms` +
          (whole.problems.length ? `; NOT WHOLE: ${whole.problems.join("; ")}` : ""),
      );
      if (watch) {
        h.log(
          `  watchers: ${watch.sawFinal} of ${watch.watchers} saw every final count, ${watch.closedAfterConnect} sockets closed after connecting, ` +
            `${watch.check.wrongCounts} wrong counts, ${watch.check.errors} errors` +
            (watch.check.errorSamples.length ? ` (e.g. ${watch.check.errorSamples[0]})` : ""),
        );
      }
      return {
        round,
        kind,
        profiled,
        ...run,
        idleRss: idle.rss,
        rssAfterGc: after.rss,
        memoryIdle: idle,
        memoryAfterGc: after,
        whole,
        writes,
        watch,
      };
    } finally {
      await closeWatchers();
      await stopApi();
      await closeBacklog();
      if (profiled) h.log(`round ${round} API profile: ${ctx.cpuProfDir}/CPU.*.${api.pid}.*.cpuprofile`);
    }
  });
}

async function bulkImport(h: Harness): Promise<Outcome> {
  const kafka = opts.stream === "kafka";
  const { postgres, redis, kafka: kafkaService } = await startBenchServices(h, { postgres: { maxConnections: 100 }, redis: kafka, kafka });
  const file = makeFile(opts.rows);
  h.log(`file: ${int(file.rows)} rows, ${f1(file.csv.length / MIB)} MiB, ${int(file.units)} units`);
  const jwtSecret = randomBytes(32).toString("hex");
  const cpuProfDir = opts.cpuProf ? path.join(root, ".cache", "bench-profiles") : undefined;
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const ctx: Context = {
    h,
    postgres,
    redis,
    kafka: kafkaService,
    file,
    jwtSecret,
    token: await signToken({ role: "admin" }, jwtSecret),
    cpuProfDir,
  };

  const floor: FloorRound[] = [];
  const api: ApiRound[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    floor.push(await floorRound(ctx, round));
    api.push(await apiRound(ctx, round, "api", opts.cpuProf && round === 1));
  }
  const watched = opts.watchers > 0 ? await apiRound(ctx, opts.rounds + 1, "watched", false) : undefined;
  return report(floor, api, watched, file);
}

const sumOf = (w: Record<string, number>) => Object.values(w).reduce((n, x) => n + x, 0);
const signed = (x: number) => `${x >= 0 ? "+" : ""}${f1(x)}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

function report(floor: FloorRound[], api: ApiRound[], watched: ApiRound | undefined, file: ImportFile): Outcome {
  const rate = (ms: number) => file.rows / (ms / 1000);
  const floorMs = median(floor.map((f) => f.ms));
  const apiMs = median(api.map((a) => a.ms));
  const ratio = floorMs / apiMs;
  const apiRounds = watched ? [...api, watched] : api;
  const growth = Math.max(...apiRounds.map((a) => a.rssMax - a.idleRss)) / MIB;
  const completed = (a: ApiRound) =>
    a.op.status === "COMPLETED" && a.op.rowsFailed === 0 && a.op.rowsDone === file.rows && a.op.rowsTotal === file.rows;
  const whole = floor.every((f) => !f.whole.problems.length) && apiRounds.every((a) => completed(a) && !a.whole.problems.length);
  const w = watched?.watch;
  // Correctness: a count other than the database's at the final version, or a GraphQL error; a lost socket or a
  // watcher left behind is a goal not met.
  const watchCorrect = !w || (w.check.wrongCounts === 0 && w.check.payloadErrors === 0 && w.check.notIncreasing === 0);

  const wholeText = (wh: Whole, a?: ApiRound) =>
    a && !completed(a) ? `NO: ${a.op.status}, ${a.op.rowsFailed} failed` : wh.problems.length ? `NO: ${wh.problems.join("; ")}` : "yes";
  const rows: (string | number)[][] = [];
  for (let i = 0; i < floor.length; i++) {
    const f = floor[i]!;
    const a = api[i]!;
    rows.push([
      f.round,
      "floor: COPY + merge",
      f1(f.copyMs),
      f1(f.ms),
      "-",
      int(rate(f.ms)),
      "1.00x",
      "-",
      f1(f.pgCpuSeconds),
      "-",
      "-",
      wholeText(f.whole),
    ]);
    rows.push(apiRow(a, f.ms, wholeText(a.whole, a)));
  }
  if (watched) rows.push(apiRow(watched, floorMs, wholeText(watched.whole, watched)));
  rows.push(["median", "floor", "", f1(floorMs), "", int(rate(floorMs)), "", "", "", "", "", ""]);
  rows.push(["median", "API", "", f1(apiMs), "", int(rate(apiMs)), `${f2(ratio)}x`, "", "", "", "", ""]);

  const goals: [string, string, boolean][] = [
    [`import >= ${RATIO_GOAL}x the floor's rate (medians)`, `${f2(ratio)}x`, ratio >= RATIO_GOAL],
    [`API RSS within ${MEMORY_GOAL_MIB} MB of idle while importing`, `${signed(growth)} MiB`, growth <= MEMORY_GOAL_MIB],
  ];
  if (w) {
    goals.push([
      `${w.watchers} watchers not disconnected and each at its products' final counts`,
      `${w.connected} connected, ${w.closedAfterConnect} closed after connecting, ${w.sawFinal} saw every final count`,
      w.connected === w.watchers && w.closedAfterConnect === 0 && w.sawFinal === w.watchers,
    ]);
  }
  const markdown = [
    ...table(
      [
        "round",
        "<path",
        "upload / COPY ms",
        "total ms",
        "relayed ms",
        "rows/s",
        "x floor",
        "API CPU s",
        "PG CPU s",
        "API RSS growth MiB",
        "after GC MiB",
        "<whole",
      ],
      rows,
    ),
    "",
    `\`upload\`: until startBulkImport answered (the file parsed and its rows staged); \`total\`: from the upload's start until a poll ` +
      `(every ${opts.pollMs} ms) saw the job COMPLETED; the floor's from BEGIN to COMMIT; \`relayed\`: until the relay had published ` +
      `the last of the import's outbox events (the bench asks every 50 ms). \`x floor\`: the floor's time of the same round ` +
      `over the API's (the watched round: over the floor's median). RSS growth: the largest RSS while importing (sampled every 10 ms) ` +
      `over the process's idle RSS (after a refused tiny upload and a full GC of the main thread; RSS is the whole process's, ` +
      `the relay and bridge's worker thread included), until the events were relayed; after GC: after the import and a full GC, over idle. ` +
      `CPU: of the API process and of the PostgreSQL backends serving the round's database (not the server's own processes: WAL writer, checkpointer), ` +
      `from the upload until the events were relayed.` +
      (api.some((a) => a.profiled) ? " Round 1's API ran with the CPU profiler (--cpu-prof)." : ""),
    "",
    `What the floor writes: ${FLOOR_WRITES}.`,
    "",
    "Row versions written per file row (inserted + updated + deleted, pg_stat_user_tables; medians):",
    "",
    ...table(
      ["<table", "floor", "API"],
      [
        ...WRITTEN_TABLES.map((t) => [
          t,
          f2(median(floor.map((f) => f.writes[t]!)) / file.rows),
          f2(median(api.map((a) => a.writes[t]!)) / file.rows),
        ]),
        ["all", f2(median(floor.map((f) => sumOf(f.writes))) / file.rows), f2(median(api.map((a) => sumOf(a.writes))) / file.rows)],
      ],
    ),
    ...(w
      ? [
          "",
          `Watched round (${w.watchers} graphql-ws subscribers of stockChanged, ${opts.watchProducts} products each, ${watched!.watch ? int(w.check.expected) : 0} updates due; ` +
            `the watched products existed before the import with the file's fields and no stock): ${w.connected} connected in ${f1(w.connectMs / 1000)} s, ` +
            `${w.closedAfterConnect} sockets closed after connecting${Object.keys(w.check.closeCodes).length ? ` (codes ${JSON.stringify(w.check.closeCodes)})` : ""}, ` +
            `${w.sawFinal} saw every product's final count (${w.drained ? `all within ${f1(w.drainMs)} ms of the job's end` : "not all within 30 s"}), ` +
            `${w.check.wrongCounts} final versions with another count, ${w.check.missing} updates missed, ${w.check.errors} errors.`,
        ]
      : []),
    "",
    "Goals (ratios of the same run):",
    "",
    ...goals.map(([what, got, met]) => `- ${what}: ${got}, ${met ? "met" : "not met"}`),
    "",
    `Checks: ${
      whole && watchCorrect
        ? "PASS, every round whole (the job COMPLETED, no row failed; products, stock, levels and ledger the file's)" +
          (w ? ", every watcher's counts right" : "")
        : `FAIL, ${!whole ? "a round is not whole" : "a watcher saw a wrong count or an error"}`
    }`,
  ].join("\n");
  return {
    pass: whole && watchCorrect,
    markdown,
    data: { rows: file.rows, bytes: file.csv.length, units: file.units, floorMs, apiMs, ratio, rssGrowthMiB: growth, floor, api, watched },
    setup: [
      `${int(file.rows)} rows (${f1(file.csv.length / MIB)} MiB CSV), ${opts.rounds} interleaved rounds (floor, then API), each on a fresh database, medians; ` +
        `one API process per round (dist/, DATABASE_POOL_SIZE=10, REQUEST_DEADLINE_MS=${opts.requestDeadlineMs}, the importer's default chunks), ` +
        (opts.stream === "kafka"
          ? "every role (api, relay, bridge) in it, events through Kafka and Redis (fresh topics per round)"
          : "PostgreSQL only (events through the in-process stream and pub/sub)") +
        (watched ? `; then one API round with ${opts.watchers} watchers` : ""),
    ],
  };
}

function apiRow(a: ApiRound, floorMs: number, whole: string): (string | number)[] {
  return [
    a.round,
    a.kind === "api" ? `API${a.profiled ? " (profiled)" : ""}` : `API, ${opts.watchers} watching`,
    f1(a.uploadMs),
    f1(a.ms),
    f1(a.relayedMs),
    int(opts.rows / (a.ms / 1000)),
    `${f2(floorMs / a.ms)}x`,
    f1(a.cpuSeconds),
    f1(a.pgCpuSeconds),
    signed((a.rssMax - a.idleRss) / MIB),
    signed((a.rssAfterGc - a.idleRss) / MIB),
    whole,
  ];
}

await runBench("bulk-import", { save: opts.save, resultsDir: opts.resultsDir, options: opts }, bulkImport);
