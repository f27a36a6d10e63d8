// A program run as its own Node process (no wrapper process, so its pid is the
// one doing the work): the API under test (dist/, as `npm start` runs it), or
// the socket floor's bare server. TypeScript is bundled with esbuild first,
// not run through tsx: tsx's keepNames gives every closure a `name` property,
// which costs heap and CPU per closure, and both sides of a ratio must be built
// the same way. Spawned through infra/services'
// spawnService: its own process group, stopped by group on stop() and on
// Ctrl-C, and reaped even if the benchmark is SIGKILLed.
import path from "node:path";
import { readFileSync } from "node:fs";
import { makeTempDir, spawnService, waitUntil, type ServiceProcess } from "../../infra/services/process.js";
import { build } from "esbuild";
import { root } from "./harness.js";

export interface NodeProcess {
  /** What the ready probe returned (the API's base URL, ...). */
  url: string;
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

export interface NodeProcessOptions {
  name: string;
  /** The program, relative to the repository root: built JavaScript, or a .ts file bundled here first. */
  script: string;
  args?: string[];
  /** The whole environment of the process. */
  env: NodeJS.ProcessEnv;
  /** Write a V8 CPU profile into this directory when the process stops. */
  cpuProfDir?: string;
  /** Preload memory-probe.ts (and --expose-gc), for memory(). */
  memoryProbe?: boolean;
  /** Started once this returns a value for the log so far (e.g. the URL it printed). */
  ready: { what: string; match: (log: string) => string | undefined };
}

export async function startNodeProcess(opts: NodeProcessOptions): Promise<NodeProcess> {
  const dir = await makeTempDir(`stockwire-bench-${opts.name}-`);
  const logFile = path.join(dir.path, `${opts.name}.log`);
  let proc: ServiceProcess | undefined;
  try {
    const script = opts.script.endsWith(".ts") ? await bundle(path.join(root, opts.script)) : opts.script;
    const args = [
      ...(opts.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}`] : []),
      ...(opts.memoryProbe ? ["--expose-gc", "--import", await bundle(new URL("./memory-probe.ts", import.meta.url).pathname)] : []),
      "--enable-source-maps",
      script,
      ...(opts.args ?? []),
    ];
    proc = spawnService(opts.name, process.execPath, args, { cwd: root, logFile, env: opts.env, stopSignal: "SIGTERM", graceMs: 15_000 });
    const url = await waitUntil(opts.ready.what, 60_000, async () => opts.ready.match(readFileSync(logFile, "utf8")), proc);
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
        const line = await waitUntil(`the memory probe of ${opts.name}`, 30_000, async () => lines()[before], started);
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

/**
 * `entry` and what it imports from this repository as one ES module (packages
 * stay imports, so it lives inside the repository, where node finds them).
 */
async function bundle(entry: string): Promise<string> {
  const outfile = path.join(root, ".cache", "bench-build", `${path.basename(entry, ".ts")}.mjs`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    logLevel: "warning",
  });
  return outfile;
}
