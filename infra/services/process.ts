// Spawning, waiting for and stopping the throwaway service processes.
//
// Each service runs detached, as the leader of its own process group: stop()
// signals the whole group, and Ctrl-C in the terminal reaches only us, so we
// decide how each service shuts down (postgres's children make groups of their
// own, but they exit as soon as the postmaster is gone). For the cases no
// handler can catch (SIGKILL, OOM-kill of this process), a small detached
// reaper (reaper.mjs) is told over a pipe about every process group and temp
// dir; when the pipe closes because this process is gone, it stops what is
// still registered and deletes the dirs. A group is remembered with its
// leader's start time and signalled only while that leader is still the
// process we started (leader.mjs): a pid can be reused once it is reaped.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { killLeftovers, leaderOf, signalGroup, type Leader } from "./leader.mjs";

export interface RunAs {
  uid: number;
  gid: number;
}

export interface SpawnOptions {
  cwd: string;
  /** stdout and stderr of the service are appended here. */
  logFile: string;
  /** The file whose tail explains a failure, if not logFile (e.g. Kafka's log4j file). */
  errorLog?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as another user (we may be root; PostgreSQL refuses to run as root). */
  runAs?: RunAs;
  /** Signal for a clean shutdown (postgres: SIGINT = "fast" shutdown; SIGTERM would wait for clients). */
  stopSignal?: NodeJS.Signals;
  /** How long stop() waits after stopSignal before SIGKILL. */
  graceMs?: number;
}

export interface ServiceProcess {
  name: string;
  pid: number;
  logFile: string;
  errorLog: string;
  stopSignal: NodeJS.Signals;
  /** Resolves when the process has exited, with a description ("exit code 1", "signal SIGKILL"). */
  exited: Promise<string>;
  hasExited(): boolean;
  /** Idempotent: stopSignal to the process group, SIGKILL after the grace period. */
  stop(): Promise<void>;
  /** Last lines of the log file, for error messages. */
  logTail(lines?: number): string;
}

/** What every start*() returns. */
export interface StartedService {
  url: string;
  /** What runs where, for the one log line per service. */
  describe: string;
  /** Stops the process and removes its dir. */
  stop(): Promise<void>;
  /** An outage on purpose: stops the process but keeps its dir, config and ports. */
  pause?(): Promise<void>;
  /** After pause(): the same process again (same ports, dir and config); resolves once it is ready. */
  resume?(): Promise<void>;
  /** The pid of the process running now (it changes with each resume()), for faults that signal it (bench/chaos). */
  processId?(): number;
}

/**
 * Spawns a service and waits until `probe` answers (see waitUntil); stops it
 * again if it never does. Resolves with the process and the probe's answer.
 */
export async function spawnReady<T>(
  spawnArgs: Parameters<typeof spawnService>,
  ready: { what: string; timeoutMs: number; probe: () => Promise<T | undefined> },
): Promise<{ proc: ServiceProcess; answer: T }> {
  const proc = spawnService(...spawnArgs);
  try {
    return { proc, answer: await waitUntil(ready.what, ready.timeoutMs, ready.probe, proc) };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

/**
 * The StartedService of a server that can come back as itself: `launch` runs
 * it in `dir` with the same ports and config every time. pause() stops the
 * process and keeps the dir, resume() launches it again, stop() stops it and
 * removes the dir. `info` names the first launch (URL, one log line).
 */
export async function restartable<T>(
  dir: TempDir,
  launch: () => Promise<{ proc: ServiceProcess; answer: T }>,
  info: (first: { proc: ServiceProcess; answer: T }) => { url: string; describe: string },
): Promise<StartedService> {
  const first = await launch();
  let proc = first.proc;
  return {
    ...info(first),
    processId: () => proc.pid,
    pause: () => proc.stop(),
    async resume() {
      if (proc.hasExited()) ({ proc } = await launch());
    },
    async stop() {
      await proc.stop();
      await dir.remove();
    },
  };
}

/** Running services and their group leaders. */
const live = new Map<ServiceProcess, Leader>();

export function spawnService(name: string, command: string, args: string[], opts: SpawnOptions): ServiceProcess {
  installExitHandlers();
  const stopSignal = opts.stopSignal ?? "SIGTERM";
  const graceMs = opts.graceMs ?? 10_000;
  const fd = openSync(opts.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ["ignore", fd, fd],
      uid: opts.runAs?.uid,
      gid: opts.runAs?.gid,
    });
  } finally {
    closeSync(fd);
  }
  let exitedAs: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once("error", (err) => resolve((exitedAs = `spawn error: ${err.message}`)));
    child.once("exit", (code, signal) => {
      exitedAs = signal ? `signal ${signal}` : `exit code ${code}`;
      // Just reaped: end what it left in its group now, and forget the group,
      // so that nothing signals its pid after the pid may have been reused.
      killLeftovers(leader);
      live.delete(service);
      tellReaper({ ungroup: leader.pid });
      resolve(exitedAs);
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${command} not runnable`);
  // Now, in the same tick as spawn(): Node cannot have reaped it yet.
  const leader = leaderOf(child.pid);
  tellReaper({ group: leader.pid, started: leader.started, signal: stopSignal });

  let stopping: Promise<void> | undefined;
  const service: ServiceProcess = {
    name,
    pid: leader.pid,
    logFile: opts.logFile,
    errorLog: opts.errorLog ?? opts.logFile,
    stopSignal,
    exited,
    hasExited: () => exitedAs !== undefined,
    stop: () =>
      (stopping ??= (async () => {
        if (exitedAs === undefined) {
          signalGroup(leader, stopSignal);
          const timer = setTimeout(() => signalGroup(leader, "SIGKILL"), graceMs);
          await exited;
          clearTimeout(timer);
        }
      })()),
    logTail: (lines = 30) => tail(opts.errorLog ?? opts.logFile, lines),
  };
  live.set(service, leader);
  return service;
}

/** Stops every service still running in this process, then deletes the temp dirs (on SIGINT/SIGTERM). */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...live.keys()].map((s) => s.stop()));
  await Promise.all([...liveDirs].map((d) => d.remove()));
}

export interface TempDir {
  path: string;
  remove(): Promise<void>;
}
const liveDirs = new Set<TempDir>();

/** A temp dir that stop paths (and the reaper, if we die) delete. */
export async function makeTempDir(prefix: string): Promise<TempDir> {
  installExitHandlers();
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tellReaper({ dir });
  let removing: Promise<void> | undefined;
  const tempDir: TempDir = {
    path: dir,
    remove: () =>
      (removing ??= (async () => {
        await rm(dir, { recursive: true, force: true, maxRetries: 3 });
        liveDirs.delete(tempDir);
        tellReaper({ undir: dir });
      })()),
  };
  liveDirs.add(tempDir);
  return tempDir;
}

/** Runs a one-off command to completion; rejects with its output when it fails. */
export function run(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; runAs?: RunAs } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      uid: opts.runAs?.uid,
      gid: opts.runAs?.gid,
    });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d));
    child.stderr!.on("data", (d: Buffer) => (out += d));
    child.once("error", (err) => reject(new Error(`${command}: ${err.message}`)));
    child.once("close", (code, signal) => {
      if (code === 0) return resolve(out);
      const lastLines = out.trimEnd().split("\n").slice(-40).join("\n");
      reject(new Error(`\`${[command, ...args].join(" ")}\` failed (${signal ?? `exit code ${code}`}):\n${lastLines}`));
    });
  });
}

/**
 * Polls `probe` until it returns a value other than undefined. Fails early if
 * `service` exits, and on timeout, with the last probe error and the
 * service's log tail.
 */
export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  service?: ServiceProcess,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  for (;;) {
    if (service?.hasExited()) {
      throw new Error(`${service.name} ${await service.exited} while waiting for ${what}; log ${service.errorLog}:\n${service.logTail()}`);
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      const log = service ? `; log ${service.errorLog}:\n${service.logTail()}` : "";
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? ` (last error: ${lastError})` : ""}${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

// --- reaper and exit handling ---------------------------------------------

let reaper: ChildProcess | undefined;

function tellReaper(message: Record<string, unknown>): void {
  if (!reaper) {
    reaper = spawn(process.execPath, [fileURLToPath(new URL("./reaper.mjs", import.meta.url))], {
      detached: true,
      stdio: ["pipe", "ignore", "ignore"],
    });
    // Neither the reaper nor its pipe may keep this process alive.
    reaper.unref();
    (reaper.stdin as unknown as { unref(): void }).unref();
    reaper.stdin!.on("error", () => {});
  }
  reaper.stdin!.write(`${JSON.stringify(message)}\n`);
}

let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // On any exit, start the clean shutdown right away; the reaper waits for it
  // to finish (SIGKILL after the grace period) and deletes the temp dirs.
  process.once("exit", () => {
    for (const [s, leader] of live) signalGroup(leader, s.stopSignal);
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      process.exitCode ??= 128 + (os.constants.signals[signal] ?? 0);
      if (stoppingOnSignal) process.exit(); // second Ctrl-C: leave the rest to the reaper
      stoppingOnSignal = true;
      void cleanupAll().finally(() => process.exit());
    });
  }
}
let stoppingOnSignal = false;
