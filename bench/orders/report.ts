// bench/orders' report: one table of scenarios, the GraphQL / raw-SQL
// ceiling ratios, and the checks; the same as data for the JSON report.
import type { CpuShare } from "../lib/cpu.js";
import type { LoadResult } from "../lib/load.js";
import { f1, pct, table } from "../lib/report.js";
import type { Check } from "./checks.js";

export interface ScenarioRow {
  name: string;
  result: LoadResult;
  /** parties: api, pg. */
  cpu: CpuShare;
  /** Transactions committed in the database meanwhile, by anyone (the API's outbox relay too). */
  commits: number;
}

/** CPU milliseconds per request (all requests, refused included). */
const msPerReq = (r: LoadResult, pctOfCore: number) => (pctOfCore / 100) * (r.elapsedMs / r.requests);
const ours = (cpu: CpuShare) => (cpu.parties.api ?? NaN) + (Number.isFinite(cpu.parties.pg) ? cpu.parties.pg! : 0) + cpu.bench;

/** What GET /stats says about the order path (src/services/order-batcher.ts, sold-out.ts). */
export interface ApiOrderStats {
  batches: number;
  batchedOrders: number;
  sizes: Record<string, number>;
  deferred: number;
  fallbacks: number;
  failed: number;
  soldOutRefusals: number;
}
export type OrderPathStats = ApiOrderStats;

const COUNTERS = ["batches", "batchedOrders", "deferred", "fallbacks", "failed", "soldOutRefusals"] as const;

export function statsDelta(before: ApiOrderStats, after: ApiOrderStats): OrderPathStats {
  const d = Object.fromEntries(COUNTERS.map((k) => [k, after[k] - before[k]])) as Omit<OrderPathStats, "sizes">;
  const sizes: Record<string, number> = {};
  for (const [size, n] of Object.entries(after.sizes)) if (n - (before.sizes[size] ?? 0) > 0) sizes[size] = n - (before.sizes[size] ?? 0);
  return { ...d, sizes };
}

export function addStats(a: OrderPathStats | undefined, b: OrderPathStats): OrderPathStats {
  if (!a) return b;
  const sum = Object.fromEntries(COUNTERS.map((k) => [k, a[k] + b[k]])) as Omit<OrderPathStats, "sizes">;
  const sizes = { ...a.sizes };
  for (const [size, n] of Object.entries(b.sizes)) sizes[size] = (sizes[size] ?? 0) + n;
  return { ...sum, sizes };
}

const BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000];

/** Batch sizes as "1: n, 2: n, 3-4: n, ...", plus mean and max, weighted by batches. */
function sizeLine(sizes: Record<string, number>) {
  const entries = Object.entries(sizes).map(([size, n]) => [Number(size), n] as const);
  const batches = entries.reduce((t, [, n]) => t + n, 0);
  if (!batches) return { batches: 0, mean: NaN, p50: "-", max: "-", histogram: "-" };
  const orders = entries.reduce((t, [size, n]) => t + size * n, 0);
  const sorted = entries.sort((x, y) => x[0] - y[0]);
  let seen = 0;
  const p50 = sorted.find(([, n]) => (seen += n) >= batches / 2)![0];
  const parts: string[] = [];
  let lo = 1;
  for (const hi of BUCKETS) {
    const n = sorted.filter(([size]) => size >= lo && size <= hi).reduce((t, [, k]) => t + k, 0);
    if (n) parts.push(`${lo === hi ? lo : `${lo}-${hi}`}: ${n}`);
    lo = hi + 1;
  }
  return { batches, mean: orders / batches, p50, max: sorted.at(-1)![0], histogram: parts.join(", ") };
}

export function ordersReport(rows: ScenarioRow[], checks: Check[], apiBatches: Map<string, OrderPathStats> = new Map()) {
  const out: string[] = [];
  out.push(
    "CPU columns, during the measured phase, in % of one core: the API process, the PostgreSQL server (postmaster + all backends), " +
      "the load generator (this process, which also is the raw-SQL client), and everything else on the machine (other = all cores busy - those three). " +
      "`ms/req` = CPU milliseconds per request (all requests, refused included): less sensitive to a busy machine than the rates. " +
      "`commits/req` = transactions committed in the benchmark database per request, whoever committed them (the API's outbox relay commits too).",
    "",
  );
  out.push(
    ...table(
      [
        "<scenario",
        "orders/s",
        "p50 ms",
        "p99 ms",
        "ok",
        "refused",
        "errors",
        "CPU api",
        "api ms/req",
        "CPU pg",
        "pg ms/req",
        "CPU loadgen",
        "all 3 ms/req",
        "CPU other",
        "commits/req",
      ],
      rows.map(({ name, result: r, cpu, commits }) => {
        const perReq = (x: number | undefined) => (x !== undefined && Number.isFinite(x) && x > 0.5 ? msPerReq(r, x).toFixed(2) : "-");
        return [
          name,
          (name.includes("__typename") ? r.rate : r.okRate).toFixed(0),
          f1(r.p50),
          f1(r.p99),
          r.ok,
          r.refused,
          r.errors,
          pct(cpu.parties.api),
          perReq(cpu.parties.api),
          pct(cpu.parties.pg),
          perReq(cpu.parties.pg),
          pct(cpu.bench),
          perReq(ours(cpu)),
          pct(cpu.other),
          (commits / r.requests).toFixed(2),
        ];
      }),
    ),
    "",
  );
  const row = (name: string) => rows.find((r) => r.name === name)!;
  const okRate = (name: string) => rows.find((r) => r.name === name)?.result.okRate ?? NaN;
  const ratios: Record<string, { graphql: number; ceiling: number; ratio: number }> = {};
  // --only may have left out a whole side.
  for (const where of ["spread", "hot"].filter((w) => rows.some((r) => r.name === `GraphQL placeOrder, ${w}`))) {
    const gql = okRate(`GraphQL placeOrder, ${where}`);
    const a = okRate(`raw SQL (a) classic tx, ${where}`);
    const b = okRate(`raw SQL (b) single statement, ${where}`);
    const ceiling = Math.max(a, b);
    ratios[where] = { graphql: gql, ceiling, ratio: gql / ceiling };
    out.push(
      `- ${where}: GraphQL ${gql.toFixed(0)} orders/s vs raw-SQL ceiling ${ceiling.toFixed(0)} (${a >= b ? "(a) classic tx" : "(b) single statement"}) = **${(gql / ceiling).toFixed(2)}x** ` +
        `(vs (a) ${(gql / a).toFixed(2)}x, vs (b) ${(gql / b).toFixed(2)}x)`,
    );
  }
  // The issue's goals (issue 10), each a same-run ratio.
  const goals: Record<string, number> = {
    spreadVsClassic: okRate("GraphQL placeOrder, spread") / okRate("raw SQL (a) classic tx, spread"),
    hotVsClassic: okRate("GraphQL placeOrder, hot") / okRate("raw SQL (a) classic tx, hot"),
    hotVsBatched: okRate("GraphQL placeOrder, hot") / okRate("raw SQL (c) batched, hot"),
    spreadVsBatched: okRate("GraphQL placeOrder, spread") / okRate("raw SQL (c) batched, spread"),
  };
  out.push(
    `- goals: spread GraphQL / classic (a) = **${goals.spreadVsClassic!.toFixed(2)}x** (goal >= 0.8); ` +
      `hot GraphQL / classic (a) = **${goals.hotVsClassic!.toFixed(2)}x** (goal >= 1.5); ` +
      `hot GraphQL / batched (c) = **${goals.hotVsBatched!.toFixed(2)}x** (goal >= 0.6); spread GraphQL / batched (c) = ${goals.spreadVsBatched!.toFixed(2)}x`,
  );
  const flash = rows.find((r) => r.name.startsWith("GraphQL flash sale"));
  const classicHot = rows.find((r) => r.name === "raw SQL (a) classic tx, hot");
  if (flash && classicHot) {
    goals.flashP99VsClassicHotP99 = flash.result.p99 / classicHot.result.p99;
    out.push(
      `- flash sale p99 ${f1(flash.result.p99)} ms vs raw classic (hot) p99 ${f1(classicHot.result.p99)} ms = **${goals.flashP99VsClassicHotP99.toFixed(2)}x** (goal <= 2)`,
    );
  }
  // When the whole stack is CPU-bound on one machine (spread), throughput is
  // inversely proportional to the CPU each order costs, wherever it is spent.
  const cost = (name: string) => (row(name) ? msPerReq(row(name).result, ours(row(name).cpu)) : NaN);
  const gqlCost = cost("GraphQL placeOrder, spread");
  const rawCost = Math.min(cost("raw SQL (a) classic tx, spread"), cost("raw SQL (b) single statement, spread"));
  out.push(
    `- spread, by CPU cost (API + PostgreSQL + load generator per order, which is what bounds throughput when this machine is CPU-bound): ` +
      `GraphQL ${gqlCost.toFixed(2)} ms vs raw SQL ${rawCost.toFixed(2)} ms = **${(rawCost / gqlCost).toFixed(2)}x**` +
      (Number.isFinite(gqlCost) ? "" : " (needs the throwaway PostgreSQL for its CPU figures)"),
  );
  out.push("");
  if (apiBatches.size) {
    out.push(
      "Group commit in the API during each GraphQL scenario (GET /stats): batch statements sent, orders per batch (mean, median, max, " +
        "histogram of batches by size), orders refused from memory as sold out (no database round trip), and batches that failed or fell back to one by one.",
      "",
    );
    out.push(
      ...table(
        ["<scenario", "batches", "orders in batches", "mean", "p50", "max", "batches by size", "sold-out refusals", "fallbacks", "failed"],
        [...apiBatches]
          .filter(([, b]) => b.batches > 0 || b.soldOutRefusals > 0)
          .map(([name, b]) => {
            const l = sizeLine(b.sizes);
            return [name, b.batches, b.batchedOrders, f1(l.mean), l.p50, l.max, l.histogram, b.soldOutRefusals, b.fallbacks, b.failed];
          }),
      ),
      "",
    );
  }
  for (const c of checks) out.push(`- ${c.pass ? "PASS" : "FAIL"}: ${c.text}`);
  const data = {
    scenarios: rows.map(({ name, result, cpu, commits }) => {
      const { runs: _runs, errorSamples, ...r } = result as LoadResult & { runs?: unknown };
      return { name, ...r, errorSamples: Object.fromEntries(errorSamples), cpu, commits };
    }),
    ratios: { ...ratios, goals, spreadByCpuCost: { graphqlMs: gqlCost, rawMs: rawCost, ratio: rawCost / gqlCost } },
    apiBatches: Object.fromEntries(apiBatches),
    checks,
  };
  return { markdown: out.join("\n"), data, pass: checks.every((c) => c.pass) };
}
