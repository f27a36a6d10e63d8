// Fault suite (issue 28, item 6): a load of orders, holds and stockChanged
// subscribers through HAProxy over two API instances, while PostgreSQL,
// Redis, Kafka and one API instance are paused (SIGSTOP) or killed in turn,
// each on servers of this run's own, on loopback. One row per fault; the
// issue's goals printed beside the figures. Exit code 1 only on a lost or
// doubled order (or a crash). See bench/README.md.
//
//   npm run chaos [-- --quick] [--fault-seconds 8] [--recovery-seconds 8] [--save]
import { runBench, type Harness, type Outcome } from "../lib/harness.js";
import { configuredKafkaClient, isKafkaClient, KAFKA_CLIENTS } from "../lib/kafka-client.js";
import { parseOptions } from "../lib/options.js";
import { checkOrders, type KeyVerdict } from "./checks.js";
import { dbVersions, startCluster, type Cluster } from "./cluster.js";
import { killFault, pauseFault, type Fault } from "./faults.js";
import { startLoad, type Load } from "./load.js";
import { markdown, rowOf, type Window } from "./report.js";
import { startWatchers, type Watchers } from "./subscribers.js";

const cli = parseOptions("npm run chaos -- [options]", {
  quick: { flag: true, help: "short outages and recoveries (about a minute of faults)" },
  "fault-seconds": { arg: "<s>", help: "how long each outage lasts (default 8, --quick 4)" },
  "recovery-seconds": { arg: "<s>", help: "load after each outage before the next one (default 8, --quick 5)" },
  rate: { arg: "<n>", default: "20", help: "orders per second (and a hold every tenth order)" },
  subscribers: { arg: "<n>", default: "50", help: "stockChanged subscribers over graphql-ws" },
  "kafka-client": {
    arg: "<name>",
    help: `KAFKA_CLIENT of both API instances: ${KAFKA_CLIENTS.join(" or ")}\n(default: KAFKA_CLIENT of this environment, else ${configuredKafkaClient({})})`,
  },
  save: { flag: true, help: "also write the report to bench/results/" },
});
const quick = cli.flag("quick");
const kafkaClientName = cli.string("kafka-client") ?? configuredKafkaClient();
const kafkaClient = isKafkaClient(kafkaClientName) ? kafkaClientName : cli.fail(`--kafka-client: ${KAFKA_CLIENTS.join(" or ")}`);
const opts = {
  quick,
  faultMs: (cli.given("fault-seconds") ? cli.number("fault-seconds", 1) : quick ? 4 : 8) * 1000,
  recoveryMs: (cli.given("recovery-seconds") ? cli.number("recovery-seconds", 2) : quick ? 5 : 8) * 1000,
  rate: cli.number("rate", 1),
  subscribers: cli.int("subscribers", 0),
  kafkaClient,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function faultsOf(c: Cluster): Fault[] {
  const api = c.apis[1]!;
  return [
    pauseFault("PostgreSQL pause", "postgres", c.postgres),
    killFault("PostgreSQL kill", "postgres", c.postgres),
    pauseFault("Redis pause", "redis", c.redis),
    killFault("Redis kill", "redis", c.redis),
    pauseFault("Kafka pause", "kafka", c.kafka),
    killFault("Kafka kill", "kafka", c.kafka),
    {
      name: "API kill (1 of 2)",
      backend: "api",
      kind: "kill",
      start: async () => void process.kill(-api.current().pid, "SIGKILL"),
      end: () => api.restart(),
    },
  ];
}

/** One fault: the outage, the return, then load until the next one while the subscribers catch up. */
async function runFault(h: Harness, c: Cluster, watchers: Watchers, fault: Fault): Promise<Window> {
  h.log(`${fault.name}: start`);
  const startedAt = Date.now();
  await fault.start();
  await sleep(opts.faultMs);
  await fault.end();
  const endedAt = Date.now();
  h.log(`${fault.name}: back after ${((endedAt - startedAt) / 1000).toFixed(1)} s`);
  // The newest versions just after the return: when does every subscriber have them?
  let target: Map<string, number> | undefined;
  let subscribersBackMs: number | undefined;
  let last: Map<string, number> | undefined;
  while (Date.now() - endedAt < opts.recoveryMs) {
    const v = await dbVersions(c.pool);
    if (v) [target, last] = [target ?? v, v];
    if (target && subscribersBackMs === undefined && watchers.onVersions(target) === watchers.count)
      subscribersBackMs = Date.now() - endedAt;
    await sleep(100);
  }
  // On newest: every product at least where the database was at the last read of the window.
  const subscribersOnNewest = last ? watchers.onVersions(last) : 0;
  return { fault, startedAt, endedAt, closedAt: Date.now(), subscribersBackMs, subscribersOnNewest, subscribers: watchers.count };
}

/** An API instance that exited by itself during a fault is a finding: its log's tail goes to stderr, the note to the report, and it is started again. */
async function reviveApis(h: Harness, c: Cluster, during: string, notes: string[]): Promise<void> {
  for (const [i, api] of c.apis.entries()) {
    const how = api.current().exitedAs();
    if (!how) continue;
    notes.push(`- API instance ${i + 1} exited by itself (${how}) during "${during}"; restarted.`);
    h.log(`API instance ${i + 1} exited (${how}) during ${during}; its log:\n${api.current().logTail()}`);
    await api.restart();
  }
}

async function chaos(h: Harness): Promise<Outcome> {
  const c = await startCluster(h, { kafkaClient: opts.kafkaClient });
  const targets = c.balancer ? [c.balancer] : c.apis.map((a) => a.url);
  const wsUrl = `${targets[0]!.replace(/^http/, "ws")}/graphql`;
  const watchers = await startWatchers(wsUrl, c.products, opts.subscribers);
  h.onCleanup(() => watchers.close());
  h.log(`${opts.subscribers} subscribers connected; load ${opts.rate} orders/s for ${targets.join(", ")}`);
  const load: Load = startLoad({
    targets,
    customers: c.customers,
    products: c.products,
    ordersPerSecond: opts.rate,
    holdsPerSecond: opts.rate / 10,
    keyPrefix: `chaos-${h.runId}`,
    clientTimeoutMs: 15_000,
  });
  h.onCleanup(() => load.stop());
  const warmStart = Date.now();
  await sleep(opts.quick ? 3_000 : 5_000);
  const windows: Window[] = [
    {
      fault: { name: "none (warm-up)", backend: "api", kind: "pause" },
      startedAt: warmStart,
      endedAt: warmStart,
      closedAt: Date.now(),
      subscribersOnNewest: watchers.count,
      subscribers: watchers.count,
    },
  ];
  const findings: string[] = [];
  const faults = faultsOf(c);
  // Stopped before its servers (cleanups run last first): a paused server is resumed, so its clean stop works at once.
  h.onCleanup(() => Promise.all(faults.filter((f) => f.kind === "pause").map((f) => f.end())));
  for (const fault of faults) {
    windows.push(await runFault(h, c, watchers, fault));
    await reviveApis(h, c, fault.name, findings);
  }
  await load.stop();
  h.log(`load stopped: ${load.samples.length} requests; retrying every order key`);
  const orders = load.samples.filter((s) => s.kind === "order");
  const verdicts = new Map<string, KeyVerdict>((await checkOrders(c.pool, targets[0]!, c.customers, orders)).map((v) => [v.key, v]));
  const rows = windows.map((w) => rowOf(w, load.samples, verdicts));
  const retryFailed = [...verdicts.values()].filter((v) => v.retryFailed);
  const lost = rows.reduce((n, r) => n + r.lost, 0);
  const doubled = rows.reduce((n, r) => n + r.doubled, 0);
  const notes = [
    ...findings,
    `- ${orders.length} order keys retried at the end: ${retryFailed.length} retries not answered with their order${retryFailed.length ? ` (${retryFailed[0]!.retryFailed})` : ""}.`,
    `- Subscriptions the server ended during the run, each subscribed again after 500 ms: ${watchers.ended.errors} with an error, ${watchers.ended.completes} completed.`,
    `- Load: ${opts.rate} orders/s and ${opts.rate / 10} holds/s, open loop; ${opts.subscribers} stockChanged subscribers over graphql-ws; ${c.balancer ? "through HAProxy (leastconn, /ready checks)" : "haproxy not installed: the client takes the two instances in turn"}.`,
    "- Error codes: GraphQL `extensions.code`; HTTP_<status> is a page that was not GraphQL (HAProxy's 502/503: no instance passing its /ready check, or the connection to one lost); otherwise the socket error.",
    "- Outage: from the fault to the backend's return, a restart's start-up included (Kafka's JVM, the API's build and start).",
    "- Recovery: from the backend's return (resumed, or restarted and accepting) to the first 1 s in which every request succeeded. Subscribers back: from the return until every subscriber had the versions the database had just after it; on newest: subscribers at the database's versions a moment before the next fault.",
    "- Indicative figures: a shared machine, the load client, both API instances and all servers on the same cores.",
  ];
  return {
    pass: lost === 0 && doubled === 0,
    markdown: markdown(rows, notes),
    data: { opts, rows },
    setup: [
      `faults of ${opts.faultMs / 1000} s, ${opts.recoveryMs / 1000} s of load after each; two API instances (api,relay,bridge each, KAFKA_CLIENT=${opts.kafkaClient})`,
    ],
  };
}

await runBench("chaos", { save: cli.flag("save"), resultsDir: "bench/results", options: opts }, chaos);
