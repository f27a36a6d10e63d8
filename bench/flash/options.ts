// bench/flash options: one table for parsing and --help, checked once.
import path from "node:path";
import { root } from "../lib/harness.js";
import { parseOptions } from "../lib/options.js";

const FOOTER = `Per round: the raw-SQL floor bursts, then one burst through the API per --watchers
value (a fresh product each), in the order given. The full scenario (issue 31) is
the default: 3,000 orders for 1,000 units at 256 connections, watched by nobody,
1,000 and 10,000 subscribers.

DATABASE_URL, REDIS_URL, KAFKA_BROKERS (optional): servers to use instead of
throwaway ones (a fresh database and topics are created on them). With
DATABASE_URL the server needs track_commit_timestamp=on for the last sale's
commit time; without it, lags are measured from its occurredAt instead.`;

const FLOORS = ["classic", "batched"] as const;
export type FloorKind = (typeof FLOORS)[number];

export function flashOptions(args = process.argv.slice(2)) {
  const o = parseOptions(
    "npx tsx bench/flash/main.ts [options]   (or: npm run bench:flash -- [options])",
    {
      watchers: {
        arg: "<n,...>",
        default: "0,1000,10000",
        help: "one burst per value: graphql-ws subscribers watching the\nproduct during it (0: nobody; the watchers' tax is against it)",
      },
      units: { arg: "<n>", default: "1000", help: "stock of each burst's fresh product" },
      orders: { arg: "<n>", default: "3000", help: "orders in each burst, one unit each, each from a different customer" },
      connections: { arg: "<n>", default: "256", help: "HTTP connections the client keeps open at most (a load balancer's)" },
      rounds: { arg: "<n>", default: "1", help: "repeat the floors and bursts, interleaved" },
      warmup: { arg: "<n>", default: "300", help: "ordinary orders (other products) before the first burst" },
      "max-updates": { arg: "<n>", default: "5", help: "maxUpdatesPerSecond each watcher asks for" },
      floors: {
        arg: "<list>",
        default: FLOORS.join(","),
        help: "raw-SQL bursts on the same PostgreSQL (the physical floor): classic\n(one transaction per order), batched (the API's group-commit\nstatement in the batch sizes the API formed); none: skip",
      },
      pool: { arg: "<n>", default: "20", help: "the API's DATABASE_POOL_SIZE; the raw-SQL floor gets as many connections" },
      "api-workers": {
        arg: "<n>",
        default: "1",
        help: "the API's API_WORKERS: processes sharing its port (each with\nits own pool of --pool connections)",
      },
      threads: { arg: "<n>", default: "2", help: "worker threads holding the watchers' sockets" },
      "connect-concurrency": { arg: "<n>", default: "50", help: "subscriptions set up at once per thread" },
      "drain-timeout": { arg: "<s>", default: "30", help: "how long to wait for every watcher to see the final count" },
      save: { flag: true, default: true, help: "write the report to --results-dir" },
      "results-dir": { arg: "<dir>", default: "bench/results", help: "where reports go (relative to the repository root)" },
    },
    FOOTER,
    args,
  );
  const floors = (o.string("floors") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s && s !== "none");
  if (!floors.every((f) => (FLOORS as readonly string[]).includes(f))) o.fail(`--floors: any of ${FLOORS.join(", ")}, or none`);
  return {
    watchers: o.numbers("watchers", 0).map(Math.floor),
    units: o.int("units", 1),
    orders: o.int("orders", 1),
    connections: o.int("connections", 1),
    rounds: o.int("rounds", 1),
    warmup: o.int("warmup", 0),
    maxUpdatesPerSecond: o.int("max-updates", 1),
    floors: floors as FloorKind[],
    pool: o.int("pool", 1),
    apiWorkers: o.int("api-workers", 1),
    threads: o.int("threads", 1),
    connectConcurrency: o.int("connect-concurrency", 1),
    drainTimeoutMs: o.number("drain-timeout", 1) * 1000,
    save: o.flag("save"),
    resultsDir: path.resolve(root, o.string("results-dir")!),
  };
}

export type FlashOptions = ReturnType<typeof flashOptions>;
