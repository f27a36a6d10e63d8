// Preloaded into the API process by bench/lib/api.ts (`--expose-gc --import`)
// when a benchmark asks for memory figures: on SIGUSR2 it runs a full garbage
// collection and prints process.memoryUsage() as one line on stdout (the
// API's log), so "memory per connection" compares live heap, not whatever
// garbage happened to be uncollected at the moment RSS was read.
// BENCH_HEAP_SNAPSHOTS=<dir>: also writes a heap snapshot per probe there, to see what a connection holds.
import { writeHeapSnapshot } from "node:v8";
import path from "node:path";

const gc = (globalThis as { gc?: () => void }).gc;
const snapshots = process.env.BENCH_HEAP_SNAPSHOTS;
let seq = 0;
process.on("SIGUSR2", () => {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  if (snapshots) writeHeapSnapshot(path.join(snapshots, `probe-${process.pid}-${seq + 1}.heapsnapshot`));
  process.stdout.write(`[memory-probe] ${JSON.stringify({ seq: ++seq, gc: Boolean(gc), ...m })}\n`);
});
