// The faults of a chaos run, each one a start (the outage begins) and an end
// (the backend is back: resumed, or restarted on the same data dir and port
// and accepting again). A pause is SIGSTOP of every process of the server, a
// stalled VM or disk as the issue describes; a kill is SIGKILL of every
// process, then the same server started again.
import { readdirSync, readFileSync } from "node:fs";
import type { StartedService } from "../../infra/services/process.js";

export interface Fault {
  name: string;
  /** Which goals of the issue apply to its row. */
  backend: "postgres" | "redis" | "kafka" | "api";
  kind: "pause" | "kill";
  start(): Promise<void>;
  /** Resolves once the backend is back. */
  end(): Promise<void>;
}

/** pid and every descendant (PostgreSQL's backends are the postmaster's children, in groups of their own). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The ppid is the 2nd field after the parenthesised command (which may itself hold spaces).
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const all: number[] = [];
  const walk = (p: number) => {
    all.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return all;
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGSTOP of the service's processes at start, SIGCONT of the same ones at the end. */
export function pauseFault(name: string, backend: Fault["backend"], service: StartedService): Fault {
  let stopped: number[] = [];
  return {
    name,
    backend,
    kind: "pause",
    async start() {
      stopped = processTree(service.processId!());
      signalAll(stopped, "SIGSTOP");
    },
    async end() {
      signalAll(stopped, "SIGCONT");
    },
  };
}

/** SIGKILL of the service's processes at start; at the end, the same server again (resume()). */
export function killFault(name: string, backend: Fault["backend"], service: StartedService): Fault {
  return {
    name,
    backend,
    kind: "kill",
    async start() {
      signalAll(processTree(service.processId!()), "SIGKILL");
    },
    end: () => service.resume!(),
  };
}
