// The admin chart's arithmetic (web-demo/src/ledger.ts): the counts after each
// ledger movement, added up from the whole ledger or walked back from the
// product's current counts when only the newest movements were read.
import { describe, expect, it } from "vitest";
import { stockAfterEach, type Movement } from "../../web-demo/src/ledger.js";

const at = (s: number) => new Date(Date.UTC(2026, 11, 2, 9, 0, s)).toISOString();
// Oldest first: created with 5, restock 7, write-off 3, hold 2, order takes the hold.
const ledger: Movement[] = [
  { deltaOnHand: 5, deltaReserved: 0, occurredAt: at(0) },
  { deltaOnHand: 7, deltaReserved: 0, occurredAt: at(1) },
  { deltaOnHand: -3, deltaReserved: 0, occurredAt: at(2) },
  { deltaOnHand: 0, deltaReserved: 2, occurredAt: at(3) },
  { deltaOnHand: -2, deltaReserved: -2, occurredAt: at(4) },
];
const newestFirst = [...ledger].reverse();
const now = { stock: 7, reserved: 0 };

describe("stockAfterEach", () => {
  it("adds up the whole ledger from 0, oldest first", () => {
    const points = stockAfterEach(newestFirst, true, now);
    expect(points.map((p) => [p.onHand, p.reserved])).toEqual([
      [5, 0],
      [12, 0],
      [9, 0],
      [9, 2],
      [7, 0],
    ]);
    expect(points.map((p) => p.at)).toEqual([0, 1, 2, 3, 4].map((s) => Date.parse(at(s)) / 1000));
  });

  it("walked back from the current counts, gives the same points as the whole ledger", () => {
    expect(stockAfterEach(newestFirst, false, now)).toEqual(stockAfterEach(newestFirst, true, now));
  });

  it("with only the newest movements, walks back from the current counts", () => {
    const points = stockAfterEach(newestFirst.slice(0, 2), false, now);
    expect(points.map((p) => [p.onHand, p.reserved])).toEqual([
      [9, 2],
      [7, 0],
    ]);
  });

  it("no movements, no points", () => {
    expect(stockAfterEach([], true, now)).toEqual([]);
    expect(stockAfterEach([], false, now)).toEqual([]);
  });
});
