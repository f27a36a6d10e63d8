// The leaky bucket's arithmetic (pure), and the in-process buckets built on it.
import { describe, expect, it } from "vitest";
import { createCostBuckets, pour } from "../../src/protection/cost-buckets.js";
import type { Client } from "../../src/protection/client.js";

const size = { points: 100, restorePerSecond: 10 };

describe("pour", () => {
  it("drains continuously at the restore rate, not in one step at the end of a window", () => {
    const full = pour(undefined, size, 100, 0);
    expect(full).toEqual({ ok: true, level: 100 });
    // 1.5 s later 15 points have drained: a cost of 15 fits, 16 does not and changes nothing.
    expect(pour({ level: 100, ts: 0 }, size, 16, 1_500)).toEqual({ ok: false, level: 85 });
    expect(pour({ level: 100, ts: 0 }, size, 15, 1_500)).toEqual({ ok: true, level: 100 });
    // Never below empty.
    expect(pour({ level: 20, ts: 0 }, size, 0, 60_000)).toEqual({ ok: true, level: 0 });
  });

  it("a refund (negative) never overdraws the bucket and is never refused", () => {
    expect(pour({ level: 30, ts: 0 }, size, -50, 0)).toEqual({ ok: true, level: 0 });
    expect(pour({ level: 100, ts: 0 }, size, -10, 0)).toEqual({ ok: true, level: 90 });
  });
});

describe("in-process buckets", () => {
  const client = (key: string): Client => ({ tier: "customer", key }) as Client;
  const buckets = () => createCostBuckets({ anonymous: size, customer: size, admin: { points: 1_000, restorePerSecond: 100 } });

  it("refuses what would overflow, says when it will fit, charges nothing for the refusal, and keeps clients apart", async () => {
    const b = buckets();
    expect(await b.charge(client("a"), 90)).toMatchObject({
      ok: true,
      status: { currentlyAvailable: 10, maximumAvailable: 100, restoreRate: 10 },
    });
    const refused = await b.charge(client("a"), 50);
    expect(refused.ok).toBe(false);
    // 40 points must drain at 10/s: about 4 s (less the few ms since the first charge).
    expect(refused.ok ? 0 : refused.retryAfterMs).toBeGreaterThan(3_900);
    expect(refused.ok ? 0 : refused.retryAfterMs).toBeLessThanOrEqual(4_000);
    expect(refused.status.currentlyAvailable).toBeGreaterThanOrEqual(10);
    // Another client has its own bucket.
    expect(await b.charge(client("b"), 90)).toMatchObject({ ok: true });
  });

  it("refunds the unused part of a charge", async () => {
    const b = buckets();
    const charged = await b.charge(client("c"), 80);
    const after = await b.refund(client("c"), 70, charged);
    expect(after.status.currentlyAvailable).toBeGreaterThanOrEqual(90);
    expect(after.status.currentlyAvailable).toBeLessThanOrEqual(100);
  });
});
