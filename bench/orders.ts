// Order throughput benchmark: GraphQL placeOrder against the raw-SQL ceiling
// of the same PostgreSQL, spread over many products and on one hot product,
// plus a flash sale that must sell exactly its stock. See bench/README.md.
//
//   npx tsx bench/orders.ts [--duration 10] [--warmup 2] [--concurrency 32] ...
//
// Uses DATABASE_URL's server if set (creates and drops a fresh database on
// it), else a throwaway PostgreSQL. The API runs as its own process.
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { mkdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { databaseUrl, startPostgres, withClient } from "../infra/services/postgres.js";
import { openDatabase, type DbClient } from "../src/db/database.js";
import { placeOrderAtomically } from "../src/db/order.sql.js";
import { Prisma } from "../src/generated/prisma/client.js";
import { signToken } from "../src/auth/tokens.js";
import { toGlobalId } from "../src/schema/ids.js";
import { STOCK_CHANGED } from "../src/events/stock-changed.event.js";
import { startApi, type ApiProcess } from "./lib/api.js";
import { cpuBetween, cpuMerge, cpuSnapshot, type CpuUsage } from "./lib/cpu.js";
import { jsonClient, type JsonClient } from "./lib/http.js";
import { runClosedLoop, summarize, type LoadResult, type Outcome, type RawRun } from "./lib/load.js";

const HELP = `Usage: npx tsx bench/orders.ts [options]

  --duration <s>        measured time per scenario (default 10)
  --warmup <s>          unmeasured warm-up before each scenario (default 2)
  --rounds <n>          run the scenarios n times, interleaved, and pool the
                        results (default 1; helps on a machine shared with others)
  --concurrency <n>     closed-loop clients (default 32)
  --products <n>        products for the spread scenarios (default 1000)
  --customers <n>       customers placing orders (default 200)
  --pool <n>            the API's DATABASE_POOL_SIZE (default 20)
  --raw-pool <n>        pg connections of the raw-SQL baseline (default: --pool,
                        so both sides queue the same clients on as many connections)
  --flash-units <n>     stock of the flash-sale product (default 500)
  --flash-orders <n>    orders sent in the flash sale (default 4 x units)
  --cpu-prof            write a V8 CPU profile of the API to .cache/bench-profiles/
                        (summarise with: npx tsx bench/profile-summary.ts <file>)

DATABASE_URL (optional): a PostgreSQL server to use instead of a throwaway one;
a fresh database is created on it and dropped at the end.`;

const { values: argv } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    rounds: { type: "string", default: "1" },
    concurrency: { type: "string", default: "32" },
    products: { type: "string", default: "1000" },
    customers: { type: "string", default: "200" },
    pool: { type: "string", default: "20" },
    "raw-pool": { type: "string" },
    "flash-units": { type: "string", default: "500" },
    "flash-orders": { type: "string" },
    "cpu-prof": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (argv.help) {
  console.log(HELP);
  process.exit(0);
}
const num = (name: string, v: string | undefined, min: number) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) {
    console.error(`--${name} must be a number >= ${min}\n\n${HELP}`);
    process.exit(2);
  }
  return n;
};
const opts = {
  durationMs: num("duration", argv.duration, 0.1) * 1000,
  warmupMs: num("warmup", argv.warmup, 0) * 1000,
  rounds: Math.floor(num("rounds", argv.rounds, 1)),
  concurrency: Math.floor(num("concurrency", argv.concurrency, 1)),
  products: Math.floor(num("products", argv.products, 1)),
  customers: Math.floor(num("customers", argv.customers, 1)),
  pool: Math.floor(num("pool", argv.pool, 1)),
  rawPool: Math.floor(num("raw-pool", argv["raw-pool"] ?? argv.pool, 1)),
  flashUnits: Math.floor(num("flash-units", argv["flash-units"], 1)),
  flashOrders: 0,
  cpuProf: argv["cpu-prof"],
};
opts.flashOrders = Math.floor(num("flash-orders", argv["flash-orders"] ?? String(4 * opts.flashUnits), 1));

const root = fileURLToPath(new URL("..", import.meta.url));
const log = (line: string) => console.error(`[bench] ${line}`);
const runId = randomBytes(4).toString("hex");
const BIG_STOCK = 1_000_000_000;

// --- resources, released in reverse order even on failure -------------------

const cleanups: (() => Promise<unknown>)[] = [];
async function cleanup() {
  while (cleanups.length) {
    const fn = cleanups.pop()!;
    await fn().catch((err) => log(`cleanup: ${err instanceof Error ? err.message : String(err)}`));
  }
}

interface Row {
  name: string;
  result: LoadResult;
  cpu: CpuUsage;
  /** Transactions committed in the database meanwhile, by anyone (the API's outbox relay too). */
  commits: number;
}

async function main(): Promise<boolean> {
  // --- PostgreSQL and a fresh database --------------------------------------
  let serverUrl = process.env.DATABASE_URL;
  let pgPid: number | undefined;
  if (!serverUrl) {
    log("starting a throwaway PostgreSQL");
    const server = await startPostgres({ log, maxConnections: 300 });
    cleanups.push(() => server.stop());
    serverUrl = server.url;
    pgPid = Number(/pid (\d+)/.exec(server.describe)?.[1]) || undefined;
    log(server.describe);
  }
  const dbName = `stockwire_bench_${runId}`;
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE "${dbName}"`));
  if (process.env.DATABASE_URL) {
    cleanups.push(() => withClient(serverUrl!, (c) => c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`)));
  }
  const url = databaseUrl(serverUrl, dbName);
  log(`database ${dbName}`);
  {
    const db = await openDatabase({ kind: "postgres", url, poolSize: 2 });
    try {
      const applied = await db.migrate();
      log(`migrated (${applied.length} migrations)`);
    } finally {
      await db.close();
    }
  }

  const pool = new pg.Pool({ connectionString: url, max: opts.rawPool });
  // A server going away (Ctrl-C stops it) must fail the query, not crash the process.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  cleanups.push(() => pool.end());

  // --- seed ---------------------------------------------------------------
  await pool.query(
    `INSERT INTO product (sku, name, price_cents, currency, stock)
     SELECT 'BENCH-' || lpad(g::text, 6, '0'), 'Bench product ' || g, 1000 + g, 'EUR', $2
     FROM generate_series(1, $1::int) g`,
    [opts.products, BIG_STOCK],
  );
  await pool.query(
    `INSERT INTO product (sku, name, price_cents, currency, stock)
     VALUES ('BENCH-HOT', 'Hot product', 2500, 'EUR', $1), ('BENCH-FLASH', 'Flash sale product', 1999, 'EUR', $2)`,
    [BIG_STOCK, opts.flashUnits],
  );
  await pool.query(
    `INSERT INTO customer (email, name)
     SELECT 'bench-' || g || '@example.test', 'Bench customer ' || g FROM generate_series(1, $1::int) g`,
    [opts.customers],
  );
  await pool.query("VACUUM ANALYZE");
  const productRows = (await pool.query<{ id: string; sku: string; stock: number }>("SELECT id, sku, stock FROM product")).rows;
  const initialStock = new Map(productRows.map((p) => [p.id, p.stock]));
  const spread = productRows.filter((p) => p.sku !== "BENCH-HOT" && p.sku !== "BENCH-FLASH").map((p) => p.id);
  const hot = productRows.find((p) => p.sku === "BENCH-HOT")!.id;
  const flash = productRows.find((p) => p.sku === "BENCH-FLASH")!.id;
  const customerIds = (await pool.query<{ id: string }>("SELECT id FROM customer")).rows.map((r) => r.id);
  log(`seeded ${spread.length} + 2 products, ${customerIds.length} customers`);

  // --- the API --------------------------------------------------------------
  const jwtSecret = randomBytes(32).toString("hex");
  const cpuProfDir = opts.cpuProf ? path.join(root, ".cache", "bench-profiles") : undefined;
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const apiStartedAt = performance.now();
  const api: ApiProcess = await startApi({ databaseUrl: url, poolSize: opts.pool, jwtSecret, cpuProfDir });
  cleanups.push(async () => {
    await api.stop();
    if (cpuProfDir) log(`CPU profile of the API written to ${cpuProfDir}`);
  });
  log(`API ${api.url} (pid ${api.pid}, DATABASE_POOL_SIZE=${opts.pool})`);
  const http: JsonClient = jsonClient(api.url, opts.concurrency);
  cleanups.push(async () => http.close());

  const customers = await Promise.all(
    customerIds.map(async (id) => ({ id, auth: `Bearer ${await signToken({ role: "customer", sub: toGlobalId("Customer", id) }, jwtSecret)}` })),
  );
  const productGid = new Map(productRows.map((p) => [p.id, toGlobalId("Product", p.id)]));

  // --- the operations ---------------------------------------------------------
  let seq = 0;
  let okTotal = 0; // every order the benchmark saw succeed, warm-ups included
  const nextKey = () => `bench-${runId}-${++seq}`;
  const anyCustomer = () => customers[Math.floor(Math.random() * customers.length)]!;
  const spreadProduct = () => spread[Math.floor(Math.random() * spread.length)]!;
  const counted = (o: Outcome): Outcome => {
    if (o === "ok") okTotal++;
    return o;
  };

  const PLACE_ORDER = `mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    __typename
    ... on PlaceOrderSuccess { order { id status totalCents } }
    ... on Error { message }
  }
}`;
  const graphqlOrder = (pick: () => string) => async () => {
    const customer = anyCustomer();
    const body = JSON.stringify({
      query: PLACE_ORDER,
      variables: { input: { idempotencyKey: nextKey(), items: [{ productId: productGid.get(pick()), quantity: 1 }] } },
    });
    const { status, json } = await http.post("/graphql", body, { authorization: customer.auth });
    const res = json as { data?: { placeOrder?: { __typename: string; message?: string } }; errors?: { message: string }[] };
    if (res.errors?.length) return { outcome: "error" as const, detail: `HTTP ${status}: ${res.errors[0]!.message}` };
    const typename = res.data?.placeOrder?.__typename;
    if (typename === "PlaceOrderSuccess") return counted("ok");
    if (typename === "InsufficientStockError") return "refused" as const;
    return { outcome: "error" as const, detail: `HTTP ${status}: ${typename ?? "no data"}: ${res.data?.placeOrder?.message ?? ""}` };
  };
  const TRIVIAL = JSON.stringify({ query: "{ __typename }" });
  const graphqlTrivial = async () => {
    const { json } = await http.post("/graphql", TRIVIAL, { authorization: anyCustomer().auth });
    return (json as { data?: { __typename?: string } }).data?.__typename === "Query" ? ("ok" as const) : { outcome: "error" as const, detail: JSON.stringify(json).slice(0, 200) };
  };

  // (a) The classic order transaction: six round trips, the product row locked
  // from the UPDATE to the COMMIT.
  const classicOrder = (pick: () => string) => async (): Promise<Outcome> => {
    const productId = pick();
    const customer = anyCustomer();
    const c = await pool.connect();
    try {
      await c.query("BEGIN");
      const up = await c.query<{ sku: string; stock: number; version: number; price_cents: number; currency: string }>(
        `UPDATE product SET stock = stock - $2, version = version + 1, updated_at = now()
         WHERE id = $1 AND stock >= $2 RETURNING sku, stock, version, price_cents, currency`,
        [productId, 1],
      );
      const p = up.rows[0];
      if (!p) {
        await c.query("ROLLBACK");
        c.release();
        return "refused";
      }
      const order = await c.query<{ id: string; created_at: Date }>(
        `INSERT INTO "order" (customer_id, total_cents, currency, idempotency_key) VALUES ($1, $2, $3, $4) RETURNING id, created_at`,
        [customer.id, p.price_cents, p.currency, nextKey()],
      );
      const o = order.rows[0]!;
      await c.query(`INSERT INTO order_item (order_id, product_id, quantity, unit_price_cents) VALUES ($1, $2, $3, $4)`, [
        o.id,
        productId,
        1,
        p.price_cents,
      ]);
      await c.query(`INSERT INTO outbox_event (topic, key, payload) VALUES ($1, $2, $3)`, [
        STOCK_CHANGED,
        productId,
        JSON.stringify({ productId, sku: p.sku, stock: p.stock, version: p.version, delta: -1, reason: "ORDER_PLACED", orderId: o.id, occurredAt: o.created_at.toISOString() }),
      ]);
      await c.query("COMMIT");
      c.release();
      return counted("ok");
    } catch (err) {
      await c.query("ROLLBACK").catch(() => {});
      c.release(true);
      throw err;
    }
  };

  // (b) The API's own single statement: placeOrderAtomically itself, run over
  // plain pg instead of Prisma. Its tagged template becomes the same SQL text
  // and parameters Prisma would send, so this never drifts from
  // src/db/order.sql.ts.
  const viaPg = {
    $queryRaw: async (strings: TemplateStringsArray, ...values: unknown[]) => {
      const q = new Prisma.Sql(strings, values as never[]);
      return (await pool.query(q.text, q.values as unknown[])).rows;
    },
  } as unknown as DbClient;
  const singleStatementOrder = (pick: () => string) => async (): Promise<Outcome> => {
    const r = await placeOrderAtomically(viaPg, anyCustomer().id, nextKey(), [{ productId: pick(), quantity: 1 }]);
    if (r.order) return counted("ok");
    if (r.existingOrderId) throw new Error("idempotency key reused");
    return "refused";
  };

  // --- scenarios --------------------------------------------------------------
  type Op = () => Promise<Outcome | { outcome: Outcome; detail?: string }>;
  const scenarios: { name: string; op: Op }[] = [
    { name: "GraphQL `{ __typename }` (no DB; req/s)", op: graphqlTrivial },
    { name: "GraphQL placeOrder, spread", op: graphqlOrder(spreadProduct) },
    { name: "raw SQL (a) classic tx, spread", op: classicOrder(spreadProduct) },
    { name: "raw SQL (b) single statement, spread", op: singleStatementOrder(spreadProduct) },
    { name: "GraphQL placeOrder, hot", op: graphqlOrder(() => hot) },
    { name: "raw SQL (a) classic tx, hot", op: classicOrder(() => hot) },
    { name: "raw SQL (b) single statement, hot", op: singleStatementOrder(() => hot) },
  ];
  const measured = new Map<string, { runs: RawRun[]; cpu: CpuUsage[]; tx: number }>();
  // Committed transactions in the benchmark database (PostgreSQL's statistics
  // lag by up to a second; over a 10 s window that is noise).
  const commits = async () => {
    await pool.query("SELECT pg_stat_force_next_flush()").catch(() => {});
    const { rows } = await pool.query<{ n: string }>("SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()");
    return Number(rows[0]!.n);
  };
  const measure = async (name: string, op: Op, fixed?: number) => {
    if (cpuProfDir) log(`${name}: starts at API profile offset ~${((performance.now() - apiStartedAt) / 1000).toFixed(1)} s`);
    const tx0 = await commits();
    const before = cpuSnapshot(api.pid, pgPid);
    const result = await runClosedLoop(fixed ? { concurrency: opts.concurrency, totalRequests: fixed, op } : { concurrency: opts.concurrency, durationMs: opts.durationMs, op });
    const cpu = cpuBetween(before, cpuSnapshot(api.pid, pgPid));
    const tx = (await commits()) - tx0;
    if (api.exitedAs()) throw new Error(`the API process stopped during "${name}" (${api.exitedAs()}); its log:\n${api.logTail()}`);
    const m = measured.get(name) ?? { runs: [], cpu: [], tx: 0 };
    m.runs.push(...result.runs);
    m.cpu.push(cpu);
    m.tx += tx;
    measured.set(name, m);
    log(`${name}: ${result.okRate.toFixed(0)} ok/s, ${result.rate.toFixed(0)} req/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, ` +
      `ok ${result.ok}, refused ${result.refused}, errors ${result.errors}; CPU api ${cpu.api.toFixed(0)}% pg ${cpu.pg.toFixed(0)}% loadgen ${cpu.loadgen.toFixed(0)}% machine ${cpu.machine.toFixed(0)}%; ${tx} commits`);
    for (const [msg, n] of result.errorSamples) log(`  error x${n}: ${msg}`);
    if (result.errors > 0) log(`API log tail:\n${api.logTail()}`);
    return result;
  };

  const startLoad = os.loadavg();
  // Rounds interleave the scenarios, so a burst of load from elsewhere on the
  // machine spreads over all of them instead of skewing one.
  for (let round = 1; round <= opts.rounds; round++) {
    if (opts.rounds > 1) log(`round ${round} of ${opts.rounds}`);
    for (const { name, op } of scenarios) {
      if (round === 1 && opts.warmupMs > 0) await runClosedLoop({ concurrency: opts.concurrency, durationMs: opts.warmupMs, op });
      await measure(name, op);
    }
  }
  const flashName = `GraphQL flash sale (${opts.flashUnits} units, ${opts.flashOrders} orders)`;
  const flashResult = await measure(flashName, graphqlOrder(() => flash), opts.flashOrders);
  const endLoad = os.loadavg();
  const rows: Row[] = [...measured].map(([name, m]) => ({ name, result: summarize(m.runs), cpu: cpuMerge(m.cpu), commits: m.tx }));

  // --- checks -----------------------------------------------------------------
  const checks: [string, boolean][] = [];
  {
    const { rows: f } = await pool.query<{ stock: number; sold: string | null }>(
      `SELECT p.stock, (SELECT sum(quantity) FROM order_item WHERE product_id = p.id) AS sold FROM product p WHERE p.id = $1`,
      [flash],
    );
    const sold = Number(f[0]!.sold ?? 0);
    const expected = Math.min(opts.flashUnits, opts.flashOrders);
    checks.push([`flash sale: ${flashResult.ok} wins, ${flashResult.refused} refused, ${flashResult.errors} errors; ${sold} sold in the database, ${f[0]!.stock} left (expected exactly ${expected} sold)`,
      flashResult.ok === expected && sold === expected && f[0]!.stock === opts.flashUnits - expected]);
  }
  {
    const { rows: all } = await pool.query<{ id: string; stock: number; sold: string }>(
      `SELECT p.id, p.stock, COALESCE(s.sold, 0) AS sold
       FROM product p LEFT JOIN (SELECT product_id, sum(quantity) AS sold FROM order_item GROUP BY product_id) s ON s.product_id = p.id`,
    );
    const bad = all.filter((p) => p.stock < 0 || initialStock.get(p.id) !== p.stock + Number(p.sold));
    checks.push([`no oversell: for all ${all.length} products initial stock = stock + sum(order_item.quantity) and stock >= 0` +
      (bad.length ? ` (${bad.length} violate it, e.g. ${JSON.stringify(bad[0])})` : ""), bad.length === 0 && all.length === initialStock.size]);
    const { rows: [c] } = await pool.query<{ orders: string; items: string; events: string }>(
      `SELECT (SELECT count(*) FROM "order") AS orders, (SELECT count(*) FROM order_item) AS items,
              (SELECT count(*) FROM outbox_event WHERE topic = $1 AND payload->>'reason' = 'ORDER_PLACED') AS events`,
      [STOCK_CHANGED],
    );
    checks.push([`every success answer is one order in the database: ${okTotal} answered, ${c!.orders} orders`, Number(c!.orders) === okTotal]);
    checks.push([`one item and one stock-changed outbox event per order: ${c!.items} items, ${c!.events} events`, Number(c!.items) === Number(c!.orders) && Number(c!.events) === Number(c!.orders)]);
  }

  // --- report -----------------------------------------------------------------
  const settings = (await pool.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'shared_buffers', 'max_connections')`,
  )).rows;
  const s = (n: string) => settings.find((r) => r.name === n)?.setting ?? "?";
  const out: string[] = [];
  out.push(`### Run ${new Date().toISOString()} (${runId})`, "");
  out.push(`- machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "?"}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}; load average ${startLoad.map((l) => l.toFixed(2)).join(" ")} at start, ${endLoad.map((l) => l.toFixed(2)).join(" ")} at end`);
  out.push(`- code: ${codeVersion()}`);
  out.push(`- Node.js ${process.version}; PostgreSQL ${s("server_version")} (${process.env.DATABASE_URL ? "DATABASE_URL" : "throwaway, default settings"}: fsync=${s("fsync")}, synchronous_commit=${s("synchronous_commit")}, shared_buffers=${Number(s("shared_buffers")) * 8 / 1024} MiB)`);
  out.push(`- concurrency ${opts.concurrency} (closed loop), ${opts.rounds > 1 ? `${opts.rounds} interleaved rounds of ` : ""}${opts.durationMs / 1000} s measured per scenario after ${opts.warmupMs / 1000} s warm-up; API DATABASE_POOL_SIZE=${opts.pool}, raw-SQL pool ${opts.rawPool}; ${spread.length} spread products, ${customers.length} customers`);
  out.push("- CPU columns, during the measured phase, in % of one core: the API process, the PostgreSQL server (postmaster + all backends), " +
    "the load generator (this process, which also is the raw-SQL client), and everything else on the machine (other = all cores busy - those three). " +
    "`ms/req` = CPU milliseconds per request (all requests, refused included): less sensitive to a busy machine than the rates. " +
    "`commits/req` = transactions committed in the benchmark database per request, whoever committed them (the API's outbox relay commits too).", "");
  out.push("| scenario | orders/s | p50 ms | p99 ms | ok | refused | errors | CPU api | api ms/req | CPU pg | pg ms/req | CPU loadgen | all 3 ms/req | CPU other | commits/req |");
  out.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  const msPerReq = (r: LoadResult, pctOfCore: number) => (pctOfCore / 100) * (r.elapsedMs / r.requests);
  const ours = (cpu: CpuUsage) => cpu.api + (Number.isFinite(cpu.pg) ? cpu.pg : 0) + cpu.loadgen;
  for (const { name, result: r, cpu, commits: tx } of rows) {
    const rate = name.includes("__typename") ? r.rate : r.okRate;
    const pct = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)}%` : "n/a");
    const perReq = (x: number) => (Number.isFinite(x) && x > 0.5 ? msPerReq(r, x).toFixed(2) : "-");
    const other = (cpu.machine / 100) * os.cpus().length * 100 - ours(cpu);
    out.push(`| ${name} | ${rate.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.ok} | ${r.refused} | ${r.errors} | ` +
      `${pct(cpu.api)} | ${perReq(cpu.api)} | ${pct(cpu.pg)} | ${perReq(cpu.pg)} | ${pct(cpu.loadgen)} | ${perReq(ours(cpu))} | ${pct(Math.max(0, other))} | ${(tx / r.requests).toFixed(2)} |`);
  }
  out.push("");
  const row = (name: string) => rows.find((r) => r.name === name)!;
  for (const where of ["spread", "hot"]) {
    const gql = row(`GraphQL placeOrder, ${where}`).result.okRate;
    const a = row(`raw SQL (a) classic tx, ${where}`).result.okRate;
    const b = row(`raw SQL (b) single statement, ${where}`).result.okRate;
    const ceiling = Math.max(a, b);
    out.push(`- ${where}: GraphQL ${gql.toFixed(0)} orders/s vs raw-SQL ceiling ${ceiling.toFixed(0)} (${a >= b ? "(a) classic tx" : "(b) single statement"}) = **${(gql / ceiling).toFixed(2)}x** ` +
      `(vs (a) ${(gql / a).toFixed(2)}x, vs (b) ${(gql / b).toFixed(2)}x)`);
  }
  {
    // When the whole stack is CPU-bound on one machine (spread), throughput is
    // inversely proportional to the CPU each order costs, wherever it is spent.
    const cost = (name: string) => {
      const { result, cpu } = row(name);
      return msPerReq(result, ours(cpu));
    };
    const gql = cost("GraphQL placeOrder, spread");
    const best = Math.min(cost("raw SQL (a) classic tx, spread"), cost("raw SQL (b) single statement, spread"));
    out.push(`- spread, by CPU cost (API + PostgreSQL + load generator per order, which is what bounds throughput when this machine is CPU-bound): ` +
      `GraphQL ${gql.toFixed(2)} ms vs raw SQL ${best.toFixed(2)} ms = **${(best / gql).toFixed(2)}x**` +
      (Number.isFinite(gql) ? "" : " (needs the throwaway PostgreSQL for its CPU figures)"));
  }
  out.push("");
  for (const [text, ok] of checks) out.push(`- ${ok ? "PASS" : "FAIL"}: ${text}`);
  const pass = checks.every(([, ok]) => ok);
  out.push("", `**${pass ? "PASS" : "FAIL"}**`);
  console.log(out.join("\n"));
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
