// Order throughput benchmark: GraphQL placeOrder against the raw-SQL ceiling
// of the same PostgreSQL, spread over many products and on one hot product,
// plus a flash sale that must sell exactly its stock. See bench/README.md.
//
//   npx tsx bench/orders/main.ts [--duration 10] [--warmup 2] [--concurrency 32] ...
//
// Uses DATABASE_URL's server if set (creates and drops a fresh database on
// it), else a throwaway PostgreSQL. The API runs as its own process.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { signToken } from "../../src/auth/tokens.js";
import { encodeGlobalId as toGlobalId } from "../../src/ids/index.js";
import { startApi } from "../lib/api.js";
import { cpuMark, cpuMerge, cpuShare, type CpuShare } from "../lib/cpu.js";
import { root, runBench, type Harness, type Outcome } from "../lib/harness.js";
import { jsonClient } from "../lib/http.js";
import { runClosedLoop, summarize, type RawRun } from "../lib/load.js";
import { freshDatabase, startBenchServices } from "../lib/services.js";
import { orderChecks } from "./checks.js";
import { orderOperations, type Op } from "./operations.js";
import { ordersOptions, type OrdersOptions } from "./options.js";
import { addStats, ordersReport, statsDelta, type ApiOrderStats, type OrderPathStats } from "./report.js";

const BIG_STOCK = 1_000_000_000;

async function orders(h: Harness, opts: OrdersOptions): Promise<Outcome> {
  const { log } = h;
  const { postgres } = await startBenchServices(h, { postgres: { maxConnections: 300 } });
  const db = await freshDatabase(h, postgres, "stockwire_bench");
  const pool = new pg.Pool({ connectionString: db.url, max: opts.rawPool });
  // A server going away (Ctrl-C stops it) must fail the query, not crash the process.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  h.onCleanup(() => pool.end());

  // --- seed ---------------------------------------------------------------
  await pool.query(
    `INSERT INTO product (sku, name, price_cents, currency, stock)
     SELECT 'BENCH-' || lpad(g::text, 6, '0'), 'Bench product ' || g, 1000 + g, 'EUR', $2
     FROM generate_series(1, $1::int) g`,
    [opts.products, BIG_STOCK],
  );
  await pool.query(
    `INSERT INTO product (sku, name, price_cents, currency, stock)
     VALUES ('BENCH-HOT', 'Hot product', 2500, 'EUR', $1), ('BENCH-FLASH', 'Flash sale product', 1999, 'EUR', $2),
       ('BENCH-HOT3', 'Hot product at three locations', 2500, 'EUR', $1), ('BENCH-SOLDOUT', 'Sold out product', 999, 'EUR', 0)`,
    [BIG_STOCK, opts.flashUnits],
  );
  // BENCH-HOT3's stock in three parts at three locations (the migration's default, priority 0, and two more):
  // every order's allocation weighs three levels under the product's lock.
  await pool.query(
    `WITH more AS (
       INSERT INTO location (code, name, priority) VALUES ('bench-2', 'Bench 2', 1), ('bench-3', 'Bench 3', 2) RETURNING id
     ), hot3 AS (SELECT id FROM product WHERE sku = 'BENCH-HOT3'),
     moved AS (UPDATE stock_level SET on_hand = on_hand - 2 * ($1::int / 3) WHERE product_id = (SELECT id FROM hot3) RETURNING 1)
     INSERT INTO stock_level (product_id, location_id, on_hand) SELECT (SELECT id FROM hot3), id, $1::int / 3 FROM more`,
    [BIG_STOCK],
  );
  await pool.query(
    `INSERT INTO customer (email, name)
     SELECT 'bench-' || g || '@example.test', 'Bench customer ' || g FROM generate_series(1, $1::int) g`,
    [opts.customers],
  );
  // Issue 27's goal: the same orders from customers in a group whose list prices every product with tiers.
  await pool.query(
    `INSERT INTO customer (email, name, customer_group)
     SELECT 'bench-member-' || g || '@example.test', 'Bench member ' || g, 'bench-members' FROM generate_series(1, $1::int) g`,
    [opts.customers],
  );
  await pool.query(
    `WITH list AS (
       INSERT INTO price_list (code, name, currency, customer_group, priority) VALUES ('BENCH-MEMBERS', 'Bench members', 'EUR', 'bench-members', 0)
       RETURNING id
     )
     INSERT INTO price_list_entry (price_list_id, product_id, unit_price_cents, tiers)
     SELECT list.id, p.id, p.price_cents - 100,
       jsonb_build_array(jsonb_build_object('minQuantity', 3, 'unitPriceCents', p.price_cents - 200), jsonb_build_object('minQuantity', 10, 'unitPriceCents', p.price_cents - 300))
     FROM product p, list WHERE p.sku NOT IN ('BENCH-SOLDOUT')`,
  );
  await pool.query("VACUUM ANALYZE");
  const productRows = (await pool.query<{ id: string; sku: string; stock: number }>("SELECT id, sku, stock FROM product")).rows;
  const initialStock = new Map(productRows.map((p) => [p.id, p.stock]));
  const spread = productRows.filter((p) => !["BENCH-HOT", "BENCH-FLASH", "BENCH-HOT3", "BENCH-SOLDOUT"].includes(p.sku)).map((p) => p.id);
  const hot = productRows.find((p) => p.sku === "BENCH-HOT")!.id;
  const hot3 = productRows.find((p) => p.sku === "BENCH-HOT3")!.id;
  const flash = productRows.find((p) => p.sku === "BENCH-FLASH")!.id;
  const soldOut = productRows.find((p) => p.sku === "BENCH-SOLDOUT")!.id;
  const customerIds = (await pool.query<{ id: string }>("SELECT id FROM customer WHERE customer_group IS NULL")).rows.map((r) => r.id);
  const memberIds = (await pool.query<{ id: string }>("SELECT id FROM customer WHERE customer_group = 'bench-members'")).rows.map(
    (r) => r.id,
  );
  log(`seeded ${spread.length} + 4 products, ${customerIds.length} customers`);

  // --- the API --------------------------------------------------------------
  const jwtSecret = randomBytes(32).toString("hex");
  const cpuProfDir = opts.cpuProf ? path.join(root, ".cache", "bench-profiles") : undefined;
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const apiStartedAt = performance.now();
  const api = await startApi({ databaseUrl: db.url, poolSize: opts.pool, jwtSecret, cpuProfDir });
  h.onCleanup(async () => {
    await api.stop();
    if (cpuProfDir) log(`CPU profile of the API written to ${cpuProfDir}`);
  });
  log(`API ${api.url} (pid ${api.pid}, DATABASE_POOL_SIZE=${opts.pool})`);
  const http = jsonClient(api.url, opts.concurrency);
  h.onCleanup(async () => http.close());

  const customers = await Promise.all(
    customerIds.map(async (id) => ({
      id,
      auth: `Bearer ${await signToken({ role: "customer", sub: toGlobalId("Customer", id) }, jwtSecret)}`,
    })),
  );
  const productGid = new Map(productRows.map((p) => [p.id, toGlobalId("Product", p.id)]));
  const ops = orderOperations({ runId: h.runId, http, pool, customers, productGid });
  const members = await Promise.all(
    memberIds.map(async (id) => ({
      id,
      auth: `Bearer ${await signToken({ role: "customer", sub: toGlobalId("Customer", id) }, jwtSecret)}`,
    })),
  );
  const memberOps = orderOperations({ runId: `${h.runId}m`, http, pool, customers: members, productGid });
  const spreadProduct = () => spread[Math.floor(Math.random() * spread.length)]!;

  // The API's own counters (GET /stats): batch sizes and sold-out refusals, per scenario.
  const adminAuth = `Bearer ${await signToken({ role: "admin" }, jwtSecret)}`;
  const apiStats = async (): Promise<ApiOrderStats> => {
    const res = await fetch(`${api.url}/stats`, { headers: { authorization: adminAuth } });
    if (!res.ok) throw new Error(`GET /stats: HTTP ${res.status}`);
    return ((await res.json()) as { orders: ApiOrderStats }).orders;
  };
  const apiBatches = new Map<string, OrderPathStats>();
  // Batch sizes the API formed (one entry per batch), for the raw batched ceiling of the same scenario.
  const sizesOf = (name: string) => () =>
    Object.entries(apiBatches.get(name)?.sizes ?? {}).flatMap(([size, n]) => Array(n).fill(Number(size)));

  // --- scenarios --------------------------------------------------------------
  const allScenarios: { name: string; op: Op }[] = [
    { name: "GraphQL `{ __typename }` (no DB; req/s)", op: ops.graphqlTrivial },
    { name: "GraphQL placeOrder, spread", op: ops.graphqlOrder(spreadProduct) },
    { name: "raw SQL (a) classic tx, spread", op: ops.classicOrder(spreadProduct) },
    { name: "raw SQL (b) single statement, spread", op: ops.singleStatementOrder(spreadProduct) },
    { name: "raw SQL (c) batched, spread", op: ops.batchedOrder(spreadProduct, sizesOf("GraphQL placeOrder, spread")) },
    { name: "GraphQL placeOrder, hot", op: ops.graphqlOrder(() => hot) },
    { name: "raw SQL (a) classic tx, hot", op: ops.classicOrder(() => hot) },
    { name: "raw SQL (a2) classic tx per location, hot", op: ops.classicLocationOrder(() => hot) },
    { name: "raw SQL (b) single statement, hot", op: ops.singleStatementOrder(() => hot) },
    { name: "raw SQL (c) batched, hot", op: ops.batchedOrder(() => hot, sizesOf("GraphQL placeOrder, hot")) },
    { name: "GraphQL placeOrder, hot at 3 locations", op: ops.graphqlOrder(() => hot3) },
    // Issue 27: the same orders priced by a tiered list of every customer's group (>= 0.9x of the rows above).
    { name: "GraphQL placeOrder, spread, members' tiered prices", op: memberOps.graphqlOrder(spreadProduct) },
    { name: "GraphQL placeOrder, hot, members' tiered prices", op: memberOps.graphqlOrder(() => hot) },
    // Every answer a refusal (issue 31: refusals of a product known to be sold out should cost next to nothing).
    { name: "GraphQL placeOrder, sold out (refusals/s)", op: ops.graphqlOrder(() => soldOut) },
    {
      name: "raw SQL (c) batched, hot at 3 locations",
      op: ops.batchedOrder(() => hot3, sizesOf("GraphQL placeOrder, hot at 3 locations")),
    },
    // The hold path beside the order path (issue 13): a hold is one statement, not group-committed.
    ...(opts.holds
      ? [
          { name: "GraphQL reserveStock, spread", op: ops.graphqlHold(spreadProduct, false) },
          { name: "GraphQL reserveStock, hot", op: ops.graphqlHold(() => hot, false) },
          { name: "GraphQL reserveStock + placeOrder(holdId), hot", op: ops.graphqlHold(() => hot, true) },
        ]
      : []),
  ];
  const scenarios = allScenarios.filter(({ name }) => !opts.only || opts.only.some((w) => name.includes(w)));
  const measured = new Map<string, { runs: RawRun[]; cpu: CpuShare[]; tx: number }>();
  // Committed transactions in the benchmark database (PostgreSQL's statistics
  // lag by up to a second; over a 10 s window that is noise).
  const commits = async () => {
    await pool.query("SELECT pg_stat_force_next_flush()").catch(() => {});
    const { rows } = await pool.query<{ n: string }>("SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()");
    return Number(rows[0]!.n);
  };
  const parties = { api: { pid: api.pid }, pg: postgres.pid ? { pid: postgres.pid, tree: true } : undefined };
  const measure = async (name: string, op: Op, fixed?: number) => {
    if (cpuProfDir) log(`${name}: starts at API profile offset ~${((performance.now() - apiStartedAt) / 1000).toFixed(1)} s`);
    // Fresh planner statistics, as autovacuum keeps them on a running system. The seed's VACUUM ANALYZE
    // saw "order" empty; until a later ANALYZE, the foreign-key checks of each new order_item scan the
    // whole order table, so whichever scenario ran before autovacuum's first pass paid for all rows so far.
    await pool.query("ANALYZE");
    const tx0 = await commits();
    const stats0 = name.startsWith("GraphQL") ? await apiStats() : undefined;
    const before = cpuMark(parties);
    const result = await runClosedLoop(
      fixed
        ? { concurrency: opts.concurrency, totalRequests: fixed, op }
        : { concurrency: opts.concurrency, durationMs: opts.durationMs, op },
    );
    const cpu = cpuShare(before, cpuMark(parties));
    const tx = (await commits()) - tx0;
    if (stats0) apiBatches.set(name, addStats(apiBatches.get(name), statsDelta(stats0, await apiStats())));
    if (api.exitedAs()) throw new Error(`the API process stopped during "${name}" (${api.exitedAs()}); its log:\n${api.logTail()}`);
    const m = measured.get(name) ?? { runs: [], cpu: [], tx: 0 };
    m.runs.push(...result.runs);
    m.cpu.push(cpu);
    m.tx += tx;
    measured.set(name, m);
    const p = (x: number | undefined) => (x ?? NaN).toFixed(0);
    log(
      `${name}: ${result.okRate.toFixed(0)} ok/s, ${result.rate.toFixed(0)} req/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, ` +
        `ok ${result.ok}, refused ${result.refused}, errors ${result.errors}; CPU api ${p(cpu.parties.api)}% pg ${p(cpu.parties.pg)}% loadgen ${p(cpu.bench)}% machine ${p(cpu.machine)}%; ${tx} commits`,
    );
    for (const [msg, n] of result.errorSamples) log(`  error x${n}: ${msg}`);
    if (result.errors > 0) log(`API log tail:\n${api.logTail()}`);
    return result;
  };

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
  const flashResult = await measure(
    flashName,
    ops.graphqlOrder(() => flash),
    opts.flashOrders,
  );
  const rows = [...measured].map(([name, m]) => ({ name, result: summarize(m.runs), cpu: cpuMerge(m.cpu), commits: m.tx }));

  const checks = await orderChecks(pool, {
    flash,
    flashUnits: opts.flashUnits,
    flashOrders: opts.flashOrders,
    flashResult,
    initialStock,
    okTotal: ops.okTotal() + memberOps.okTotal(),
  });
  const settings = (
    await pool.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'shared_buffers', 'max_connections')`,
    )
  ).rows;
  const s = (n: string) => settings.find((r) => r.name === n)?.setting ?? "?";
  const report = ordersReport(rows, checks, apiBatches);
  return {
    ...report,
    setup: [
      `PostgreSQL ${s("server_version")} (${postgres.given ? "DATABASE_URL" : "throwaway, default settings"}: fsync=${s("fsync")}, synchronous_commit=${s("synchronous_commit")}, shared_buffers=${(Number(s("shared_buffers")) * 8) / 1024} MiB)`,
      `concurrency ${opts.concurrency} (closed loop), ${opts.rounds > 1 ? `${opts.rounds} interleaved rounds of ` : ""}${opts.durationMs / 1000} s measured per scenario after ${opts.warmupMs / 1000} s warm-up; ` +
        `API DATABASE_POOL_SIZE=${opts.pool}, raw-SQL pool ${opts.rawPool}; ${spread.length} spread products, ${customers.length} customers`,
    ],
  };
}

const opts = ordersOptions();
await runBench("orders", { save: opts.save, resultsDir: opts.resultsDir, options: opts }, (h) => orders(h, opts));
