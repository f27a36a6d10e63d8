// Preloaded into the API process by bench/lib/api.ts (`--expose-gc --import`)
// when a benchmark asks for memory figures: on SIGUSR2 it runs a full garbage
// collection and prints process.memoryUsage() as one line on stdout (the
// API's log), so "memory per connection" compares live heap, not whatever
// garbage happened to be uncollected at the moment RSS was read.
const gc = (globalThis as { gc?: () => void }).gc;
let seq = 0;
process.on("SIGUSR2", () => {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  process.stdout.write(`[memory-probe] ${JSON.stringify({ seq: ++seq, gc: Boolean(gc), ...m })}\n`);
});
