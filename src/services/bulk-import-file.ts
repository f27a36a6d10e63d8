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

/** The rows of a file, 1 = the first data row, in file order; duplicates of SKU and location marked. */
export async function parseImportFile(
  bytes: Uint8Array,
  name: string,
  maxBytes: number,
): Promise<{ format: ImportFormat; rows: StagedRow[] }> {
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
  const rows = format === "JSONL" ? await parseJsonl(text) : await parseCsv(bytes);
  if (!rows.length) throw new BulkImportFileError("EMPTY_FILE", "The file has no rows");
  markDuplicates(rows);
  return { format, rows };
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

/** csv-parse's stream API fed a slice at a time, a turn of the event loop between slices (its sync API would hold the loop for the whole file). */
async function parseCsv(bytes: Uint8Array): Promise<StagedRow[]> {
  const records: string[][] = [];
  try {
    const parser = parse({ bom: true, skip_empty_lines: true, relax_column_count: false });
    let failed: Error | undefined;
    parser.on("data", (record: string[]) => records.push(record));
    parser.on("error", (err) => (failed ??= err));
    const ended = new Promise<void>((resolve) => parser.on("end", resolve).on("error", () => resolve()));
    for (let at = 0; at < bytes.byteLength && !failed; at += PARSE_SLICE_BYTES) {
      parser.write(Buffer.from(bytes.buffer, bytes.byteOffset + at, Math.min(PARSE_SLICE_BYTES, bytes.byteLength - at)));
      await nextTurn();
    }
    if (!failed) parser.end();
    await ended;
    if (failed) throw failed;
  } catch (err) {
    const detail = err instanceof Error ? err.message.replace(/^Invalid /, "invalid ") : "unreadable";
    throw new BulkImportFileError("NOT_CSV_OR_JSONL", `The file is not CSV: ${detail.slice(0, 200)}`);
  }
  const [header, ...data] = records;
  const columns = header!.map((c) => c.trim());
  if (new Set(columns).size !== columns.length) {
    const twice = columns.filter((c, i) => columns.indexOf(c) !== i);
    throw new BulkImportFileError("UNKNOWN_COLUMNS", `Columns named twice: ${[...new Set(twice)].join(", ")}`, twice);
  }
  requireColumns(columns);
  return data.map((values) => Object.fromEntries(columns.map((c, i) => [c, values[i] ?? null])) as StagedRow);
}

async function parseJsonl(text: string): Promise<StagedRow[]> {
  const rows: StagedRow[] = [];
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
  }
  if (rows.length) requireColumns([...seen]);
  return rows;
}

/**
 * Marks each row whose SKU and location (or, for a price row, SKU, price list and quantity) an earlier
 * row had, regardless of case, and each row's SKU's first product row.
 */
function markDuplicates(rows: StagedRow[]): void {
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
  rows.forEach((r, i) => {
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
