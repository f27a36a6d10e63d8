// Catalogue read throughput against the `{ __typename }` floor of the same API process and run:
// product(id) and products(first: 20) over a working set that fits the response cache, and a
// miss-heavy product(id) (every read a different product of --products). Two API processes, one
// after the other: RESPONSE_CACHE=on and =off (the read path without the cache, as before it).
// See bench/README.md.
//
//   npm run bench:reads [-- --duration 5 --concurrency 16 --products 100000]
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { encodeGlobalId } from "../../src/ids/index.js";
import { signToken } from "../../src/auth/tokens.js";
import { startApi, type ApiProcess } from "../lib/api.js";
import { cpuMark, cpuShare } from "../lib/cpu.js";
import { root, runBench, type Harness, type Outcome } from "../lib/harness.js";
import { jsonClient, type JsonClient } from "../lib/http.js";
import { runClosedLoop, type LoadResult } from "../lib/load.js";
import { parseOptions } from "../lib/options.js";
import { f1, int, ratio, table } from "../lib/report.js";
import { freshDatabase, startBenchServices } from "../lib/services.js";

const options = parseOptions("npx tsx bench/reads/main.ts [options]", {
  duration: { arg: "<s>", default: "5", help: "Seconds measured per scenario" },
  warmup: { arg: "<s>", default: "1", help: "Seconds of unmeasured warm-up per scenario" },
  concurrency: { arg: "<n>", default: "16", help: "Closed-loop clients (keep-alive sockets)" },
  products: { arg: "<n>", default: "100000", help: "Products seeded (the miss-heavy scenario reads each once at most)" },
  "working-set": { arg: "<n>", default: "200", help: "Products the cached product(id) scenario reads" },
  pool: { arg: "<n>", default: "20", help: "DATABASE_POOL_SIZE of the API" },
  "cpu-prof": {
    flag: true,
    help: "Write a V8 CPU profile of each API process to .cache/bench-profiles/\n(summarise with: npx tsx bench/profile-summary.ts <file>)",
  },
  save: { flag: true, default: true, help: "Write the report to bench/results (--no-save: do not)" },
  "results-dir": { arg: "<dir>", default: "bench/results", help: "Where reports go" },
});
const opts = {
  durationMs: options.number("duration", 0.1) * 1000,
  warmupMs: options.number("warmup", 0) * 1000,
  concurrency: options.int("concurrency", 1),
  products: options.int("products", 100),
  workingSet: options.int("working-set", 1),
  pool: options.int("pool", 1),
  cpuProf: options.flag("cpu-prof"),
  save: options.flag("save"),
  resultsDir: options.string("results-dir")!,
};

const PRODUCT = `query ($id: ID!) { product(id: $id) { id sku name priceCents stock available version } }`;
const PAGE = `query ($after: String) { products(first: 20, after: $after) { edges { cursor node { id sku name priceCents stock available } } pageInfo { hasNextPage endCursor } } }`;
const FLOOR = `{ __typename }`;
// Issue 27: a grouped customer's price for 5 (the rule over its list's tiers) against the base price, same viewer.
const BASE_PRICE = `query ($id: ID!) { product(id: $id) { id priceCents } }`;
const MEMBER_PRICE = `query ($id: ID!) { product(id: $id) { id price(quantity: 5) { amountCents currency } } }`;

type Op = () => Promise<"ok" | "error" | { outcome: "error"; detail: string }>;
const gqlOp = (http: JsonClient, query: string, variables: () => Record<string, unknown>, headers?: Record<string, string>): Op => {
  return async () => {
    const { status, json } = await http.post("/graphql", JSON.stringify({ query, variables: variables() }), headers);
    const body = json as { data?: unknown; errors?: { message: string }[] };
    return status === 200 && body.data && !body.errors
      ? "ok"
      : { outcome: "error", detail: `HTTP ${status} ${JSON.stringify(body).slice(0, 200)}` };
  };
};

type Key = "floor" | "product" | "page" | "miss" | "base-price" | "member-price";
interface Row {
  cache: "on" | "off";
  key: Key;
  name: string;
  result: LoadResult;
  apiCpuPct: number;
}

async function reads(h: Harness): Promise<Outcome> {
  const { postgres } = await startBenchServices(h, { postgres: { maxConnections: 200 } });
  const db = await freshDatabase(h, postgres, "stockwire_reads");
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on("error", () => {});
  h.onCleanup(() => pool.end());
  await pool.query(
    `INSERT INTO product (sku, name, description, price_cents, currency, stock)
     SELECT 'READ-' || lpad(g::text, 6, '0'), 'Read product ' || g, 'A product to read', 1000 + g, 'EUR', 1000 FROM generate_series(1, $1::int) g`,
    [opts.products],
  );
  // A member of a group whose list prices every product with tiers (the member-price scenarios).
  const member = (
    await pool.query<{ id: string }>(
      `INSERT INTO customer (email, name, customer_group) VALUES ('reads-member@example.test', 'Reads member', 'reads-members') RETURNING id`,
    )
  ).rows[0]!.id;
  await pool.query(
    `WITH list AS (
       INSERT INTO price_list (code, name, currency, customer_group) VALUES ('READS-MEMBERS', 'Reads members', 'EUR', 'reads-members') RETURNING id
     )
     INSERT INTO price_list_entry (price_list_id, product_id, unit_price_cents, tiers)
     SELECT list.id, p.id, p.price_cents - 100,
       jsonb_build_array(jsonb_build_object('minQuantity', 3, 'unitPriceCents', p.price_cents - 200), jsonb_build_object('minQuantity', 10, 'unitPriceCents', p.price_cents - 300))
     FROM product p, list`,
  );
  await pool.query("VACUUM ANALYZE");
  const ids = (await pool.query<{ id: string }>("SELECT id FROM product ORDER BY id")).rows.map((r) => encodeGlobalId("Product", r.id));
  h.log(`seeded ${ids.length} products`);

  const cpuProfDir = opts.cpuProf ? path.join(root, ".cache", "bench-profiles") : undefined;
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const rows: Row[] = [];
  for (const cache of ["on", "off"] as const) {
    const jwtSecret = randomBytes(32).toString("hex");
    const memberAuth = {
      authorization: `Bearer ${await signToken({ role: "customer", sub: encodeGlobalId("Customer", member) }, jwtSecret)}`,
    };
    const api = await startApi({
      databaseUrl: db.url,
      poolSize: opts.pool,
      jwtSecret,
      env: { RESPONSE_CACHE: cache },
      cpuProfDir,
    });
    const stop = h.deferred(() => api.stop());
    h.log(`API RESPONSE_CACHE=${cache}: ${api.url} (pid ${api.pid})`);
    const http = jsonClient(api.url, opts.concurrency);
    rows.push(...(await scenarios(h, api, http, cache, ids, memberAuth)));
    http.close();
    await stop();
  }
  return report(rows);
}

async function scenarios(
  h: Harness,
  api: ApiProcess,
  http: JsonClient,
  cache: "on" | "off",
  ids: string[],
  memberAuth: Record<string, string>,
): Promise<Row[]> {
  const workingSet = ids.slice(0, opts.workingSet);
  // Page cursors of the first five pages (the working set of the page scenario).
  const cursors: (string | null)[] = [null];
  for (let i = 0; i < 4; i++) {
    const { json } = await http.post("/graphql", JSON.stringify({ query: PAGE, variables: { after: cursors.at(-1) } }));
    cursors.push((json as any).data.products.pageInfo.endCursor);
  }
  let next = 0;
  // Each read of the miss-heavy scenario a product not read before in this process.
  const unread = ids.slice(opts.workingSet);
  let cold = 0;
  const list: [Key, string, Op][] = [
    ["floor", "`{ __typename }` floor", gqlOp(http, FLOOR, () => ({}))],
    ["product", `product(id), ${workingSet.length} products`, gqlOp(http, PRODUCT, () => ({ id: workingSet[next++ % workingSet.length] }))],
    ["page", "products(first: 20), 5 pages", gqlOp(http, PAGE, () => ({ after: cursors[next++ % cursors.length] }))],
    [
      "miss",
      `product(id), miss-heavy (each of ${int(unread.length)} once)`,
      gqlOp(http, PRODUCT, () => ({ id: unread[cold++ % unread.length] })),
    ],
    [
      "base-price",
      `product(id) { priceCents } as a member, ${workingSet.length} products`,
      gqlOp(http, BASE_PRICE, () => ({ id: workingSet[next++ % workingSet.length] }), memberAuth),
    ],
    [
      "member-price",
      `product(id) { price(quantity: 5) } as a member, ${workingSet.length} products`,
      gqlOp(http, MEMBER_PRICE, () => ({ id: workingSet[next++ % workingSet.length] }), memberAuth),
    ],
  ];
  const out: Row[] = [];
  for (const [key, name, op] of list) {
    if (opts.warmupMs > 0 && key !== "miss") await runClosedLoop({ concurrency: opts.concurrency, durationMs: opts.warmupMs, op });
    const before = cpuMark({ api: { pid: api.pid } });
    const result = await runClosedLoop({ concurrency: opts.concurrency, durationMs: opts.durationMs, op });
    const cpu = cpuShare(before, cpuMark({ api: { pid: api.pid } }));
    if (api.exitedAs()) throw new Error(`the API stopped (${api.exitedAs()}):\n${api.logTail()}`);
    h.log(
      `cache ${cache}, ${name}: ${result.rate.toFixed(0)} req/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, errors ${result.errors}`,
    );
    for (const [msg, n] of result.errorSamples) h.log(`  error x${n}: ${msg}`);
    out.push({ cache, key, name, result, apiCpuPct: cpu.parties.api ?? NaN });
  }
  return out;
}

function report(rows: Row[]): Outcome {
  const rate = (cache: string, key: Key) => rows.find((r) => r.cache === cache && r.key === key)!.result.rate;
  const floorOf = (cache: string) => rate(cache, "floor");
  const goals: [string, number, number][] = [
    ["product(id), working set in cache >= 0.8x floor", rate("on", "product") / floorOf("on"), 0.8],
    ["products(first: 20) >= 0.6x floor", rate("on", "page") / floorOf("on"), 0.6],
    [
      "miss-heavy product(id) >= 2x the cache-off rate (cache-off: the read path as before the cache)",
      rate("on", "miss") / rate("off", "miss"),
      2,
    ],
    ["member's price(quantity: 5) >= 0.9x its priceCents (cache on)", rate("on", "member-price") / rate("on", "base-price"), 0.9],
  ];
  const errors = rows.reduce((n, r) => n + r.result.errors, 0);
  const markdown = [
    ...table(
      ["<RESPONSE_CACHE", "<scenario", "req/s", "x floor", "p50 ms", "p99 ms", "API CPU", "errors"],
      rows.map((r) => [
        r.cache,
        r.name,
        int(r.result.rate),
        ratio(r.result.rate, floorOf(r.cache)),
        f1(r.result.p50),
        f1(r.result.p99),
        `${f1(r.apiCpuPct)}%`,
        r.result.errors,
      ]),
    ),
    "",
    "Goals (ratios of the same run; the machine is shared, so absolute rates are noisy):",
    "",
    ...goals.map(([what, got, goal]) => `- ${what}: ${got.toFixed(2)}x, ${got >= goal ? "met" : "not met"}`),
    "",
    `Checks: ${errors === 0 ? "PASS, no errors" : `FAIL, ${errors} errors`}`,
  ].join("\n");
  return {
    pass: errors === 0,
    markdown,
    data: { rows: rows.map((r) => ({ ...r, result: { ...r.result, errorSamples: [...r.result.errorSamples] } })), goals },
    setup: [
      `${opts.concurrency} keep-alive clients (closed loop), ${opts.durationMs / 1000} s per scenario after ${opts.warmupMs / 1000} s warm-up (none for miss-heavy); ` +
        `${int(opts.products)} products, DATABASE_POOL_SIZE=${opts.pool}; one API process per RESPONSE_CACHE setting, PostgreSQL only (in-process stream)`,
    ],
  };
}

await runBench("reads", { save: opts.save, resultsDir: opts.resultsDir, options: opts }, reads);
