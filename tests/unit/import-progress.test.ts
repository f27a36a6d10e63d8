// What `npm run import` prints (scripts/import-progress.ts): the terminal's
// progress line, the plain line per change, the summary and the exit code.
import { describe, expect, it } from "vitest";
import { exitCode, progressBar, progressLine, summary, type Progress } from "../../scripts/import-progress.js";

const at = (status: Progress["status"], rowsDone: number, rowsFailed = 0, rowsTotal = 10_000): Progress => ({
  status,
  rowsTotal,
  rowsDone,
  rowsFailed,
});

describe("import progress", () => {
  it("the terminal line: a bar filled by rows done, percent, counts, status, shorter than the width", () => {
    expect(progressBar(at("QUEUED", 0), 80)).toBe(`[${"-".repeat(25)}]    0%  0/10,000 rows  0 failed  QUEUED`);
    expect(progressBar(at("RUNNING", 2_500, 3), 80)).toBe(
      `[${"#".repeat(6)}${"-".repeat(19)}]   25%  2,500/10,000 rows  3 failed  RUNNING`,
    );
    expect(progressBar(at("COMPLETED", 10_000), 200)).toBe(`[${"#".repeat(40)}]  100%  10,000/10,000 rows  0 failed  COMPLETED`);
    for (const width of [20, 60, 80, 200]) expect(progressBar(at("RUNNING", 5_000), width).length).toBeLessThan(width);
    // The bar keeps its length as the counts grow: the text after it does not jump.
    const bar = (p: Progress) => /^\[[#-]+\]/.exec(progressBar(p, 80))![0].length;
    expect(new Set([at("QUEUED", 0), at("RUNNING", 999), at("RUNNING", 1_000, 1_000), at("COMPLETED", 10_000)].map(bar)).size).toBe(1);
    // An empty job (no rows staged) is 0%, not NaN.
    expect(progressBar(at("COMPLETED", 0, 0, 0), 80)).toMatch(/^\[-+\] {4}0% {2}0\/0 rows/);
  });

  it("the plain line names status and counts", () => {
    expect(progressLine(at("RUNNING", 500, 2))).toBe("RUNNING 500/10000 rows, 2 failed");
  });

  it("the summary: totals, then the first row errors by row and column, and where the rest are", () => {
    const errors = [
      { row: 3, column: "location", message: "No location with code nowhere" },
      { row: 9, column: null, message: "The import stopped" },
    ];
    expect(summary("Qk9", at("COMPLETED", 10_000, 2), errors)).toEqual([
      "COMPLETED: 10,000 of 10,000 rows done, 9,998 written, 2 failed",
      "Row errors:",
      "  row 3, location: No location with code nowhere",
      "  row 9: The import stopped",
    ]);
    expect(summary("Qk9", at("CANCELLED", 4_000, 12), errors)).toEqual([
      "CANCELLED: 4,000 of 10,000 rows done, 3,988 written, 12 failed",
      "6,000 rows were not imported; the 3,988 written stay",
      "First 2 row errors:",
      "  row 3, location: No location with code nowhere",
      "  row 9: The import stopped",
      '  ... 10 more: bulkOperation(id: "Qk9") { errors(first: 100, after: ...) }',
    ]);
  });

  it("exit 0 only for a job COMPLETED with no row failed", () => {
    expect(exitCode(at("COMPLETED", 10_000))).toBe(0);
    expect(exitCode(at("COMPLETED", 10_000, 1))).toBe(1);
    expect(exitCode(at("FAILED", 500))).toBe(1);
    expect(exitCode(at("CANCELLED", 500))).toBe(1);
  });
});
