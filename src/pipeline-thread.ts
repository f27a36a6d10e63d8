// The outbox relay and the bridge on a worker thread of their own when they
// share a process with the API (`npm start` on PostgreSQL, Redis and Kafka).
// During a sale the API's fan-out keeps its event loop busy, and the events
// every instance waits for must not queue behind it: on its own thread the
// pipeline has its own event loop, backends and connections, exactly as if it
// ran in another process (docker-compose runs it in one), but starts and stops
// with this one. The embedded default keeps everything on one thread: PGlite
// and the in-process stream and pub/sub cannot be shared between threads.
// The thread's metrics (relay and bridge) reach the process's GET /metrics
// through postMessage: the main thread asks on each scrape and merges them
// (prom-client's AggregatorRegistry.aggregate).
import { getHeapStatistics } from "node:v8";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { loadConfig, type Config } from "./config/config.js";
import type { Registry } from "prom-client";
import type { LiveChannel, LiveChannels } from "./realtime/pubsub.js";

type Role = Config["roles"][number];

/** The roles to move to a pipeline thread, or none when this process should keep them. */
export function pipelineThreadRoles(config: Config): Role[] {
  const roles = config.roles.filter((r) => r !== "api");
  const external = config.database.kind === "postgres" && config.redis.kind === "redis" && config.kafka.kind === "kafka";
  return config.pipelineThread && external && config.roles.includes("api") && roles.length ? roles : [];
}

export interface ThreadData {
  stockwirePipeline: true;
  env: Record<string, string | undefined>;
  roles: Role[];
}

type MetricsJSON = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;
type Undelivered = { channel: LiveChannel; id: string; payload: LiveChannels[LiveChannel] };
type FromThread =
  | { say: string }
  | { started: true; heapLimitMb: number }
  | { failed: string }
  | { stopped: true }
  | { metrics: number; json: MetricsJSON }
  | { undelivered: Undelivered };
type ToThread = "stop" | "committed" | { metrics: number };

export interface PipelineThread {
  /**
   * The API thread committed outbox rows: wakes the relay at once. Its NOTIFY
   * reaches the relay too, but throttled (outbox-signal.ts); this costs no database round trip.
   */
  committed(): void;
  /** The thread's metrics (its registry's getMetricsAsJSON()), for merging into the process's. */
  metrics(): Promise<MetricsJSON>;
  /** Stops the roles and the thread. */
  stop(): Promise<void>;
  /** The thread's V8 heap limit as the thread sees it (MiB). */
  readonly heapLimitMb: number;
  /** Times the thread ran out of its heap limit and was started again with twice the limit. */
  readonly restarts: number;
}

/** A thread whose old generation ran out of its limit is started again with twice the limit, this many times. */
export const PIPELINE_THREAD_RESTARTS = 3;

/**
 * Starts `roles` on a worker thread, configured from `env` as this process was.
 * Resolves once they run; `onExit` hears of a thread that ended on its own.
 * With a heap limit, a thread that runs out of it (ERR_WORKER_OUT_OF_MEMORY) is
 * started again with twice the limit, up to PIPELINE_THREAD_RESTARTS times: the
 * relay resumes from the outbox and the bridge from its group's offsets, so the
 * events are late, not lost; a limit set too low costs a restart, not the process.
 */
export function startPipelineThread(
  env: Record<string, string | undefined>,
  roles: Role[],
  say: (line: string) => void,
  onExit: (why: string) => void,
  /** A message the thread's bridge could not pass through Redis: for this thread's subscribers (pubsub.deliverLocally). */
  deliver: (m: Undelivered) => void = () => {},
  /** PIPELINE_THREAD_MAX_HEAP_MB: the thread's old generation at most this (V8's own limit otherwise). */
  maxHeapMb?: number,
  /** Tests: how a thread is made. */
  spawnWorker: (data: ThreadData, maxHeapMb: number | undefined) => Worker = spawn,
): Promise<PipelineThread> {
  const data: ThreadData = { stockwirePipeline: true, env, roles };
  let stopping = false;
  let restarts = 0;
  let current: { worker: Worker; stopped: Promise<void>; heapLimitMb: number };
  const asked = new Map<number, (json: MetricsJSON) => void>();
  let asks = 0;
  // (Between a thread's end and its successor's start, messages go to the ended one and are dropped.)
  const send = (m: ToThread) => current.worker.postMessage(m);
  /** A successor being started: stop() waits for it, then stops it. */
  let restarting: Promise<void> | undefined;
  let wakeQueued = false; // one message per turn of the event loop, however many commits it saw

  /** One thread: resolves once its roles run (it is then `current`); `ended` hears of its exit after that. */
  const run = (limit: number | undefined, ended: (outOfMemory: boolean, code: number) => void) =>
    new Promise<void>((resolve, reject) => {
      const worker = spawnWorker(data, limit);
      let started = false;
      let outOfMemory = false;
      const stopped = new Promise<void>((done) => worker.once("exit", () => done()));
      worker.on("message", (m: FromThread) => {
        if ("say" in m) say(m.say);
        else if ("undelivered" in m) deliver(m.undelivered);
        else if ("metrics" in m) {
          asked.get(m.metrics)?.(m.json);
          asked.delete(m.metrics);
        } else if ("started" in m) {
          started = true;
          current = { worker, stopped, heapLimitMb: m.heapLimitMb };
          resolve();
        } else if ("failed" in m) reject(new Error(m.failed));
      });
      worker.on("error", (err: Error & { code?: string }) => {
        if (err.code === "ERR_WORKER_OUT_OF_MEMORY") outOfMemory = true;
        if (started) say(`pipeline thread: ${err.message}`);
        else reject(err);
      });
      worker.on("exit", (code) => {
        if (!started) reject(new Error(`the pipeline thread exited (code ${code}) before it started`));
        else ended(outOfMemory, code);
      });
    });

  const ended = (limit: number | undefined) => (outOfMemory: boolean, code: number) => {
    if (stopping) return;
    const why = `the pipeline thread (${roles.join(", ")}) exited with code ${code}`;
    if (!outOfMemory || limit === undefined || restarts >= PIPELINE_THREAD_RESTARTS) return onExit(why);
    restarts++;
    const next = limit * 2;
    say(`pipeline thread: out of its ${limit} MiB heap; started again with ${next} MiB (PIPELINE_THREAD_MAX_HEAP_MB)`);
    restarting = run(next, ended(next)).then(
      () => void (restarting = undefined),
      (err: Error) => onExit(`${why}; starting it again failed: ${err.message}`),
    );
  };

  return run(maxHeapMb, ended(maxHeapMb)).then(() => ({
    get heapLimitMb() {
      return current.heapLimitMb;
    },
    get restarts() {
      return restarts;
    },
    committed() {
      if (wakeQueued) return;
      wakeQueued = true;
      setImmediate(() => {
        wakeQueued = false;
        send("committed");
      });
    },
    metrics: () =>
      new Promise<MetricsJSON>((answer) => {
        const n = ++asks;
        asked.set(n, answer);
        send({ metrics: n });
        // A thread that stopped answering is left out (and the waiter dropped), not waited for.
        setTimeout(() => asked.delete(n) && answer([]), 2_000).unref();
      }),
    async stop() {
      stopping = true;
      await restarting;
      const { worker, stopped } = current;
      worker.postMessage("stop" satisfies ToThread);
      // Its own stop is bounded by main.ts's deadline; terminate only if it hangs past ours.
      const timer = setTimeout(() => void worker.terminate(), 8_000);
      await stopped;
      clearTimeout(timer);
    },
  }));
}

function spawn(data: ThreadData, maxHeapMb: number | undefined): Worker {
  const url = import.meta.url;
  // V8 lets an unlimited thread's heap grow with its garbage: a bulk import of 100,000 rows grew
  // the process ~300 MiB, ~90 with the old generation at 96 MiB and no slower (BENCHMARKS.md);
  // hence a limit by default, and a restart with twice as much when the live set needs more.
  const options = { workerData: data, ...(maxHeapMb && { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } }) };
  if (!url.endsWith(".ts")) return new Worker(new URL(url), options);
  // From TypeScript sources (tsx: npm run dev): a worker does not inherit tsx's loader, so register it there.
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(url)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

if (!isMainThread && (workerData as ThreadData | undefined)?.stockwirePipeline) {
  const { env, roles } = workerData as ThreadData;
  const port = parentPort!;
  const post = (m: FromThread) => port.postMessage(m);
  try {
    // The API's thread has migrated (and seeded) the database already.
    // No metrics listener of its own: the main thread serves this thread's metrics with its own.
    const config = loadConfig({ ...env, STOCKWIRE_ROLES: roles.join(","), STOCKWIRE_SEED: "never", METRICS_PORT: "" });
    // Its own tracer and instrumentations (a thread has its own modules), before the process loads, as in main.ts.
    const tracing = config.tracing.enabled
      ? (await import("./observability/tracing.js")).startTracing(config.tracing, { roles: config.roles })
      : undefined;
    const { startProcess } = await import("./process.js");
    const started = await startProcess(config, {
      say: (line) => post({ say: line }),
      pipelineThread: true,
      // Redis unreachable: the API thread's subscribers still get this thread's bridge's events.
      pubsubHandOff: (channel, id, payload) => post({ undelivered: { channel, id, payload } }),
    });
    const running = { ...started, stop: () => started.stop().finally(() => tracing?.shutdown()) };
    port.on("message", (m: ToThread) => {
      if (m === "committed") return running.outbox.wake();
      if (typeof m === "object") {
        void running.metrics.registry.getMetricsAsJSON().then((json) => post({ metrics: m.metrics, json }));
        return;
      }
      if (m !== "stop") return;
      void running.stop().finally(() => {
        post({ stopped: true });
        port.close();
      });
    });
    post({ started: true, heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20) });
  } catch (err) {
    post({ failed: err instanceof Error ? err.message : String(err) });
    port.close();
  }
}
