// Entry point: config -> tracing, when configured -> startProcess (the roles
// in config.roles, default all; with API_WORKERS > 1 the API in that many
// worker processes, cluster.ts) -> clean stop on SIGTERM/SIGINT within a
// bounded time. The process itself is imported only after tracing started, so
// the instrumentations have patched pg, ioredis, kafkajs and http before any
// client of them exists (observability/tracing.ts): no static import here
// loads them.
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, type Config } from "./config/config.js";
import cluster from "node:cluster";
import type { PipelineThread } from "./pipeline-thread.js";
import type { StockwireProcess } from "./process.js";
import { joinApiWorkers, startApiWorkers, type ApiWorkers } from "./cluster.js";

const STOP_DEADLINE_MS = 10_000;

let config: Config;
let env: Record<string, string | undefined>;
try {
  // `--role relay` (or api, bridge; comma-separated) is STOCKWIRE_ROLES on the command line.
  const { values } = parseArgs({ options: { role: { type: "string" } } });
  // An API worker inherits the primary's arguments; its roles are the primary's choice (STOCKWIRE_ROLES=api).
  env = values.role && !cluster.isWorker ? { ...process.env, STOCKWIRE_ROLES: values.role } : process.env;
  config = loadConfig(env);
} catch (err) {
  if (!(err instanceof ConfigError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS"))) throw err;
  console.error(`stockwire: ${(err as Error).message}`);
  process.exit(1);
}

// A worker's lines name it (cluster.ts); the primary's and a single process's are plain.
const who = cluster.isWorker ? `stockwire[worker ${process.env.STOCKWIRE_API_WORKER}]` : "stockwire";
const say = (line: string) => config.logLevel !== "silent" && console.log(`${who}: ${line}`);

try {
  const tracing = config.tracing.enabled
    ? (await import("./observability/tracing.js")).startTracing(config.tracing, { roles: config.roles })
    : undefined;
  if (config.tracing.enabled) say(`tracing   OpenTelemetry, ${config.tracing.exporter} exporter (OTEL_* settings)`);
  const { startProcess } = await import("./process.js");
  const { pipelineThreadRoles, startPipelineThread } = await import("./pipeline-thread.js");
  let running: StockwireProcess;
  let pipeline: PipelineThread | undefined;
  let workers: ApiWorkers | undefined;
  if (cluster.isWorker) {
    // One of API_WORKERS (cluster.ts): the API only, configured by the primary.
    running = await startProcess(config, { say });
    joinApiWorkers(running.metrics);
    // The primary is gone (killed): nobody hands this worker connections or stops it any more.
    process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
  } else if (config.apiWorkers > 1 && config.roles.includes("api")) {
    // The primary migrates and seeds and keeps the other roles; the workers serve the API.
    running = await startProcess({ ...config, roles: config.roles.filter((r) => r !== "api") }, { say, apiWorkers: true });
    try {
      workers = await startApiWorkers({
        count: config.apiWorkers,
        host: config.host,
        env: { STOCKWIRE_ROLES: "api", API_WORKERS: "1", STOCKWIRE_SEED: "never", METRICS_PORT: "" },
        ownMetrics: () => running.metrics.registry.getMetricsAsJSON(),
        say,
        onFatal: (why) => {
          console.error(`stockwire: ${why}`);
          void workers?.stop().finally(() => running.stop().finally(() => process.exit(1)));
        },
      });
    } catch (err) {
      await running.stop();
      throw err;
    }
    running.metrics.addRemote(() => workers!.metrics());
    say(`workers   ${config.apiWorkers} API worker processes share the port (API_WORKERS)`);
  } else {
    // The relay and bridge on a thread of their own when they share this process with the API on real services.
    const threadRoles = pipelineThreadRoles(config);
    running = await startProcess(threadRoles.length ? { ...config, roles: ["api"] } : config, { say });
    try {
      pipeline = threadRoles.length
        ? await startPipelineThread(
            env,
            threadRoles,
            say,
            (why) => {
              console.error(`stockwire: ${why}`);
              void running.stop().finally(() => process.exit(1));
            },
            (m) => void running.pubsub.deliverLocally?.(m.channel, m.id, m.payload).catch(() => {}),
            config.pipelineThreadMaxHeapMb,
          )
        : undefined;
    } catch (err) {
      await running.stop();
      throw err;
    }
    if (pipeline) {
      const limit = config.pipelineThreadMaxHeapMb ? ` (heap limit ${pipeline.heapLimitMb} MiB, PIPELINE_THREAD_MAX_HEAP_MB)` : "";
      say(`pipeline  ${threadRoles.join(" and ")} on a worker thread of their own${limit}`);
      running.metrics.addRemote(() => pipeline!.metrics());
      // With the relay there, it speaks for this thread's commits (no NOTIFY from here, outbox-signal.ts).
      if (threadRoles.includes("relay")) running.outbox.relayHere(() => pipeline!.committed());
      else running.outbox.onCommitted(() => pipeline!.committed());
    }
  }
  const url = workers?.url ?? running.url;
  // Workers print nothing of this: the primary speaks for the host.
  if (url && !cluster.isWorker) {
    if (config.demo) say(`demo      ${url}/   (the storefront, live stock)`);
    say(`GraphiQL  ${url}/graphql   (health ${url}/health, readiness ${url}/ready)`);
    if (config.jwt.isDevSecret) {
      say("auth      development JWT secret: npm run token -- --role admin   (or --role customer --sub <Customer ID>)");
    } else if (config.introspection) {
      // A try-out with a secret of its own (docker compose): the token must be signed where that secret is.
      say(
        "auth      tokens: npm run token -- --role admin, where JWT_SECRET is this server's (compose: docker compose exec api npm run token -- --role admin)",
      );
    }
    if (config.demo && config.roles.includes("api")) {
      // A customer ID takes an admin token and a query to find: hand the newcomer the demo customer's command.
      const { findDemoCustomer } = await import("./demo/demo-session.js");
      const customer = await findDemoCustomer(running.db.prisma).catch(() => undefined);
      if (customer) say(`auth      ${customer.name}'s token (the demo customer): npm run token -- --sub ${customer.id}`);
    }
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping`);
    // A stuck close must not keep the process alive past the deadline.
    setTimeout(() => process.exit(1), STOP_DEADLINE_MS).unref();
    await workers?.stop();
    await running.stop();
    await pipeline?.stop();
    await tracing?.shutdown().catch(() => {});
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
} catch (err) {
  console.error(`stockwire: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
