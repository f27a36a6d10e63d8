// What `npm run import` prints about a bulk operation, as pure functions of
// its state: the terminal's rewritten progress line, the plain line per change
// when stdout is not a terminal, the closing summary, and the exit code.
// Hand-rolled (one line, a few characters of bar) rather than cli-progress:
// the plain-line mode and the exit code would be ours anyway.

export type BulkOperationStatus = "QUEUED" | "RUNNING" | "COMPLETED" | "FAILED" | "CANCELLED";

export interface Progress {
  status: BulkOperationStatus;
  rowsTotal: number;
  rowsDone: number;
  rowsFailed: number;
}

export interface RowError {
  row: number;
  column: string | null;
  message: string;
}

export const isFinished = (p: Progress) => p.status !== "QUEUED" && p.status !== "RUNNING";

const count = (n: number) => n.toLocaleString("en-US");
const percent = (p: Progress) => (p.rowsTotal ? Math.floor((100 * p.rowsDone) / p.rowsTotal) : 0);

const tail = (p: Progress) =>
  `${String(percent(p)).padStart(3)}%  ${count(p.rowsDone)}/${count(p.rowsTotal)} rows  ${count(p.rowsFailed)} failed  ${p.status}`;

/**
 * The terminal's line: `[#####-----]  50%  5,000/10,000 rows  3 failed  RUNNING`, shorter than `width`.
 * The bar's length depends on the width and rowsTotal only, so it does not jump as the counts grow.
 */
export function progressBar(p: Progress, width = 80): string {
  const longest = tail({ status: "COMPLETED", rowsTotal: p.rowsTotal, rowsDone: p.rowsTotal, rowsFailed: p.rowsTotal });
  const room = Math.max(10, Math.min(40, width - 1 - longest.length - 4)); // "[", "]  " and the last column left free
  const filled = p.rowsTotal ? Math.floor((room * p.rowsDone) / p.rowsTotal) : 0;
  return `[${"#".repeat(filled)}${"-".repeat(room - filled)}]  ${tail(p)}`.slice(0, Math.max(width - 1, 1));
}

/** One plain line (stdout is a file or a pipe): printed only when it differs from the one before. */
export function progressLine(p: Progress): string {
  return `${p.status} ${p.rowsDone}/${p.rowsTotal} rows, ${p.rowsFailed} failed`;
}

/** Totals, then the first row errors (row, column, message). */
export function summary(id: string, p: Progress, errors: readonly RowError[]): string[] {
  const written = p.rowsDone - p.rowsFailed;
  const lines = [
    `${p.status}: ${count(p.rowsDone)} of ${count(p.rowsTotal)} rows done, ${count(written)} written, ${count(p.rowsFailed)} failed`,
  ];
  if (p.status === "CANCELLED" || p.status === "FAILED") {
    lines.push(`${count(p.rowsTotal - p.rowsDone)} rows were not imported; the ${count(written)} written stay`);
  }
  if (errors.length) {
    lines.push(errors.length < p.rowsFailed ? `First ${errors.length} row errors:` : "Row errors:");
    for (const e of errors) lines.push(`  row ${e.row}${e.column ? `, ${e.column}` : ""}: ${e.message}`);
    if (errors.length < p.rowsFailed) {
      lines.push(`  ... ${count(p.rowsFailed - errors.length)} more: bulkOperation(id: "${id}") { errors(first: 100, after: ...) }`);
    }
  }
  return lines;
}

/** 0: every row written; 1: rows failed, or the job failed or was cancelled. */
export function exitCode(p: Progress): 0 | 1 {
  return p.status === "COMPLETED" && p.rowsFailed === 0 ? 0 : 1;
}
