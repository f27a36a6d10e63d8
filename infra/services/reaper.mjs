// Watchdog for infra/services (plain JS so it starts with bare `node`).
// process.ts starts it detached and writes JSON lines on its stdin:
//   {group, signal} / {ungroup}: a service's process group and its stop signal
//   {dir} / {undir}:             a temp dir to delete
// stdin closes when the parent process is gone, however it died (even
// SIGKILL). Then: stop signal to every group still registered, SIGKILL after
// a grace period, delete the dirs, exit. After a normal teardown nothing is
// registered any more and it simply exits.
import { rmSync } from "node:fs";
import { createInterface } from "node:readline";

const GRACE_MS = 10_000;
const groups = new Map();
const dirs = new Set();

const signal = (pgid, sig) => {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false; // ESRCH: gone
  }
};

createInterface({ input: process.stdin })
  .on("line", (line) => {
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    if (m.group) groups.set(m.group, m.signal ?? "SIGTERM");
    if (m.ungroup) groups.delete(m.ungroup);
    if (m.dir) dirs.add(m.dir);
    if (m.undir) dirs.delete(m.undir);
  })
  .on("close", async () => {
    for (const [pgid, sig] of groups) signal(pgid, sig);
    const deadline = Date.now() + GRACE_MS;
    while (Date.now() < deadline && [...groups.keys()].some((pgid) => signal(pgid, 0))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const pgid of groups.keys()) signal(pgid, "SIGKILL");
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    process.exit(0);
  });

// Detached into its own session, but be explicit: only stdin closing ends us.
for (const sig of ["SIGINT", "SIGHUP"]) process.on(sig, () => {});
