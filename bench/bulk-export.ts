// Bulk export (issue 25, the export half of bench:bulk): GET /export/products.csv, stock.csv and
// ledger.csv of --products products (one level each, one ledger row each) from the API process, against
// the floor of the same run: `COPY (SELECT the same columns, in the same order) TO STDOUT (FORMAT csv,
// HEADER)` on the same PostgreSQL, read by this process as fast as it can (pg-copy-streams). Interleaved
// rounds, medians. The API's resident memory is sampled during its exports and compared with its idle
// RSS (after a full GC, with one small export behind it); a full GC follows each export. Checks: every export is whole (its bytes are
// the floor's, byte for byte).
// Goals: export >= 0.5x the COPY rate; the API's RSS within 100 MB of idle.
//
//   npm run bench:bulk:export [-- --products 100000 --rounds 3]
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { request, type IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { signToken } from "../src/auth/tokens.js";
import { startApi, type ApiProcess } from "./lib/api.js";
import { root, runBench, type Harness, type Outcome } from "./lib/harness.js";
import { parseOptions } from "./lib/options.js";
import { f1, f2, int, table } from "./lib/report.js";
import { freshDatabase, startBenchServices } from "./lib/services.js";
import { processMemory } from "./lib/stats.js";

const options = parseOptions("npx tsx bench/bulk-export.ts [options]", {
  products: { arg: "<n>", default: "100000", help: "Products seeded (each with one level and one ledger row)" },
  rounds: { arg: "<n>", default: "3", help: "Interleaved rounds (floor, then API) per export; medians reported" },
  "cpu-prof": {
    flag: true,
    help: "Write a V8 CPU profile of the API process to .cache/bench-profiles/\n(summarise with: npx tsx bench/profile-summary.ts <file>)",
  },
  save: { flag: true, default: true, help: "Write the report to bench/results (--no-save: do not)" },
  "results-dir": { arg: "<dir>", default: "bench/results", help: "Where reports go" },
});
const opts = {
  products: options.int("products", 1),
  rounds: options.int("rounds", 1),
  cpuProf: options.flag("cpu-prof"),
  save: options.flag("save"),
  resultsDir: options.string("results-dir")!,
};

const MIB = 2 ** 20;
const RATIO_GOAL = 0.5;
const MEMORY_GOAL_MIB = 100;

type Kind = "products" | "stock" | "ledger";
const KINDS: Kind[] = ["products", "stock", "ledger"];

// The floor: the export's rows in one statement (src/db/export.sql.ts reads them in keyset pages).
const FLOOR_SELECT: Record<Kind, string> = {
  products: `SELECT p.sku, p.name, p.description, p.price_cents, p.currency, l.code AS location, s.on_hand
    FROM product p LEFT JOIN stock_level s ON s.product_id = p.id LEFT JOIN location l ON l.id = s.location_id ORDER BY p.sku, l.code`,
  stock: `SELECT p.sku, l.code AS location, s.on_hand, s.committed, s.reserved, s.incoming,
      greatest(0, s.on_hand - s.committed - s.reserved) AS available
    FROM product p JOIN stock_level s ON s.product_id = p.id JOIN location l ON l.id = s.location_id ORDER BY p.sku, l.code`,
  ledger: `SELECT m.id, to_char(m.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at, p.sku,
      l.code AS location, m.reason, m.adjustment_reason, m.delta_on_hand, m.delta_committed, m.delta_reserved, m.delta_incoming,
      m.on_hand_after, m.committed_after, m.reserved_after, m.incoming_after, m.version_after, m.order_id, m.hold_id,
      m.transfer_id, m.actor, m.note
    FROM stock_movement m JOIN product p ON p.id = m.product_id JOIN location l ON l.id = m.location_id ORDER BY m.id`,
};

interface Read {
  ms: number;
  bytes: number;
  sha256: string;
}

/** Reads a stream to its end, hashing it (both sides pay the same), timed from `started`. */
async function drain(stream: Readable, started: number): Promise<Read> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    hash.update(chunk);
  }
  return { ms: performance.now() - started, bytes, sha256: hash.digest("hex") };
}

async function floorRead(pool: pg.Pool, kind: Kind): Promise<Read> {
  const client = await pool.connect();
  try {
    const started = performance.now();
    return await drain(client.query(copyTo(`COPY (${FLOOR_SELECT[kind]}) TO STDOUT (FORMAT csv, HEADER)`)), started);
  } finally {
    client.release();
  }
}

/** GET /export/<kind>.csv, with the API's RSS sampled every 10 ms meanwhile (its largest value returned). */
async function apiRead(api: ApiProcess, token: string, kind: Kind): Promise<Read & { rssMax: number }> {
  let rssMax = processMemory(api.pid).rss;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, processMemory(api.pid).rss)), 10);
  try {
    const started = performance.now();
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      request(`${api.url}/export/${kind}.csv`, { headers: { authorization: `Bearer ${token}` }, agent: false }, resolve)
        .on("error", reject)
        .end(),
    );
    if (res.statusCode !== 200) throw new Error(`GET /export/${kind}.csv: HTTP ${res.statusCode}`);
    const read = await drain(res, started);
    return { ...read, rssMax: Math.max(rssMax, processMemory(api.pid).rss) };
  } finally {
    clearInterval(sampler);
  }
}

async function seed(h: Harness, pool: pg.Pool) {
  // Names with a comma and quotes, descriptions with a line break: the quoting is part of the work.
  await pool.query(
    `INSERT INTO product (sku, name, description, price_cents, currency, stock)
     SELECT 'BULK-' || lpad(g::text, 7, '0'), 'Product ' || g || ', "bulk"', 'Description of product ' || g || E',\\nsecond line',
       100 + g % 10000, 'EUR', g % 500 FROM generate_series(1, $1::int) g`,
    [opts.products],
  );
  // The opening ledger rows (as createProduct writes them), one per level.
  await pool.query(
    `INSERT INTO stock_movement (product_id, location_id, delta_on_hand, delta_committed, delta_reserved, delta_incoming,
       on_hand_after, committed_after, reserved_after, incoming_after, reason, actor, version_after)
     SELECT product_id, location_id, on_hand, 0, 0, 0, on_hand, 0, 0, 0, 'CREATED', 'admin', 0 FROM stock_level`,
  );
  await pool.query("VACUUM ANALYZE");
  h.log(`seeded ${int(opts.products)} products, their levels and ledger rows`);
}

interface Row {
  kind: Kind;
  floor: Read[];
  api: (Read & { rssMax: number })[];
  /** The API's RSS after each of its exports and a full GC. */
  rssAfterGc: number[];
}

async function bulkExport(h: Harness): Promise<Outcome> {
  const { postgres } = await startBenchServices(h, { postgres: { maxConnections: 100 } });
  const db = await freshDatabase(h, postgres, "stockwire_bulk_export");
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  pool.on("error", () => {});
  h.onCleanup(() => pool.end());
  await seed(h, pool);

  const jwtSecret = randomBytes(32).toString("hex");
  const cpuProfDir = opts.cpuProf ? path.join(root, ".cache", "bench-profiles") : undefined;
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const api = await startApi({ databaseUrl: db.url, poolSize: 10, jwtSecret, memoryProbe: true, cpuProfDir });
  h.onCleanup(() => api.stop());
  h.log(`API ${api.url} (pid ${api.pid})`);
  const token = await signToken({ role: "admin" }, jwtSecret);
  // Idle: the code paths loaded (a small export: the ledger from now on is empty), then a full GC.
  const warm = await new Promise<Buffer>((resolve) =>
    request(`${api.url}/export/ledger.csv?since=2999-01-01`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c)).on("end", () => resolve(Buffer.concat(chunks)));
    }).end(),
  );
  h.log(`warm-up export: ${warm.length} bytes`);
  const idle = (await api.memory()).rss;
  h.log(`API idle RSS ${f1(idle / MIB)} MiB (after a full GC)`);

  const rows: Row[] = KINDS.map((kind) => ({ kind, floor: [], api: [], rssAfterGc: [] }));
  for (let round = 1; round <= opts.rounds; round++) {
    for (const row of rows) {
      row.floor.push(await floorRead(pool, row.kind));
      row.api.push(await apiRead(api, token, row.kind));
      // A full GC after each export, so that each one's peak is its own, not the garbage of the one before.
      row.rssAfterGc.push((await api.memory()).rss);
      const f = row.floor.at(-1)!;
      const a = row.api.at(-1)!;
      h.log(
        `round ${round} ${row.kind}: COPY ${f1(f.ms)} ms, API ${f1(a.ms)} ms (${int(a.bytes)} bytes, ` +
          `RSS max ${f1(a.rssMax / MIB)} MiB)${a.sha256 === f.sha256 ? "" : " BYTES DIFFER"}`,
      );
      if (api.exitedAs()) throw new Error(`the API stopped (${api.exitedAs()}):\n${api.logTail()}`);
    }
  }
  const after = await api.memory();
  return report(rows, idle, after);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

function report(rows: Row[], idle: number, after: NodeJS.MemoryUsage): Outcome {
  const lines = rows.map((r) => {
    const floorMs = median(r.floor.map((x) => x.ms));
    const apiMs = median(r.api.map((x) => x.ms));
    const same = r.api.every((a, i) => a.sha256 === r.floor[i]!.sha256 && a.bytes === r.floor[i]!.bytes);
    const growth = (Math.max(...r.api.map((a) => a.rssMax)) - idle) / MIB;
    const afterGc = (Math.max(...r.rssAfterGc) - idle) / MIB;
    return { kind: r.kind, floorMs, apiMs, ratio: floorMs / apiMs, rows: opts.products, bytes: r.floor[0]!.bytes, same, growth, afterGc };
  });
  const products = lines.find((l) => l.kind === "products")!;
  const maxGrowth = Math.max(...lines.map((l) => l.growth));
  const whole = lines.every((l) => l.same);
  const goals: [string, string, boolean][] = [
    [`products.csv >= ${RATIO_GOAL}x the COPY rate`, `${f2(products.ratio)}x`, products.ratio >= RATIO_GOAL],
    [`API RSS within ${MEMORY_GOAL_MIB} MB of idle while exporting`, `+${f1(maxGrowth)} MiB`, maxGrowth <= MEMORY_GOAL_MIB],
  ];
  const markdown = [
    ...table(
      ["<export", "rows", "MiB", "COPY ms", "API ms", "API rows/s", "x COPY", "API RSS growth MiB", "after GC MiB", "<bytes = COPY's"],
      lines.map((l) => [
        `${l.kind}.csv`,
        int(l.rows),
        f1(l.bytes / MIB),
        f1(l.floorMs),
        f1(l.apiMs),
        int(l.rows / (l.apiMs / 1000)),
        `${f2(l.ratio)}x`,
        `+${f1(l.growth)}`,
        `+${f1(l.afterGc)}`,
        l.same ? "yes" : "NO",
      ]),
    ),
    "",
    `API idle RSS ${f1(idle / MIB)} MiB (after a full GC); after the exports and a full GC: RSS ${f1(after.rss / MIB)} MiB, ` +
      `heap used ${f1(after.heapUsed / MIB)} MiB.`,
    "",
    "Goals (ratios of the same run):",
    "",
    ...goals.map(([what, got, met]) => `- ${what}: ${got}, ${met ? "met" : "not met"}`),
    "",
    `Checks: ${whole ? "PASS, every export byte for byte what COPY wrote" : "FAIL, an export differs from COPY's output"}`,
  ].join("\n");
  return {
    pass: whole,
    markdown,
    data: { lines, idleRss: idle, after, rounds: rows },
    setup: [
      `${int(opts.products)} products (one level, one ledger row each), ${opts.rounds} interleaved rounds (COPY, then the API), medians; ` +
        "one API process (dist/, DATABASE_POOL_SIZE=10), PostgreSQL only; RSS sampled every 10 ms from /proc",
    ],
  };
}

await runBench("bulk-export", { save: opts.save, resultsDir: opts.resultsDir, options: opts }, bulkExport);
