// A bulk import file as a whole: its size, encoding and format (CSV with a
// header row, or JSONL: one object per line), and its columns. Anything wrong
// here refuses the file before a row is staged (BulkImportFileError); what is
// wrong with one row is the runner's to report (bulk-import-rows.ts).
import { parse } from "csv-parse";
import { EXPORT_COLUMNS } from "../db/export.sql.js";
import type { StagedRow } from "../db/bulk-import.sql.js";
import { BulkImportFileError } from "../errors/domain-errors.js";

/** The importer's columns: what GET /export/products.csv writes, and a price list's prices (price rows). */
export const IMPORT_COLUMNS: readonly string[] = [...EXPORT_COLUMNS.products, "price_list", "min_quantity"];
/**
 * Without these a row cannot make a product (a file with a price_list column may hold price rows
 * only: name may be left out then). description may be left out; location and on_hand go together.
 */
const REQUIRED = ["sku", "name", "price_cents", "currency"];

export type ImportFormat = "CSV" | "JSONL";

/** Bytes (CSV) or lines (JSONL) parsed between two turns of the event loop: a 50 MB file never holds it for long. */
const PARSE_SLICE_BYTES = 256 * 1024;
const PARSE_SLICE_LINES = 2_000;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Rows handed on at a time: the file's rows are never all held as objects at once. */
const ROWS_PER_BATCH = 1_000;

/** Takes the next rows of the file (in file order); the parse waits for it. */
export type RowSink = (rows: StagedRow[]) => Promise<void>;

/**
 * Parses a file and hands its rows to `sink` in batches as they are parsed (1 = the first data row,
 * in file order; duplicates of SKU and location marked). A file-level problem found after some
 * rows were handed on (a CSV error, JSONL's columns) still throws: the caller stages in one
 * transaction, so nothing of it stays. Resolves with the file's format and row count.
 */
export async function parseImportFile(
  bytes: Uint8Array,
  name: string,
  maxBytes: number,
  sink: RowSink,
): Promise<{ format: ImportFormat; rowCount: number }> {
  if (bytes.byteLength > maxBytes) {
    throw new BulkImportFileError("TOO_LARGE", `The file is ${bytes.byteLength} bytes; at most ${maxBytes} are accepted`);
  }
  let text: string;
  try {
    // fatal: a byte sequence that is not UTF-8 refuses the file; a BOM is dropped (ignoreBOM false).
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new BulkImportFileError("INVALID_UTF8", "The file is not valid UTF-8 text");
  }
  if (!text.trim()) throw new BulkImportFileError("EMPTY_FILE", "The file is empty");
  if (text.includes("\0")) throw new BulkImportFileError("NOT_CSV_OR_JSONL", "The file is not CSV or JSONL (it holds NUL bytes)");
  const format: ImportFormat = /\.(jsonl|ndjson)$/i.test(name) || text.trimStart().startsWith("{") ? "JSONL" : "CSV";
  const mark = duplicateMarker();
  let rowCount = 0;
  const marked: RowSink = async (rows) => {
    mark(rows, rowCount);
    rowCount += rows.length;
    await sink(rows);
  };
  if (format === "JSONL") await parseJsonl(text, marked);
  else await parseCsv(bytes, marked);
  if (!rowCount) throw new BulkImportFileError("EMPTY_FILE", "The file has no rows");
  return { format, rowCount };
}

function requireColumns(columns: readonly string[]): void {
  const unknown = columns.filter((c) => !IMPORT_COLUMNS.includes(c));
  if (unknown.length) {
    throw new BulkImportFileError(
      "UNKNOWN_COLUMNS",
      `Unknown columns: ${unknown.join(", ")} (known: ${IMPORT_COLUMNS.join(", ")})`,
      unknown,
    );
  }
  const missing = REQUIRED.filter((c) => !columns.includes(c) && !(c === "name" && columns.includes("price_list")));
  if (columns.includes("min_quantity") && !columns.includes("price_list")) missing.push("price_list");
  const stock = ["location", "on_hand"].filter((c) => !columns.includes(c));
  if (stock.length === 1) missing.push(stock[0]!);
  if (missing.length) throw new BulkImportFileError("MISSING_COLUMNS", `Missing columns: ${missing.join(", ")}`, missing);
}

/** The header row's columns, checked before any row is handed on. */
function csvColumns(header: string[]): string[] {
  const columns = header.map((c) => c.trim());
  if (new Set(columns).size !== columns.length) {
    const twice = columns.filter((c, i) => columns.indexOf(c) !== i);
    throw new BulkImportFileError("UNKNOWN_COLUMNS", `Columns named twice: ${[...new Set(twice)].join(", ")}`, twice);
  }
  requireColumns(columns);
  return columns;
}

const notCsv = (err: unknown) => {
  const detail = err instanceof Error ? err.message.replace(/^Invalid /, "invalid ") : "unreadable";
  return new BulkImportFileError("NOT_CSV_OR_JSONL", `The file is not CSV: ${detail.slice(0, 200)}`);
};

/**
 * csv-parse's stream API fed a slice at a time, a turn of the event loop between slices (its sync API
 * would hold the loop for the whole file); the records parsed so far go on in batches after each slice.
 */
async function parseCsv(bytes: Uint8Array, sink: RowSink): Promise<void> {
  const records: string[][] = [];
  let columns: string[] | undefined;
  const parser = parse({ bom: true, skip_empty_lines: true, relax_column_count: false });
  let failed: Error | undefined;
  parser.on("data", (record: string[]) => records.push(record));
  parser.on("error", (err) => (failed ??= err));
  const ended = new Promise<void>((resolve) => parser.on("end", resolve).on("error", () => resolve()));
  const handOn = async (all: boolean) => {
    if (!columns && records.length) columns = csvColumns(records.shift()!);
    while (columns && (records.length >= ROWS_PER_BATCH || (all && records.length))) {
      const batch = records.splice(0, ROWS_PER_BATCH);
      await sink(batch.map((values) => Object.fromEntries(columns!.map((c, i) => [c, values[i] ?? null])) as StagedRow));
    }
  };
  try {
    for (let at = 0; at < bytes.byteLength && !failed; at += PARSE_SLICE_BYTES) {
      parser.write(Buffer.from(bytes.buffer, bytes.byteOffset + at, Math.min(PARSE_SLICE_BYTES, bytes.byteLength - at)));
      await nextTurn();
      if (!failed) await handOn(false);
    }
    if (!failed) parser.end();
    await ended;
  } catch (err) {
    parser.destroy();
    throw err;
  }
  if (failed) throw notCsv(failed);
  await handOn(true);
}

async function parseJsonl(text: string, sink: RowSink): Promise<void> {
  let rows: StagedRow[] = [];
  let count = 0;
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (i > 0 && i % PARSE_SLICE_LINES === 0) await nextTurn();
    const line = lines[i]!;
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new BulkImportFileError("NOT_CSV_OR_JSONL", `The file is not JSONL: line ${i + 1} is not JSON`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new BulkImportFileError("NOT_CSV_OR_JSONL", `The file is not JSONL: line ${i + 1} is not an object`);
    }
    const unknown = Object.keys(value).filter((k) => !IMPORT_COLUMNS.includes(k));
    if (unknown.length) {
      throw new BulkImportFileError("UNKNOWN_COLUMNS", `Unknown columns on line ${i + 1}: ${unknown.join(", ")}`, unknown);
    }
    for (const k of Object.keys(value)) seen.add(k);
    const row: StagedRow = {};
    for (const [k, v] of Object.entries(value))
      row[k] = typeof v === "string" || typeof v === "number" || v === null ? v : JSON.stringify(v);
    rows.push(row);
    count++;
    if (rows.length >= ROWS_PER_BATCH) {
      await sink(rows);
      rows = [];
    }
  }
  if (rows.length) await sink(rows);
  // The columns of every line: known only at the end (the rows handed on go with the transaction).
  if (count) requireColumns([...seen]);
}

/**
 * Marks each row whose SKU and location (or, for a price row, SKU, price list and quantity) an earlier
 * row had, regardless of case, and each row's SKU's first product row; called with the file's rows in
 * order, a batch at a time (`before`: how many rows came before the batch).
 */
function duplicateMarker(): (rows: StagedRow[], before: number) => void {
  const levels = new Map<string, number>();
  const skus = new Map<string, number>();
  const key = (...parts: unknown[]) =>
    parts
      .map((p) =>
        String(p ?? "")
          .trim()
          .toLowerCase(),
      )
      .join("\n");
  return (rows, before) =>
    rows.forEach((r, at) => {
      const i = before + at;
      const sku = key(r.sku);
      const priced = String(r.price_list ?? "").trim() !== "";
      const place = priced ? key(r.sku, "", r.price_list, String(r.min_quantity ?? "").trim() || "1") : key(r.sku, r.location);
      const earlier = levels.get(place);
      if (earlier !== undefined) r._duplicateOf = earlier;
      else levels.set(place, i + 1);
      if (!priced && !skus.has(sku)) skus.set(sku, i + 1);
      r._firstOfSku = skus.get(sku) ?? i + 1;
    });
}
