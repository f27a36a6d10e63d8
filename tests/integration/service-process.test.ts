// infra/services signals a remembered process group only while its leader is
// still the process it started. Once a leader is reaped its pid is free, and
// after the PIDs wrap (pid_max is 32768 here) a late stop would signal
// whichever group now has that id. Reuse cannot be forced, so a test simulates
// it: the record of a process that ran and exited, pointed at the pid of
// another live group. Every process signalled here is one this file started.
import { spawn, type ChildProcess } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { isSameLeader, leaderOf, signalGroup, startTime, type Leader } from "../../infra/services/leader.mjs";
import { spawnService } from "../../infra/services/process.js";

const reaperScript = fileURLToPath(new URL("../../infra/services/reaper.mjs", import.meta.url));

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "stockwire-process-test-"));
});
const children: ChildProcess[] = [];
/** Grandchildren (members of a service's group), killed only while still the same process. */
const members: Leader[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const m of members.splice(0)) if (isSameLeader(m)) process.kill(m.pid, "SIGKILL");
  vi.restoreAllMocks();
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** A process of this test's own, leading a process group of its own; `ended` is its exit signal or code. */
function startGroup(command: string, args: string[] = []) {
  const child = spawn(command, args, { detached: true, stdio: "ignore" });
  children.push(child);
  const leader = leaderOf(child.pid!); // same tick as spawn: not reaped yet
  const ended = new Promise<NodeJS.Signals | number | null>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
  return { leader, ended };
}

/** The record of a process that has run and exited, started at least one clock tick before whatever starts next. */
async function exitedRecord(): Promise<Leader> {
  const { leader, ended } = startGroup("true");
  await ended;
  await new Promise((r) => setTimeout(r, 50)); // start times count in 10 ms ticks
  return leader;
}

/** State letter of /proc/<pid>/stat, or "gone". */
async function state(pid: number): Promise<string> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0]!;
  } catch {
    return "gone";
  }
}

/** Waits for a process this test cannot reap itself (a service's group member) to die: gone, or a zombie. */
async function died(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (["gone", "Z"].includes(await state(pid))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe("a process group's leader", () => {
  it("is read from /proc/<pid>/stat even when the command name holds spaces and parentheses", async () => {
    const oddName = path.join(tmp, "a) (b c)");
    await copyFile("/bin/sleep", oddName);
    const before = startTime(process.pid)!;
    const odd = startGroup("/bin/sh", ["-c", `exec '${oddName}' 1000`]);
    // exec keeps the pid and the start time; wait for the new command name.
    await vi.waitFor(async () => expect(await readFile(`/proc/${odd.leader.pid}/comm`, "utf8")).toBe("a) (b c)\n"), { timeout: 10_000 });
    const after = startGroup("sleep", ["1000"]);
    // Field 22 lies between the start of a process started before and one started after.
    const started = startTime(odd.leader.pid)!;
    expect(started).toMatch(/^\d+$/);
    expect(Number(started)).toBeGreaterThanOrEqual(Number(before));
    expect(Number(started)).toBeLessThanOrEqual(Number(after.leader.started));
    expect(started).toBe(odd.leader.started);
  });

  it("is not signalled once it has exited, nor when its pid belongs to another process", async () => {
    const gone = await exitedRecord();
    expect(isSameLeader(gone)).toBe(false);
    expect(signalGroup(gone, 0)).toBe(false); // signal 0 only probes: nothing is sent to whoever has its pid now

    const live = startGroup("sleep", ["1000"]);
    // The exited process's record, as if its pid had been handed to `live`.
    const reused: Leader = { pid: live.leader.pid, started: gone.started };
    expect(signalGroup(reused, "SIGTERM")).toBe(false);
    // The first fatal signal a process gets is the one it dies of: SIGKILL
    // here shows that the SIGTERM above was never sent.
    expect(signalGroup(live.leader, "SIGKILL")).toBe(true);
    await expect(live.ended).resolves.toBe("SIGKILL");
  });

  it("is signalled while it is the process that was started", async () => {
    const group = startGroup("sleep", ["1000"]);
    expect(signalGroup(group.leader, "SIGTERM")).toBe(true);
    await expect(group.ended).resolves.toBe("SIGTERM");
  });
});

describe("spawnService", () => {
  it("stops its process group, members included", async () => {
    const pidFile = path.join(tmp, "member.pid");
    const proc = spawnService("group", "sh", ["-c", `sleep 1000 & echo $! > ${pidFile}; wait`], {
      cwd: tmp,
      logFile: path.join(tmp, "group.log"),
    });
    const member = Number(
      await vi.waitFor(async () => (await readFile(pidFile, "utf8")).trim() || Promise.reject(new Error("empty")), { timeout: 10_000 }),
    );
    members.push(leaderOf(member));
    await proc.stop();
    await expect(proc.exited).resolves.toBe("signal SIGTERM");
    expect(await died(member)).toBe(true);
  });

  it("ends what an exited leader left in its group at once, and never signals its pid again", async () => {
    const pidFile = path.join(tmp, "leftover.pid");
    // The leader exits on its own and leaves a member behind in its group.
    const proc = spawnService("leftover", "sh", ["-c", `sleep 1000 & echo $! > ${pidFile}`], {
      cwd: tmp,
      logFile: path.join(tmp, "leftover.log"),
    });
    await expect(proc.exited).resolves.toBe("exit code 0");
    const leftover = Number((await readFile(pidFile, "utf8")).trim());
    members.push(leaderOf(leftover));
    expect(await died(leftover), "the leftover group member was not killed").toBe(true);
    // A stop long after the exit: by then the pid may belong to anyone.
    const kill = vi.spyOn(process, "kill");
    await proc.stop();
    expect(kill).not.toHaveBeenCalled();
  });
});

describe("the reaper", () => {
  it("stops registered groups when its parent is gone, but not a group whose leader's pid was reused", async () => {
    const gone = await exitedRecord();
    const ours = startGroup("sleep", ["1000"]);
    const other = startGroup("sleep", ["1000"]);
    const reaper = spawn(process.execPath, [reaperScript], { stdio: ["pipe", "ignore", "inherit"] });
    children.push(reaper);
    const reaperExited = new Promise((resolve) => reaper.once("exit", resolve));
    const register = (leader: Leader) =>
      reaper.stdin!.write(`${JSON.stringify({ group: leader.pid, started: leader.started, signal: "SIGTERM" })}\n`);
    register(ours.leader);
    // `gone`'s record with `other`'s pid: what the reaper would hold after a reuse.
    register({ pid: other.leader.pid, started: gone.started });
    reaper.stdin!.end(); // as when the parent dies
    await reaperExited;
    await expect(ours.ended).resolves.toBe("SIGTERM");
    // Still running, and no SIGTERM on its way: it dies of the SIGKILL sent now.
    expect(signalGroup(other.leader, "SIGKILL"), "the other group is gone: the reaper signalled it").toBe(true);
    await expect(other.ended).resolves.toBe("SIGKILL");
  });
});
