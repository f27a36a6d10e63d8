// The API under test as a separate process, so it does not share an event
// loop (or a CPU profile) with the load generator; built and run as `npm start`
// runs it (npm run build, node dist/main.js).
import { execFileSync } from "node:child_process";
import { startNodeProcess, type NodeProcess } from "./node-process.js";
import { root } from "./harness.js";

export type ApiProcess = NodeProcess;

export interface ApiOptions {
  databaseUrl: string;
  poolSize: number;
  jwtSecret: string;
  /** Write a V8 CPU profile of the server into this directory when it stops. */
  cpuProfDir?: string;
  /** More environment, applied last (REDIS_URL, KAFKA_BROKERS, STOCKWIRE_ROLES, ...). */
  env?: Record<string, string>;
  /**
   * Without the api role there is no URL to wait for: the process counts as
   * started once its log matches this (e.g. /^stockwire: bridge/m); url is "".
   */
  readyLine?: RegExp;
  /** Preload memory-probe.ts (and --expose-gc), for memory(). */
  memoryProbe?: boolean;
}

const unlimited = "1000000000";
export const BENCH_RATE_LIMITS: Record<string, string> = {
  RATE_LIMIT_ANONYMOUS_BUCKET: unlimited,
  RATE_LIMIT_ANONYMOUS_RESTORE: unlimited,
  RATE_LIMIT_CUSTOMER_BUCKET: unlimited,
  RATE_LIMIT_CUSTOMER_RESTORE: unlimited,
  RATE_LIMIT_ADMIN_BUCKET: unlimited,
  RATE_LIMIT_ADMIN_RESTORE: unlimited,
  RATE_LIMIT_MAX_SUBSCRIPTIONS: "1000000",
};

export function startApi(opts: ApiOptions): Promise<ApiProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["REDIS_URL", "KAFKA_BROKERS", "NODE_OPTIONS", "STOCKWIRE_DATA_DIR", "STOCKWIRE_ROLES"]) delete env[k];
  Object.assign(env, {
    DATABASE_URL: opts.databaseUrl,
    DATABASE_POOL_SIZE: String(opts.poolSize),
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    NODE_ENV: "production",
    JWT_SECRET: opts.jwtSecret,
    STOCKWIRE_SEED: "never",
    // A load generator is one client doing the work of thousands: buckets it cannot empty, so the
    // benchmarks measure the API (rate limiting included) rather than the throttle.
    ...BENCH_RATE_LIMITS,
    ...opts.env,
  });
  const readyLine = opts.readyLine;
  buildOnce();
  return startNodeProcess({
    name: "api",
    script: "dist/main.js",
    env,
    cpuProfDir: opts.cpuProfDir,
    memoryProbe: opts.memoryProbe,
    ready: readyLine
      ? { what: `a log line matching ${readyLine}`, match: (log) => (readyLine.test(log) ? "" : undefined) }
      : { what: "the API to print its GraphiQL URL", match: (log) => /GraphiQL\s+(http:\/\/\S+)\/graphql/.exec(log)?.[1] },
  });
}

let built = false;
function buildOnce() {
  if (built) return;
  execFileSync("npm", ["run", "-s", "build"], { cwd: root, stdio: "inherit" });
  built = true;
}
