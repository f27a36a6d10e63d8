// The life cycle every benchmark shares: resources released in reverse order
// even on failure or Ctrl-C, progress on stderr, the report on stdout and
// saved to bench/results/ (Markdown + JSON), exit code 0 only on PASS.
//
// Child processes are started through scripts/services (own process group,
// stopped by group, reaped even if this process is SIGKILLed); their stop()
// is registered here like any other resource.
import { randomBytes } from "node:crypto";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { codeVersion, machineInfo, saveReport, type CodeVersion, type MachineInfo } from "./report.js";

export const root = fileURLToPath(new URL("../..", import.meta.url));

export interface Harness {
  bench: string;
  /** Names this run's databases, topics and keys. */
  runId: string;
  log(line: string): void;
  /** Runs fn at cleanup (last registered, first run). */
  onCleanup(fn: () => Promise<unknown>): void;
  /** Like onCleanup, and returns a function that runs it earlier (once). */
  deferred(fn: () => Promise<unknown>): () => Promise<void>;
}

/** What a benchmark's main() hands back. */
export interface Outcome {
  pass: boolean;
  /** The report body (tables and checks); the harness adds the header. */
  markdown: string;
  /** The same results, machine-readable. */
  data: unknown;
  /** Extra header lines (services, settings) for the report. */
  setup: string[];
}

export interface RunOptions {
  /** Write the report to resultsDir (default bench/results). */
  save: boolean;
  resultsDir: string;
  /** The options as given, recorded in the JSON. */
  options: Record<string, unknown>;
}

export interface RunInfo {
  bench: string;
  runId: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  code: CodeVersion;
  node: string;
  loadAverage: { start: number[]; end: number[] };
  options: Record<string, unknown>;
}

/** Runs main inside the harness and exits the process with its verdict. */
export async function runBench(bench: string, opts: RunOptions, main: (h: Harness) => Promise<Outcome>): Promise<never> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const log = (line: string) => console.error(`[${bench}] ${line}`);
  const cleanup = async () => {
    while (cleanups.length) {
      const fn = cleanups.pop()!;
      await fn().catch((err) => log(`cleanup: ${err instanceof Error ? err.message : String(err)}`));
    }
  };
  const h: Harness = {
    bench,
    runId: randomBytes(4).toString("hex"),
    log,
    onCleanup: (fn) => void cleanups.push(fn),
    deferred(fn) {
      let done: Promise<void> | undefined;
      const once = () => (done ??= fn().then(() => {}));
      cleanups.push(once);
      return once;
    },
  };
  // Ctrl-C: scripts/services stops the processes it spawned by group on its
  // own; this releases the rest (connections, worker threads, databases).
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      void cleanup().finally(() => process.exit(128 + (os.constants.signals[signal] ?? 0)));
    });
  }

  const startedAt = new Date();
  const startLoad = os.loadavg();
  let exitCode = 1;
  try {
    const outcome = await main(h);
    const info: RunInfo = {
      bench,
      runId: h.runId,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: machineInfo(),
      code: codeVersion(root),
      node: process.version,
      loadAverage: { start: startLoad, end: os.loadavg() },
      options: opts.options,
    };
    const markdown = [...header(info, outcome.setup), outcome.markdown.trimEnd(), "", `**${outcome.pass ? "PASS" : "FAIL"}**`, ""].join(
      "\n",
    );
    console.log(markdown);
    if (opts.save) {
      const files = await saveReport(opts.resultsDir, info, markdown, { ...info, pass: outcome.pass, results: outcome.data });
      log(`report written to ${files.join(" and ")}`);
    }
    exitCode = outcome.pass ? 0 : 1;
  } catch (err) {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  } finally {
    await cleanup();
  }
  process.exit(exitCode);
}

function header(info: RunInfo, setup: string[]): string[] {
  const m = info.machine;
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  return [
    `# ${info.bench}: run ${info.startedAt} (${info.runId})`,
    "",
    `- machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB, ${m.os}; open files limit ${m.openFiles}; ` +
      `load average ${load(info.loadAverage.start)} at start, ${load(info.loadAverage.end)} at end`,
    `- code: ${info.code.text}; Node.js ${info.node}`,
    ...setup.map((s) => `- ${s}`),
    "",
  ];
}
