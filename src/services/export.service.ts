// Bulk exports (products, stock per location, the ledger), admins only: who
// may export, what `since` means, and the CSV, a page at a time. The first
// page is read before open() resolves, so a database that does not answer is
// an error the caller can still answer with a status (not a cut-off download).
import { requireAdmin, type RequestContext } from "../auth/viewer.js";
import { csvHeader, exportCsvPages, type ExportKind } from "../db/export.sql.js";
import type { RawSql } from "../db/raw-sql.js";
import { TooManyExportsError, ValidationError } from "../errors/domain-errors.js";

export type { ExportKind };

/**
 * Products (or ledger rows) per page when not configured (EXPORT_PAGE_ROWS): an export holds up to
 * EXPORT_READS + 2 pages in memory, times the locations a product is stocked at (BENCHMARKS.md has
 * the rates by page size).
 */
export const EXPORT_PAGE_SIZE = 5_000;
/**
 * Exports one process streams at once. With EXPORT_READS they hold 6 pool connections at most (for
 * a moment, while a lone export's reads drain as others start), usually 4; the rest of the API
 * (orders, /ready's ping) keeps the others.
 */
export const MAX_CONCURRENT_EXPORTS = 4;
/**
 * Page reads in flight shared by the exports running (each has at least one): an export alone reads
 * three pages at once, on as many connections, so PostgreSQL works on them with all its cores (one
 * at a time it ran at 0.3x the rate of one COPY of the whole table, which a parallel worker helps).
 */
export const EXPORT_READS = 3;

export interface CsvExport {
  kind: ExportKind;
  /** The file: the header row, then a chunk of records per page. Iterate to the end or call return() (the client went away) to stop reading. */
  chunks: ExportChunks;
}

export interface ExportChunks extends AsyncIterableIterator<Buffer> {
  return(): Promise<IteratorResult<Buffer>>;
}

export interface ExportStats {
  /** Exports started and not yet ended (finished, failed or abandoned). */
  active: number;
  started: number;
  /** Read to the end. */
  completed: number;
  /** Ended before the end: the client went away, or a read failed. */
  abandoned: number;
}

export class ExportService {
  readonly stats: ExportStats = { active: 0, started: 0, completed: 0, abandoned: 0 };

  constructor(
    private readonly sql: RawSql,
    private readonly pageSize = EXPORT_PAGE_SIZE,
    private readonly maxConcurrent = MAX_CONCURRENT_EXPORTS,
  ) {}

  /**
   * Throws UnauthenticatedError / ForbiddenError for non-admins, ValidationError for a bad `since`,
   * TooManyExportsError while maxConcurrent exports are running.
   */
  async open(ctx: RequestContext, kind: ExportKind, params: { since?: string | null }): Promise<CsvExport> {
    requireAdmin(ctx);
    if (kind !== "ledger" && params.since != null) throw new ValidationError("since", `since applies to the ledger only, not ${kind}`);
    const since = params.since == null ? undefined : parseSince(params.since);
    // Counted from here on without a turn of the event loop in between (track() counts on its first next()).
    if (this.stats.active >= this.maxConcurrent) throw new TooManyExportsError(this.maxConcurrent);
    const readsInFlight = () => Math.floor(EXPORT_READS / Math.max(1, this.stats.active));
    const pages = this.track(exportCsvPages(this.sql, kind, { since, pageSize: this.pageSize, readsInFlight }));
    const first = await pages.next();
    return { kind, chunks: prepend([csvHeader(kind), ...(first.done ? [] : [first.value])], pages) };
  }

  /** Counts the export in `stats` from its first read until it ends, whichever way. */
  private async *track(pages: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
    this.stats.active++;
    this.stats.started++;
    let completed = false;
    try {
      yield* pages;
      completed = true;
    } finally {
      this.stats.active--;
      if (completed) this.stats.completed++;
      else this.stats.abandoned++;
    }
  }
}

/**
 * `first`, then the rest of `rest`. An object rather than a generator: return() must reach `rest`
 * even before anyone asked for the first chunk (a generator never started skips its finally).
 */
function prepend(first: Buffer[], rest: AsyncGenerator<Buffer>): ExportChunks {
  const pending = [...first];
  return {
    next: async () => {
      const value = pending.shift();
      return value ? { done: false, value } : rest.next();
    },
    return: async () => {
      pending.length = 0;
      await rest.return(undefined);
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

const SINCE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** An ISO 8601 instant with its zone (2026-12-07T06:00:00Z, ...+01:00), or a date (midnight UTC). */
export function parseSince(given: string): Date {
  // An offset's "+" sent unencoded in a query string arrives as a space.
  const text = given.replace(/ (\d{2}:\d{2})$/, "+$1");
  const m = SINCE.exec(text);
  const bad = () =>
    new ValidationError("since", `since must be an ISO 8601 timestamp with a time zone (e.g. 2026-12-07T06:00:00Z) or a date (2026-12-07)`);
  if (!m) throw bad();
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((v) => (v === undefined ? undefined : Number(v)));
  const calendar = new Date(Date.UTC(year!, month! - 1, day!));
  if (calendar.getUTCMonth() !== month! - 1 || calendar.getUTCDate() !== day || hour! > 23 || minute! > 59 || second! > 59) throw bad();
  const at = new Date(m[4] === undefined ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(at.getTime())) throw bad();
  return at;
}
