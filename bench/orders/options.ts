// bench/orders options: one table for parsing and --help.
import path from "node:path";
import { root } from "../lib/harness.js";
import { parseOptions } from "../lib/options.js";

const FOOTER = `DATABASE_URL (optional): a PostgreSQL server to use instead of a throwaway one;
a fresh database is created on it and dropped at the end.`;

export function ordersOptions(args = process.argv.slice(2)) {
  const o = parseOptions(
    "npx tsx bench/orders/main.ts [options]   (or: npm run bench:orders -- [options])",
    {
      duration: { arg: "<s>", default: "10", help: "measured time per scenario" },
      warmup: { arg: "<s>", default: "2", help: "unmeasured warm-up before each scenario" },
      rounds: {
        arg: "<n>",
        default: "1",
        help: "run the scenarios n times, interleaved, and pool the\nresults (helps on a machine shared with others)",
      },
      concurrency: { arg: "<n>", default: "32", help: "closed-loop clients" },
      products: { arg: "<n>", default: "1000", help: "products for the spread scenarios" },
      customers: { arg: "<n>", default: "200", help: "customers placing orders" },
      pool: { arg: "<n>", default: "20", help: "the API's DATABASE_POOL_SIZE" },
      "raw-pool": {
        arg: "<n>",
        help: "pg connections of the raw-SQL baseline (default: --pool,\nso both sides queue the same clients on as many connections)",
      },
      "flash-units": { arg: "<n>", default: "500", help: "stock of the flash-sale product" },
      "flash-orders": { arg: "<n>", help: "orders sent in the flash sale (default 4 x units)" },
      "cpu-prof": {
        flag: true,
        help: "write a V8 CPU profile of the API to .cache/bench-profiles/\n(summarise with: npx tsx bench/profile-summary.ts <file>)",
      },
      holds: {
        flag: true,
        default: true,
        help: "also measure the hold path: reserveStock, and reserveStock then\nplaceOrder(holdId), beside placeOrder",
      },
      only: {
        arg: "<words>",
        help: "run only the scenarios whose name contains one of these\n|-separated strings (e.g. hot); the flash sale always runs",
      },
      save: { flag: true, default: true, help: "write the report to --results-dir" },
      "results-dir": { arg: "<dir>", default: "bench/results", help: "where reports go (relative to the repository root)" },
    },
    FOOTER,
    args,
  );
  const flashUnits = o.int("flash-units", 1);
  return {
    durationMs: o.number("duration", 0.1) * 1000,
    warmupMs: o.number("warmup", 0) * 1000,
    rounds: o.int("rounds", 1),
    concurrency: o.int("concurrency", 1),
    products: o.int("products", 1),
    customers: o.int("customers", 1),
    pool: o.int("pool", 1),
    rawPool: o.given("raw-pool") ? o.int("raw-pool", 1) : o.int("pool", 1),
    flashUnits,
    flashOrders: o.given("flash-orders") ? o.int("flash-orders", 1) : 4 * flashUnits,
    cpuProf: o.flag("cpu-prof"),
    save: o.flag("save"),
    holds: o.flag("holds"),
    only: o.string("only")?.split("|").filter(Boolean),
    resultsDir: path.resolve(root, o.string("results-dir")!),
  };
}

export type OrdersOptions = ReturnType<typeof ordersOptions>;
