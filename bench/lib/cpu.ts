// The one CPU model of the benchmarks, from /proc (Linux): CPU time of each
// party (the API process, the PostgreSQL server with its backends, Kafka,
// Redis, ...), of this process (the load generator), and of the machine as a
// whole, so a report can say who was busy and what one delivery or request
// cost, without a profiler.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import { performance } from "node:perf_hooks";

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

/** A process whose CPU a benchmark accounts for; `tree`: with its children (PostgreSQL). */
export interface Party {
  pid: number;
  tree?: boolean;
}

/** CPU seconds of every party, this process and the machine at one moment. */
export interface CpuMark {
  at: number;
  parties: Record<string, number>;
  bench: number;
  machine: { busy: number; total: number };
}

/** Between two marks, in % of one core (100 = one core fully busy). */
export interface CpuShare {
  seconds: number;
  /** Per party; NaN when its pid is unknown (a server given by URL) or gone. */
  parties: Record<string, number>;
  /** This process: the load generator and its worker threads. */
  bench: number;
  /** The machine's busy time not accounted to any party or the bench. */
  other: number;
  /** The whole machine, in % of all cores. */
  machine: number;
}

/** Parties whose pid is undefined are reported as NaN. */
export function cpuMark(parties: Record<string, Party | undefined>): CpuMark {
  const u = process.cpuUsage();
  const values: Record<string, number> = {};
  for (const [name, p] of Object.entries(parties)) values[name] = !p ? NaN : p.tree ? processTreeCpu(p.pid) : processCpu(p.pid);
  return { at: performance.now(), parties: values, bench: (u.user + u.system) / 1e6, machine: machineCpu() };
}

/** CPU seconds a party used between two marks. */
export function cpuSeconds(a: CpuMark, b: CpuMark, party: string): number {
  return (b.parties[party] ?? NaN) - (a.parties[party] ?? NaN);
}

export function cpuShare(a: CpuMark, b: CpuMark): CpuShare {
  const seconds = (b.at - a.at) / 1000;
  const pct = (cpuSecs: number) => (100 * cpuSecs) / seconds;
  const parties: Record<string, number> = {};
  for (const name of Object.keys(a.parties)) parties[name] = pct(cpuSeconds(a, b, name));
  const bench = pct(b.bench - a.bench);
  const m = b.machine.total - a.machine.total;
  const machine = m > 0 ? (100 * (b.machine.busy - a.machine.busy)) / m : NaN;
  const ours = Object.values(parties).reduce((n, x) => n + (Number.isFinite(x) ? x : 0), bench);
  return { seconds, parties, bench, other: Math.max(0, (machine / 100) * os.cpus().length * 100 - ours), machine };
}

/** Time-weighted average of several shares of the same parties. */
export function cpuMerge(parts: CpuShare[]): CpuShare {
  const seconds = parts.reduce((n, p) => n + p.seconds, 0);
  const avg = (f: (p: CpuShare) => number) => parts.reduce((n, p) => n + f(p) * p.seconds, 0) / seconds;
  const parties: Record<string, number> = {};
  for (const name of Object.keys(parts[0]?.parties ?? {})) parties[name] = avg((p) => p.parties[name] ?? NaN);
  return { seconds, parties, bench: avg((p) => p.bench), other: avg((p) => p.other), machine: avg((p) => p.machine) };
}
