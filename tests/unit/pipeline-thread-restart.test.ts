// The pipeline thread's heap limit (PIPELINE_THREAD_MAX_HEAP_MB, 96 MiB by
// default) must not cost the process: a thread that runs out of it is started
// again with twice the limit, a few times, and only a thread that ends for
// another reason (or keeps running out) ends the process. Real worker threads
// that really run out of their V8 heap stand in for the relay and bridge
// (startPipelineThread's spawnWorker): the supervision is what is tested here.
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PIPELINE_THREAD_RESTARTS, startPipelineThread, type PipelineThread } from "../../src/pipeline-thread.js";

// Speaks the pipeline thread's protocol: started with its heap limit, stopped on "stop". Below
// `leakBelow` MiB it keeps everything it allocates until V8 ends it; with `exitWith` it exits at once.
const THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const { getHeapStatistics } = require("node:v8");
parentPort.postMessage({ started: true, heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20) });
parentPort.on("message", (m) => {
  if (m === "stop") { parentPort.postMessage({ stopped: true }); parentPort.close(); }
});
if (workerData.exitWith !== undefined) setTimeout(() => process.exit(workerData.exitWith), 10);
if (workerData.limit !== undefined && workerData.limit < workerData.leakBelow) {
  const kept = [];
  setInterval(() => { for (let i = 0; i < 20; i++) kept.push(new Array(100000).fill(i)); }, 1);
}`;

const threads = (behaviour: { leakBelow?: number; exitWith?: number }) => {
  const limits: (number | undefined)[] = [];
  const spawn = (_data: unknown, limit: number | undefined) => {
    limits.push(limit);
    return new Worker(THREAD, {
      eval: true,
      workerData: { limit, leakBelow: behaviour.leakBelow ?? 0, exitWith: behaviour.exitWith },
      ...(limit && { resourceLimits: { maxOldGenerationSizeMb: limit } }),
    });
  };
  return { limits, spawn };
};

let running: PipelineThread | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

const start = (limit: number | undefined, spawn: ReturnType<typeof threads>["spawn"]) => {
  const said: string[] = [];
  const exits: string[] = [];
  const thread = startPipelineThread(
    {},
    ["relay", "bridge"],
    (line) => said.push(line),
    (why) => exits.push(why),
    () => {},
    limit,
    spawn as never,
  );
  return { thread, said, exits };
};

describe("a pipeline thread out of its heap limit", () => {
  it("is started again with twice the limit until it fits, and the process goes on", { timeout: 60_000 }, async () => {
    const t = threads({ leakBelow: 200 });
    const { thread, said, exits } = start(64, t.spawn);
    running = await thread;
    await vi.waitFor(() => expect(running!.restarts).toBe(2), { timeout: 50_000, interval: 50 });
    expect(t.limits).toEqual([64, 128, 256]);
    // The thread that fits stays: no more restarts, the process was never told to end.
    await new Promise((r) => setTimeout(r, 500));
    expect(running.restarts).toBe(2);
    expect(running.heapLimitMb).toBeGreaterThanOrEqual(256);
    expect(exits).toEqual([]);
    expect(said.filter((l) => l.includes("started again"))).toEqual([
      expect.stringContaining("out of its 64 MiB heap; started again with 128 MiB"),
      expect.stringContaining("out of its 128 MiB heap; started again with 256 MiB"),
    ]);
  });

  it(`ends the process after ${PIPELINE_THREAD_RESTARTS} restarts that did not help`, { timeout: 90_000 }, async () => {
    const t = threads({ leakBelow: Infinity });
    const { thread, exits } = start(64, t.spawn);
    await thread;
    await vi.waitFor(() => expect(exits).toHaveLength(1), { timeout: 80_000, interval: 50 });
    expect(t.limits).toEqual([64, 128, 256, 512]);
    expect(exits[0]).toMatch(/^the pipeline thread \(relay, bridge\) exited with code \d+$/);
  });
});

describe("a pipeline thread that ends for another reason", () => {
  it("ends the process at once, with or without a limit", { timeout: 20_000 }, async () => {
    for (const limit of [128, undefined]) {
      const t = threads({ exitWith: 3 });
      const { thread, exits } = start(limit, t.spawn);
      await thread;
      await vi.waitFor(() => expect(exits).toEqual(["the pipeline thread (relay, bridge) exited with code 3"]), { timeout: 10_000 });
      expect(t.limits).toEqual([limit]);
    }
  });
});
