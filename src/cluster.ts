// API workers (API_WORKERS > 1): several API processes share one port
// (node:cluster; the primary hands out connections round-robin), so the API
// uses more than one core. Each worker is an API instance exactly as a second
// host would be: its own pools, order batcher, fan-out and response cache;
// NOTIFY wakes the relay and the Redis stream reaches every worker's
// subscribers, as between hosts. The primary keeps the other roles (relay,
// bridge), migrates and seeds before any worker starts, starts a new worker
// when one dies, and stops them all on SIGTERM/SIGINT.
//
// GET /metrics on any worker (or METRICS_PORT on the primary) answers for the
// whole host: the one asked merges its own registry with what the primary
// collects from itself and the other workers over IPC (prom-client's
// AggregatorRegistry.aggregate, as for the pipeline thread). prom-client's own
// clusterMetrics() only serves scrapes on the primary, which has no API port.
import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";
import type { PrometheusMetrics } from "./observability/prometheus.js";

type MetricsJSON = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;
type Message =
  // worker -> primary: the metrics of everyone else, please
  | { stockwire: "metrics?"; id: number }
  // primary -> worker: your registry, please; and the answer
  | { stockwire: "collect"; id: number }
  | { stockwire: "collected"; id: number; json: MetricsJSON }
  // primary -> worker: everyone else's, merged
  | { stockwire: "metrics"; id: number; json: MetricsJSON };

/** A worker that does not answer a collection in this time is left out of that scrape. */
const COLLECT_TIMEOUT_MS = 1_500;

export interface ApiWorkers {
  /** The API's base URL (every worker's). */
  url: string;
  /** Every worker's registry, for the primary's own METRICS_PORT listener. */
  metrics(): Promise<MetricsJSON>;
  stop(): Promise<void>;
}

export interface ApiWorkersOptions {
  count: number;
  /** The host the workers listen on (config.host), for the URL. */
  host: string;
  /** Environment for the workers on top of this process's. */
  env: Record<string, string>;
  /** The primary's own registry (relay, bridge), merged into every scrape. */
  ownMetrics(): Promise<MetricsJSON>;
  say(line: string): void;
  /** A worker died and could not be replaced: the host is not what was asked for. */
  onFatal(why: string): void;
}

/** On the primary: forks `count` API workers; resolves once every one listens. */
export function startApiWorkers(opts: ApiWorkersOptions): Promise<ApiWorkers> {
  const workers = new Set<Worker>();
  const collecting = new Map<number, (json: MetricsJSON) => void>();
  let collects = 0;
  let stopping = false;
  let started: ((w: Worker, address: { address: string; port: number }) => void) | undefined;
  let fatal = opts.onFatal;

  const collectFrom = (w: Worker): Promise<MetricsJSON> =>
    new Promise((answer) => {
      const id = ++collects;
      collecting.set(id, answer);
      send(w, { stockwire: "collect", id });
      setTimeout(() => collecting.delete(id) && answer([]), COLLECT_TIMEOUT_MS).unref();
    });
  const merged = async (except?: Worker): Promise<MetricsJSON> => {
    const parts = await Promise.all([opts.ownMetrics(), ...[...workers].filter((w) => w !== except).map(collectFrom)]);
    return AggregatorRegistry.aggregate(parts).getMetricsAsJSON();
  };

  const fork = (n: number) => {
    const w = cluster.fork({ ...opts.env, STOCKWIRE_API_WORKER: String(n) });
    let listened = false;
    workers.add(w);
    w.on("listening", (address) => {
      listened = true;
      started?.(w, address);
    });
    w.on("message", (m: Message) => {
      if (m.stockwire === "collected") {
        collecting.get(m.id)?.(m.json);
        collecting.delete(m.id);
      } else if (m.stockwire === "metrics?") {
        void merged(w).then((json) => send(w, { stockwire: "metrics", id: m.id, json }));
      }
    });
    w.once("exit", (code, signal) => {
      workers.delete(w);
      if (stopping) return;
      const how = signal ?? `code ${code}`;
      // One that could not even start (config, database) would only fail again: no restart loop.
      if (!listened) return fatal(`API worker ${n} exited (${how}) before it listened`);
      opts.say(`workers   API worker ${n} exited (${how}); starting another`);
      fork(n);
    });
  };

  const stop = async () => {
    stopping = true;
    await Promise.all(
      [...workers].map(
        (w) =>
          new Promise<void>((done) => {
            if (w.isDead()) return done();
            w.once("exit", () => done());
            w.process.kill("SIGTERM");
            // Each worker's own stop is bounded (main.ts); one that hangs past that is killed.
            setTimeout(() => w.process.kill("SIGKILL"), 12_000).unref();
          }),
      ),
    );
  };

  return new Promise((resolve, reject) => {
    const listening = new Set<Worker>();
    // Until every worker listens, a worker that dies fails the start (and stops the others).
    fatal = (why) => void stop().then(() => reject(new Error(why)));
    started = (w, address) => {
      listening.add(w);
      if (listening.size < opts.count) return;
      started = undefined;
      fatal = opts.onFatal;
      const host = opts.host === "0.0.0.0" || opts.host === "::" ? "localhost" : opts.host;
      resolve({ url: `http://${host}:${address.port}`, metrics: () => merged(), stop });
    };
    for (let n = 1; n <= opts.count; n++) fork(n);
  });
}

/**
 * On a worker: answers the primary's collections with this worker's registry,
 * and makes its GET /metrics merge in the rest of the host's.
 */
export function joinApiWorkers(metrics: PrometheusMetrics) {
  const asked = new Map<number, (json: MetricsJSON) => void>();
  let asks = 0;
  process.on("message", (m: Message) => {
    if (m.stockwire === "collect") {
      void metrics.registry.getMetricsAsJSON().then((json) => process.send?.({ stockwire: "collected", id: m.id, json } satisfies Message));
    } else if (m.stockwire === "metrics") {
      asked.get(m.id)?.(m.json);
      asked.delete(m.id);
    }
  });
  metrics.addRemote(
    () =>
      new Promise((answer) => {
        const id = ++asks;
        asked.set(id, answer);
        process.send?.({ stockwire: "metrics?", id } satisfies Message);
        setTimeout(() => asked.delete(id) && answer([]), COLLECT_TIMEOUT_MS + 300).unref();
      }),
  );
}

function send(w: Worker, m: Message) {
  if (w.isConnected()) w.send(m);
}
