// A process group remembered by its leader: the leader's pid and its start
// time. Once the leader has exited and been reaped, its pid is free for
// another process after the PIDs wrap (pid_max is 32768 on our machines), and
// kill(-pid) would then hit that process's group. So a remembered group is
// signalled only while its leader is still the process that was started.
// Plain JS: reaper.mjs runs under bare `node`; leader.d.mts types it for TypeScript.
import { existsSync, readFileSync } from "node:fs";

// Without /proc (not Linux) there is no start time to compare: trust the pid, as before.
const hasProc = existsSync("/proc/self/stat");

/** Start time of process `pid` in clock ticks after boot (field 22 of /proc/<pid>/stat); undefined when there is none. */
export function startTime(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // Field 2 is the command name in parentheses and may itself contain spaces
  // and ")": the numbered fields go on after the last ")", from field 3.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[22 - 3];
}

/** Remembers `pid` as a group leader. Call it before the process can have been reaped (right after spawning it). */
export function leaderOf(pid) {
  return { pid, started: startTime(pid) };
}

/** Whether `leader`'s pid still belongs to the process that was remembered (exited but not yet reaped counts). */
export function isSameLeader(leader) {
  if (!hasProc) return true;
  return leader.started !== undefined && startTime(leader.pid) === leader.started;
}

/**
 * Sends `signal` to the leader's process group unless the leader is gone or
 * its pid now belongs to another process. Returns whether it was sent. (The
 * pid cannot go round pid_max between the check and the kill.)
 */
export function signalGroup(leader, signal) {
  if (!isSameLeader(leader)) return false;
  try {
    process.kill(-leader.pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is gone
  }
}

/**
 * Right after the leader was reaped: SIGKILL whatever it left in its group.
 * Those survivors keep the group's id from being handed out as a new pid; if
 * a process holds that pid anyway, the group was empty and the pid reused.
 */
export function killLeftovers(leader) {
  if (hasProc && startTime(leader.pid) !== undefined) return;
  try {
    process.kill(-leader.pid, "SIGKILL");
  } catch {
    // ESRCH: nothing left
  }
}
