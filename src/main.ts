// Entry point: config -> startProcess (the roles in config.roles, default
// all) -> clean stop on SIGTERM/SIGINT within a bounded time.
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, type Config } from "./config/config.js";
import { startProcess } from "./process.js";

const STOP_DEADLINE_MS = 10_000;

let config: Config;
try {
  // `--role relay` (or api, bridge; comma-separated) is STOCKWIRE_ROLES on the command line.
  const { values } = parseArgs({ options: { role: { type: "string" } } });
  config = loadConfig(values.role ? { ...process.env, STOCKWIRE_ROLES: values.role } : process.env);
} catch (err) {
  if (!(err instanceof ConfigError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS"))) throw err;
  console.error(`stockwire: ${(err as Error).message}`);
  process.exit(1);
}

const say = (line: string) => config.logLevel !== "silent" && console.log(`stockwire: ${line}`);

try {
  const running = await startProcess(config, { say });
  if (running.url) {
    if (config.demo) say(`demo      ${running.url}/   (the storefront, live stock)`);
    say(`GraphiQL  ${running.url}/graphql   (health ${running.url}/health, readiness ${running.url}/ready)`);
    if (config.jwt.isDevSecret) {
      say("auth      development JWT secret: npm run token -- --role admin   (or --role customer --sub <Customer ID>)");
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
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
} catch (err) {
  console.error(`stockwire: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
