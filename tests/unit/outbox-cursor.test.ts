// The relay's scan cursor (src/realtime/outbox-cursor.ts): scans start past
// what is known published, but only once that knowledge is lagMs old, and a
// full scan comes round every fullScanMs.
import { describe, expect, it } from "vitest";
import { createOutboxCursor } from "../../src/realtime/outbox-cursor.js";

describe("outbox cursor", () => {
  it("starts with a full scan, then moves to a horizon only once it is lagMs old", () => {
    const c = createOutboxCursor({ lagMs: 1_000, fullScanMs: 60_000 });
    expect(c.after(0)).toBe(0n);
    c.scanned(100n, 0);
    expect(c.after(500)).toBe(0n); // a transaction holding id 99 may still commit
    c.scanned(150n, 600);
    expect(c.after(1_000)).toBe(100n);
    expect(c.after(1_599)).toBe(100n);
    expect(c.after(1_600)).toBe(150n);
  });

  it("never moves back, whatever a later scan reports", () => {
    const c = createOutboxCursor({ lagMs: 10, fullScanMs: 60_000 });
    c.after(0);
    c.scanned(200n, 0);
    c.scanned(150n, 5); // e.g. a scan that stopped at its batch's last row
    expect(c.after(20)).toBe(200n);
    c.scanned(120n, 30);
    expect(c.after(100)).toBe(200n);
  });

  it("scans from the beginning every fullScanMs, and keeps its place for the scans between", () => {
    const c = createOutboxCursor({ lagMs: 10, fullScanMs: 1_000 });
    expect(c.after(0)).toBe(0n);
    c.scanned(50n, 0);
    expect(c.after(500)).toBe(50n);
    expect(c.after(1_000)).toBe(0n);
    expect(c.after(1_001)).toBe(50n);
  });

  it("starts over after a reset (another relay published meanwhile)", () => {
    const c = createOutboxCursor({ lagMs: 10, fullScanMs: 60_000 });
    c.after(0);
    c.scanned(50n, 0);
    expect(c.after(100)).toBe(50n);
    c.reset();
    expect(c.after(101)).toBe(0n);
    expect(c.after(200)).toBe(0n); // nothing scanned since
  });
});
