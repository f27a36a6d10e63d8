// bench/realtime options: one table for parsing and --help, checked once.
import path from "node:path";
import { root } from "../lib/harness.js";
import { configuredKafkaClient, isKafkaClient, KAFKA_CLIENTS, type KafkaClient } from "../lib/kafka-client.js";
import { parseOptions } from "../lib/options.js";
import type { PhaseKind } from "./results.js";

const FOOTER = `Without --subscribers, --rate or --deliveries it runs the full suite: 1,000, 5,000
and 10,000 subscribers at 2,500 to 50,000 deliveries/s offered (past the socket
floor's saturation on 2 cores), then the flash sale. That takes the better part
of an hour; name a scenario to run just that one.

DATABASE_URL, REDIS_URL, KAFKA_BROKERS (optional): servers to use instead of
throwaway ones (a fresh database, topics and consumer group are created on them).
With DATABASE_URL the server needs track_commit_timestamp=on for commit times;
without it, latency is measured from the event's occurredAt instead.`;

const PHASES: PhaseKind[] = ["socket-floor", "pipeline", "redis-floor"];

export function realtimeOptions(args = process.argv.slice(2)) {
  const o = parseOptions(
    "npx tsx bench/realtime/main.ts [options]   (or: npm run bench:realtime -- [options])",
    {
      scenarios: {
        arg: "<list>",
        help: "matrix (every --subscribers x rate x --topology) and/or flash\n(default matrix,flash for the full suite, else matrix)",
      },
      subscribers: {
        arg: "<n,...>",
        default: "1000,5000,10000",
        help: "WebSocket subscribers; one scenario per value (and rate),\neach with a fresh API process",
      },
      deliveries: {
        arg: "<n,...>",
        default: "2500,12500,25000,50000",
        help: "deliveries/s offered; the event rate of a scenario is this /\n(subscribers x per-subscriber / products)",
      },
      rate: { arg: "<n,...>", help: "events (orders) per second instead of --deliveries" },
      products: { arg: "<n>", default: "20", help: "products the orders go to" },
      "per-subscriber": { arg: "<n>", default: "5", help: "products each subscriber watches, one subscription" },
      duration: { arg: "<s>", default: "20", help: "measured time per phase" },
      warmup: { arg: "<s>", default: "3", help: "unmeasured time at the start of each phase" },
      rounds: { arg: "<n>", default: "1", help: "phases per scenario part, interleaved" },
      topology: {
        arg: "<t>",
        default: "single",
        help: "single: one process runs api, relay and bridge (npm start:\nrelay and bridge on a worker thread of their own);\nsplit: api in one process, relay + bridge in another\n(docker-compose runs all three apart); both: one after the other",
      },
      "kafka-clients": {
        arg: "<list>",
        help:
          `KAFKA_CLIENT of the Stockwire processes: ${KAFKA_CLIENTS.join(", ")}\n` +
          "(default: KAFKA_CLIENT of this environment, else the config's).\n" +
          "Two or more: the pipeline phase runs once per client in every\n" +
          "round (A B A B ...), same subscribers and API process, each\n" +
          "after a fresh relay + bridge process on that client and a\n" +
          "warm-up; needs --topology split (its default then)",
      },
      phases: {
        arg: "<list>",
        default: PHASES.join(","),
        help: "socket-floor: a bare ws server, same sockets, same events;\npipeline: orders through the whole pipeline and the API;\nredis-floor (or floor): PUBLISH to Redis, through the API",
      },
      threads: { arg: "<n>", default: "2", help: "worker threads hosting the subscribers" },
      "connect-concurrency": { arg: "<n>", default: "50", help: "subscriptions set up at once per thread" },
      pool: { arg: "<n>", default: "20", help: "the API's DATABASE_POOL_SIZE" },
      customers: { arg: "<n>", default: "50", help: "customers placing orders" },
      "drain-timeout": { arg: "<s>", default: "60", help: "how long to wait for the last deliveries" },
      seed: { arg: "<n>", default: "1", help: "random seed for product choices" },
      "flash-subscribers": { arg: "<n>", default: "10000", help: "flash sale: subscribers, all on the one flash product" },
      "flash-rate": { arg: "<n>", default: "300", help: "flash sale: orders per second" },
      "flash-max-updates": {
        arg: "<n>",
        default: "10",
        help: "flash sale: maxUpdatesPerSecond each subscriber asks for\n(sent only if schema.graphql has the argument)",
      },
      "flash-units": {
        arg: "<n>",
        help: "flash sale: stock at the start of each phase\n(default 80% of a phase's orders, so it sells out)",
      },
      "cpu-prof": {
        flag: true,
        help: "write a V8 CPU profile of the API process to\n.cache/bench-profiles/ (the bench prints each phase's offset;\nsummarise with bench/profile-summary.ts)",
      },
      save: { flag: true, default: true, help: "write the report to --results-dir" },
      "results-dir": { arg: "<dir>", default: "bench/results", help: "where reports go (relative to the repository root)" },
    },
    FOOTER,
    args,
  );
  const fullSuite = !o.given("subscribers") && !o.given("rate") && !o.given("deliveries");
  const scenarios = new Set((o.string("scenarios") ?? (fullSuite ? "matrix,flash" : "matrix")).split(",").map((s) => s.trim()));
  if (!scenarios.size || ![...scenarios].every((s) => s === "matrix" || s === "flash")) o.fail("--scenarios: matrix, flash or both");
  const kafkaClients = [...new Set((o.string("kafka-clients") ?? configuredKafkaClient()).split(",").map((s) => s.trim()))];
  if (!kafkaClients.length || !kafkaClients.every(isKafkaClient)) o.fail(`--kafka-clients: any of ${KAFKA_CLIENTS.join(", ")}`);
  // Only the relay + bridge process runs Kafka on the hot path (an api-only process just pings it), so a
  // comparison swaps that process and keeps the API and its subscribers.
  const compareClients = kafkaClients.length > 1;
  const topology = o.given("topology") || !compareClients ? o.string("topology") : "split";
  if (compareClients && topology !== "split") o.fail("--kafka-clients with two or more clients needs --topology split");
  if (topology !== "single" && topology !== "split" && topology !== "both") o.fail("--topology must be single, split or both");
  const phases = new Set(
    (o.string("phases") ?? "").split(",").map((s) => (s.trim() === "floor" ? "redis-floor" : s.trim())) as PhaseKind[],
  );
  if (!phases.size || ![...phases].every((p) => PHASES.includes(p))) o.fail(`--phases: any of ${PHASES.join(", ")}`);
  const opts = {
    scenarios,
    subscribers: o.numbers("subscribers", 1).map(Math.floor),
    deliveries: o.numbers("deliveries", 1),
    rates: o.given("rate") ? o.numbers("rate", 0.1) : undefined,
    products: o.int("products", 1),
    perSubscriber: o.int("per-subscriber", 1),
    durationMs: o.number("duration", 0.1) * 1000,
    warmupMs: o.number("warmup", 0) * 1000,
    rounds: o.int("rounds", 1),
    topologies: (topology === "both" ? ["single", "split"] : [topology]) as ("single" | "split")[],
    phases,
    kafkaClients: kafkaClients as KafkaClient[],
    threads: o.int("threads", 1),
    connectConcurrency: o.int("connect-concurrency", 1),
    pool: o.int("pool", 1),
    customers: o.int("customers", 1),
    drainTimeoutMs: o.number("drain-timeout", 1) * 1000,
    seed: o.int("seed", 0),
    flash: {
      subscribers: o.int("flash-subscribers", 1),
      rate: o.number("flash-rate", 0.1),
      maxUpdatesPerSecond: o.int("flash-max-updates", 1),
      units: o.given("flash-units") ? o.int("flash-units", 1) : undefined,
    },
    cpuProf: o.flag("cpu-prof"),
    save: o.flag("save"),
    resultsDir: path.resolve(root, o.string("results-dir")!),
  };
  if (opts.perSubscriber > opts.products) o.fail("--per-subscriber cannot exceed --products");
  return opts;
}

export type RealtimeOptions = ReturnType<typeof realtimeOptions>;
