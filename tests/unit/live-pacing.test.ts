// Buyers first (fanout/pacing.ts): the stretch follows the event loop's lag
// (rises at once, falls back gradually, bounded), and a stream of the shared
// fan-out spaces its updates by the stretched interval while still sending the
// newest state at each slot: fewer updates, never an older one after a newer,
// the final one within the widest window. Fake timers: the fan-out's own clock
// (Date.now, setTimeout) is the test's. tests/realtime/live-pacing.test.ts
// starves a real instance's event loop.
import { parse, type ExecutionArgs } from "graphql";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveFanout } from "../../src/fanout/live-fanout.js";
import { LoopPacing, nextStretch, unpaced, type Pacing } from "../../src/fanout/pacing.js";
import type { Delivery, Target } from "../../src/fanout/subscriber.js";
import type { StockChange, StockHub } from "../../src/services/stock-hub.js";

const opts = { lagThresholdMs: 50, maxStretch: 8 };

describe("the stretch", () => {
  it.each([
    // previous, lag (ms), next
    [1, 0, 1],
    [1, 50, 1], // up to the threshold: nothing
    [1, 100, 2],
    [1, 275, 5.5],
    [1, 5_000, 8], // bounded
    [8, 0, 6.4], // falls back gradually
    [1.1, 0, 1], // never below 1
    [2, 400, 8], // rises at once
  ])("from %d with %d ms of lag becomes %d", (previous, lag, next) => {
    expect(nextStretch(previous, lag, opts)).toBeCloseTo(next);
  });

  it("is always 1 with pacing off", () => {
    expect(nextStretch(4, 10_000, { lagThresholdMs: 0, maxStretch: 8 })).toBe(1);
  });

  it("stretches rated intervals by it, never the interval of every change", () => {
    const pacing = new LoopPacing(opts);
    expect([pacing.interval(200), pacing.interval(0)]).toEqual([200, 0]);
    pacing.sample(200, 250);
    expect(pacing.stretch).toBe(4);
    expect([pacing.interval(200), pacing.interval(0)]).toEqual([800, 0]);
    for (let i = 0; i < 20; i++) pacing.sample(0, 50);
    expect(pacing.stretch).toBe(1);
    expect(pacing.stretchedSeconds).toBeGreaterThan(0);
  });
});

describe("a stream under pacing", () => {
  beforeEach(() => void vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => void vi.useRealTimers());

  const document = parse("subscription { stockChanged(productIds: []) { version } }");
  const args = { document } as ExecutionArgs;

  /** One subscriber of product p at `rate` updates/s (0: every change), and a hub whose changes the test sends. */
  async function watch(rate: number, pacing: Pacing) {
    let listener: ((c: StockChange) => void) | undefined;
    const hub = {
      watch: async (_id: string, l: (c: StockChange) => void) => ((listener = l), () => (listener = undefined)),
      current: async () => [null],
    } as unknown as StockHub;
    const fanout = new LiveFanout({
      hub,
      pacing,
      sharedContext: () => ({}),
      execute: (a) => ({ data: { version: (a.rootValue as StockChange).version } }),
      slowSubscriberCloseMs: 60_000,
    });
    const sent: { version: number; at: number }[] = [];
    const target: Target = {
      describe: "test",
      send: (d: Delivery) => void sent.push({ version: (d.result.data as { version: number }).version, at: Date.now() }),
      backlog: () => 0,
      closeSlow: () => {},
    };
    await fanout.attach({ productIds: ["p"], maxUpdatesPerSecond: rate || null }, args, false, target);
    const change = (version: number) => ({ version, reason: "ORDER", touched: null, occurredAt: new Date() }) as unknown as StockChange;
    // One change every 10 ms for 2 s, then time for the last slot.
    for (let v = 1; v <= 200; v++) {
      listener!(change(v));
      await vi.advanceTimersByTimeAsync(10);
    }
    await vi.advanceTimersByTimeAsync(2_000);
    fanout.stop();
    return { sent, fanout };
  }

  /** The real pacing after one sample of lag that stretches it `stretch` times (no timer: it stays). */
  const stretched = (stretch: number): Pacing => {
    const pacing = new LoopPacing(opts);
    pacing.sample(stretch * opts.lagThresholdMs, 0);
    expect(pacing.stretch).toBe(stretch);
    return pacing;
  };

  it("at 10 updates/s, stretched 4x, sends one update per 400 ms, each the newest, and ends on the final state", async () => {
    const { sent, fanout } = await watch(10, stretched(4));
    const gaps = sent.slice(1).map((s, i) => s.at - sent[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(400);
    expect(sent.length).toBeLessThanOrEqual(6); // 2 s / 400 ms, plus the final slot
    expect(sent.map((s) => s.version)).toEqual([...sent.map((s) => s.version)].sort((a, b) => a - b));
    expect(sent.at(-1)!.version).toBe(200);
    expect(fanout.stats.conflated).toBe(200 - sent.length);
  });

  it("unpaced, the same stream sends one update per 100 ms", async () => {
    const { sent } = await watch(10, unpaced);
    expect(sent.length).toBeGreaterThanOrEqual(20);
    expect(sent.at(-1)!.version).toBe(200);
  });

  it("passes every change to a stream that asked for every change, stretched or not", async () => {
    const { sent } = await watch(0, stretched(8));
    expect(sent.map((s) => s.version)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });
});
