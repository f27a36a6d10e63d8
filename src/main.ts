// Entry point: config -> tracing, when configured -> startProcess (the roles
// in config.roles, default all) -> clean stop on SIGTERM/SIGINT within a
// bounded time. The process itself is imported only after tracing started, so
// the instrumentations have patched pg, ioredis, kafkajs and http before any
// client of them exists (observability/tracing.ts): no static import here
// loads them.
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, type Config } from "./config/config.js";
import type { PipelineThread } from "./pipeline-thread.js";

const STOP_DEADLINE_MS = 10_000;

let config: Config;
let env: Record<string, string | undefined>;
try {
  // `--role relay` (or api, bridge; comma-separated) is STOCKWIRE_ROLES on the command line.
  const { values } = parseArgs({ options: { role: { type: "string" } } });
  env = values.role ? { ...process.env, STOCKWIRE_ROLES: values.role } : process.env;
  config = loadConfig(env);
} catch (err) {
  if (!(err instanceof ConfigError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS"))) throw err;
  console.error(`stockwire: ${(err as Error).message}`);
  process.exit(1);
}

const say = (line: string) => config.logLevel !== "silent" && console.log(`stockwire: ${line}`);

try {
  const tracing = config.tracing.enabled
    ? (await import("./observability/tracing.js")).startTracing(config.tracing, { roles: config.roles })
    : undefined;
  if (config.tracing.enabled) say(`tracing   OpenTelemetry, ${config.tracing.exporter} exporter (OTEL_* settings)`);
  const { startProcess } = await import("./process.js");
  const { pipelineThreadRoles, startPipelineThread } = await import("./pipeline-thread.js");
  // The relay and bridge on a thread of their own when they share this process with the API on real services.
  const threadRoles = pipelineThreadRoles(config);
  const running = await startProcess(threadRoles.length ? { ...config, roles: ["api"] } : config, { say });
  let pipeline: PipelineThread | undefined;
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
        )
      : undefined;
  } catch (err) {
    await running.stop();
    throw err;
  }
  if (pipeline) {
    say(`pipeline  ${threadRoles.join(" and ")} on a worker thread of their own`);
    running.metrics.addRemote(() => pipeline.metrics());
    // With the relay there, it speaks for this thread's commits (no NOTIFY from here, outbox-signal.ts).
    if (threadRoles.includes("relay")) running.outbox.relayHere(() => pipeline.committed());
    else running.outbox.onCommitted(() => pipeline.committed());
  }
  if (running.url) {
    if (config.demo) say(`demo      ${running.url}/   (the storefront, live stock)`);
    say(`GraphiQL  ${running.url}/graphql   (health ${running.url}/health, readiness ${running.url}/ready)`);
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
