// The API under test as a separate process, so it does not share an event
// loop (or a CPU profile) with the load generator. Spawned through the
// services' spawnService: its own process group, stopped on Ctrl-C, and
// reaped even if the benchmark is SIGKILLed.
import path from "node:path";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { makeTempDir, spawnService, waitUntil, type ServiceProcess } from "../../infra/services/process.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface ApiProcess {
  /** Base URL; "" for a process without the api role. */
  url: string;
  /** The Node process running src/main.ts (not a wrapper): for CPU accounting. */
  pid: number;
  logTail(): string;
  /** Set once the process has exited, e.g. "signal SIGKILL". */
  exitedAs(): string | undefined;
  /**
   * With `memoryProbe`: a full GC in the process, then its process.memoryUsage()
   * (see memory-probe.ts). Without it, rejects.
   */
  memory(): Promise<NodeJS.MemoryUsage>;
  stop(): Promise<void>;
}

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
   * started once its log matches this (e.g. /^stockwire: bridge/m).
   */
  readyLine?: RegExp;
  /** Preload memory-probe.ts (and --expose-gc), for memory(). */
  memoryProbe?: boolean;
}

export async function startApi(opts: ApiOptions): Promise<ApiProcess> {
  const dir = await makeTempDir("stockwire-bench-api-");
  const logFile = path.join(dir.path, "api.log");
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
    ...opts.env,
  });
  // What `tsx src/main.ts` runs, minus tsx's wrapper process: `node --import tsx`.
  const args = [
    ...(opts.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}`] : []),
    ...(opts.memoryProbe ? ["--expose-gc"] : []),
    "--import",
    "tsx",
    ...(opts.memoryProbe ? ["--import", new URL("./memory-probe.ts", import.meta.url).href] : []),
    "src/main.ts",
  ];
  let proc: ServiceProcess | undefined;
  try {
    proc = spawnService("api", process.execPath, args, { cwd: root, logFile, env, stopSignal: "SIGTERM", graceMs: 15_000 });
    const readyLine = opts.readyLine;
    const url = readyLine
      ? await waitUntil(`a log line matching ${readyLine}`, 60_000, async () => (readyLine.test(readFileSync(logFile, "utf8")) ? "" : undefined), proc)
      : await waitUntil(
          "the API to print its GraphiQL URL",
          60_000,
          async () => /GraphiQL\s+(http:\/\/\S+)\/graphql/.exec(readFileSync(logFile, "utf8"))?.[1],
          proc,
        );
    const started = proc;
    let exitedAs: string | undefined;
    void started.exited.then((how) => (exitedAs = how));
    return {
      url,
      pid: started.pid,
      logTail: () => started.logTail(),
      exitedAs: () => exitedAs,
      async memory() {
        if (!opts.memoryProbe) throw new Error("started without memoryProbe");
        const lines = () => readFileSync(logFile, "utf8").match(/^\[memory-probe\] .*$/gm) ?? [];
        const before = lines().length;
        process.kill(started.pid, "SIGUSR2");
        const line = await waitUntil("the API's memory probe", 30_000, async () => lines()[before], started);
        return JSON.parse(line.slice("[memory-probe] ".length)) as NodeJS.MemoryUsage;
      },
      async stop() {
        await started.stop();
        await dir.remove();
      },
    };
  } catch (err) {
    await proc?.stop();
    await dir.remove();
    throw err;
  }
}
