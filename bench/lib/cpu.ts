// CPU accounting from /proc (Linux): how busy the API process, the PostgreSQL
// server and the load generator were during a scenario, and the machine as a
// whole. Answers "is the API CPU-bound?" without a profiler.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let clkTck = 100;
try {
  clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {
  // keep the usual 100
}

/** [utime+stime, cutime+cstime, ppid] of a process in seconds, or null if gone. */
function stat(pid: number): { self: number; children: number; ppid: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // f[0] is field 3 (state): utime = field 14 -> f[11].
    return {
      ppid: Number(f[1]),
      self: (Number(f[11]) + Number(f[12])) / clkTck,
      children: (Number(f[13]) + Number(f[14])) / clkTck,
    };
  } catch {
    return null;
  }
}

/** CPU seconds used so far by one process. */
export function processCpu(pid: number): number {
  return stat(pid)?.self ?? NaN;
}

/**
 * CPU seconds used so far by a server and its children (PostgreSQL: the
 * postmaster and its backends). Exited children are counted through the
 * parent's cutime once reaped, so the total keeps growing monotonically.
 */
export function processTreeCpu(rootPid: number): number {
  const root = stat(rootPid);
  if (!root) return NaN;
  let total = root.self + root.children;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s && s.ppid === rootPid) total += s.self;
  }
  return total;
}

/** Busy and total CPU seconds of the whole machine (all cores). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: (total - idle - iowait) / clkTck, total: total / clkTck };
}

export interface CpuSnapshot {
  at: number;
  api: number;
  pg: number;
  self: number;
  machine: { busy: number; total: number };
}

export interface CpuUsage {
  /** Percent of one core (100 = one core fully busy). */
  api: number;
  pg: number;
  loadgen: number;
  /** Percent of all cores. */
  machine: number;
  /** Over how long. */
  seconds: number;
}

/** Time-weighted average of several measurements. */
export function cpuMerge(parts: CpuUsage[]): CpuUsage {
  const seconds = parts.reduce((n, p) => n + p.seconds, 0);
  const avg = (f: (p: CpuUsage) => number) => parts.reduce((n, p) => n + f(p) * p.seconds, 0) / seconds;
  return { api: avg((p) => p.api), pg: avg((p) => p.pg), loadgen: avg((p) => p.loadgen), machine: avg((p) => p.machine), seconds };
}

export function cpuSnapshot(apiPid: number | undefined, pgPid: number | undefined): CpuSnapshot {
  const u = process.cpuUsage();
  return {
    at: performance.now(),
    api: apiPid ? processCpu(apiPid) : NaN,
    pg: pgPid ? processTreeCpu(pgPid) : NaN,
    self: (u.user + u.system) / 1e6,
    machine: machineCpu(),
  };
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuUsage {
  const secs = (b.at - a.at) / 1000;
  const pct = (x: number) => (100 * x) / secs;
  const m = b.machine.total - a.machine.total;
  return {
    api: pct(b.api - a.api),
    pg: pct(b.pg - a.pg),
    loadgen: pct(b.self - a.self),
    machine: m > 0 ? (100 * (b.machine.busy - a.machine.busy)) / m : NaN,
    seconds: secs,
  };
}
