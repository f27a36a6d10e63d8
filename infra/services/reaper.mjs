// Watchdog for infra/services (plain JS so it starts with bare `node`).
// process.ts starts it detached and writes JSON lines on its stdin:
//   {group, started, signal} / {ungroup}: a service's process group (its
//                                          leader's pid and start time) and stop signal
//   {dir} / {undir}:                       a temp dir to delete
// stdin closes when the parent process is gone, however it died (even
// SIGKILL). Then: stop signal to every group still registered, SIGKILL after
// a grace period, delete the dirs, exit. After a normal teardown nothing is
// registered any more and it simply exits. A group is signalled only while
// its leader is still the process that was started (leader.mjs): by the time
// we get here, a leader that exited unnoticed may have had its pid reused.
import { rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { isSameLeader, signalGroup } from "./leader.mjs";

const GRACE_MS = 10_000;
/** pgid -> { leader, signal } */
const groups = new Map();
const dirs = new Set();

createInterface({ input: process.stdin })
  .on("line", (line) => {
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    if (m.group) groups.set(m.group, { leader: { pid: m.group, started: m.started }, signal: m.signal ?? "SIGTERM" });
    if (m.ungroup) groups.delete(m.ungroup);
    if (m.dir) dirs.add(m.dir);
    if (m.undir) dirs.delete(m.undir);
  })
  .on("close", async () => {
    const registered = [...groups.values()];
    for (const { leader, signal } of registered) signalGroup(leader, signal);
    const deadline = Date.now() + GRACE_MS;
    while (Date.now() < deadline && registered.some(({ leader }) => isSameLeader(leader))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const { leader } of registered) signalGroup(leader, "SIGKILL");
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    process.exit(0);
  });

// Detached into its own session, but be explicit: only stdin closing ends us.
for (const sig of ["SIGINT", "SIGHUP"]) process.on(sig, () => {});
