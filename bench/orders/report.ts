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

export function ordersReport(rows: ScenarioRow[], checks: Check[]) {
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
  const ratios: Record<string, { graphql: number; ceiling: number; ratio: number }> = {};
  for (const where of ["spread", "hot"]) {
    const gql = row(`GraphQL placeOrder, ${where}`).result.okRate;
    const a = row(`raw SQL (a) classic tx, ${where}`).result.okRate;
    const b = row(`raw SQL (b) single statement, ${where}`).result.okRate;
    const ceiling = Math.max(a, b);
    ratios[where] = { graphql: gql, ceiling, ratio: gql / ceiling };
    out.push(
      `- ${where}: GraphQL ${gql.toFixed(0)} orders/s vs raw-SQL ceiling ${ceiling.toFixed(0)} (${a >= b ? "(a) classic tx" : "(b) single statement"}) = **${(gql / ceiling).toFixed(2)}x** ` +
        `(vs (a) ${(gql / a).toFixed(2)}x, vs (b) ${(gql / b).toFixed(2)}x)`,
    );
  }
  // When the whole stack is CPU-bound on one machine (spread), throughput is
  // inversely proportional to the CPU each order costs, wherever it is spent.
  const cost = (name: string) => msPerReq(row(name).result, ours(row(name).cpu));
  const gqlCost = cost("GraphQL placeOrder, spread");
  const rawCost = Math.min(cost("raw SQL (a) classic tx, spread"), cost("raw SQL (b) single statement, spread"));
  out.push(
    `- spread, by CPU cost (API + PostgreSQL + load generator per order, which is what bounds throughput when this machine is CPU-bound): ` +
      `GraphQL ${gqlCost.toFixed(2)} ms vs raw SQL ${rawCost.toFixed(2)} ms = **${(rawCost / gqlCost).toFixed(2)}x**` +
      (Number.isFinite(gqlCost) ? "" : " (needs the throwaway PostgreSQL for its CPU figures)"),
  );
  out.push("");
  for (const c of checks) out.push(`- ${c.pass ? "PASS" : "FAIL"}: ${c.text}`);
  const data = {
    scenarios: rows.map(({ name, result, cpu, commits }) => {
      const { runs: _runs, errorSamples, ...r } = result as LoadResult & { runs?: unknown };
      return { name, ...r, errorSamples: Object.fromEntries(errorSamples), cpu, commits };
    }),
    ratios: { ...ratios, spreadByCpuCost: { graphqlMs: gqlCost, rawMs: rawCost, ratio: rawCost / gqlCost } },
    checks,
  };
  return { markdown: out.join("\n"), data, pass: checks.every((c) => c.pass) };
}
