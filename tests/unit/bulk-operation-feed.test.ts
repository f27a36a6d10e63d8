// bulkOperationChanged's throttle (services/bulk-operation-feed.ts), on a fake
// clock: at most one run per interval, requests within it merged into one run
// at its end (so the last change is always read), and the snapshot read
// (ran()) counted as a run; and the feed on the in-process pub/sub: a failed
// read is tried again, so the final state arrives, and the feed ends there.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { bulkOperationFeed, Throttle } from "../../src/services/bulk-operation-feed.js";
import { createPubSub } from "../../src/realtime/pubsub.js";
import type { BulkOperationRow } from "../../src/db/bulk-import.sql.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("Throttle", () => {
  it("runs at once when idle, then merges the requests of an interval into one run at its end", () => {
    let runs = 0;
    const t = new Throttle(250, () => runs++);
    t.request();
    expect(runs).toBe(1);
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(20);
      t.request();
    }
    expect(runs).toBe(1);
    vi.advanceTimersByTime(50); // 250 ms after the first run
    expect(runs).toBe(2);
    vi.advanceTimersByTime(1_000);
    expect(runs).toBe(2); // nothing was asked for since
  });

  it("a second's requests, one every 10 ms, are at most 5 runs (the first at once, then one per 250 ms)", () => {
    let runs = 0;
    const t = new Throttle(250, () => runs++);
    for (let i = 0; i < 100; i++) {
      t.request();
      vi.advanceTimersByTime(10);
    }
    expect(runs).toBeLessThanOrEqual(5);
    vi.advanceTimersByTime(250);
    expect(runs).toBe(5); // the last request's run came too
  });

  it("ran() counts as a run: a request right after it waits for the interval", () => {
    let runs = 0;
    const t = new Throttle(250, () => runs++);
    t.ran();
    t.request();
    expect(runs).toBe(0);
    vi.advanceTimersByTime(249);
    expect(runs).toBe(0);
    vi.advanceTimersByTime(1);
    expect(runs).toBe(1);
  });

  it("stop() drops the run that was put off, and any asked for later", () => {
    let runs = 0;
    const t = new Throttle(250, () => runs++);
    t.request();
    t.request();
    t.stop();
    vi.advanceTimersByTime(1_000);
    t.request();
    vi.advanceTimersByTime(1_000);
    expect(runs).toBe(1);
  });
});

describe("bulkOperationFeed", () => {
  const row = (status: BulkOperationRow["status"], version: number): BulkOperationRow => ({
    id: "job",
    status,
    mode: "UPSERT",
    rowsTotal: 10,
    rowsDone: status === "COMPLETED" ? 10 : 0,
    rowsFailed: 0,
    actor: "admin",
    startedAt: null,
    finishedAt: null,
    createdAt: new Date(0),
    version,
  });

  it("a read that fails is tried again, so the final state still arrives; the feed then ends", async () => {
    vi.useRealTimers();
    const pubsub = createPubSub({ kind: "memory" });
    let reads = 0;
    const read = async () => {
      reads++;
      if (reads === 1) return row("RUNNING", 1); // the snapshot
      if (reads === 2) throw new Error("connection reset"); // the read after the final signal
      return row("COMPLETED", 2);
    };
    const feed = bulkOperationFeed("job", { pubsub, read, intervalMs: 5 });
    const first = await feed.next();
    expect(first.value).toMatchObject({ status: "RUNNING" });
    await pubsub.publish("bulkOperation", "job", { id: "job" });
    const seen = [];
    for await (const op of feed) seen.push(op.status);
    expect(seen).toEqual(["COMPLETED"]);
    expect(reads).toBe(3);
  });
});
