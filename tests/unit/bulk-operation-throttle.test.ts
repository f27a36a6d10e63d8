// bulkOperationChanged's throttle (services/bulk-operation-feed.ts), on a fake
// clock: at most one run per interval, requests within it merged into one run
// at its end (so the last change is always read), and the snapshot read
// (ran()) counted as a run.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Throttle } from "../../src/services/bulk-operation-feed.js";

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

  it("stop() drops the run that was put off", () => {
    let runs = 0;
    const t = new Throttle(250, () => runs++);
    t.request();
    t.request();
    t.stop();
    vi.advanceTimersByTime(1_000);
    expect(runs).toBe(1);
  });
});
