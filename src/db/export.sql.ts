// The bulk exports' reads (GET /export/*.csv), as CSV bytes a page at a time:
// keyset pages, each its own autocommit statement, so an export of any size
// holds a few pages in memory and no transaction open while a slow client
// reads (a server-side cursor, or one COPY for the whole table, would hold a
// snapshot for the whole download: idle_in_transaction_session_timeout,
// statement_timeout and vacuum all object). The price: an export is not one
// snapshot; rows written meanwhile may or may not be in it (each row is as it
// was when its page was read).
//
// On PostgreSQL each page is `COPY (SELECT ...) TO STDOUT (FORMAT csv)`: the
// server writes the CSV and this process only moves its bytes (building row
// objects and quoting them here cost several times the database's work and
// most of the garbage). On PGlite, with no COPY to a stream, the same SELECT's
// rows are quoted by csv-stringify, configured to write the same bytes as COPY.
//
// Column names are the CSV headers (the importer's for products).
import { stringify } from "csv-stringify/sync";
import pg from "pg";
import { Prisma } from "../generated/prisma/client.js";
import type { RawSql } from "./raw-sql.js";

export type ExportKind = "products" | "stock" | "ledger";

/** The header row of each export, in order. products: what the importer reads. */
export const EXPORT_COLUMNS = {
  products: ["sku", "name", "description", "price_cents", "currency", "location", "on_hand"],
  stock: ["sku", "location", "on_hand", "committed", "reserved", "incoming", "available"],
  ledger: [
    "id",
    "occurred_at",
    "sku",
    "location",
    "reason",
    "adjustment_reason",
    "delta_on_hand",
    "delta_committed",
    "delta_reserved",
    "delta_incoming",
    "on_hand_after",
    "committed_after",
    "reserved_after",
    "incoming_after",
    "version_after",
    "order_id",
    "hold_id",
    "transfer_id",
    "actor",
    "note",
  ],
} as const satisfies Record<ExportKind, readonly string[]>;

export interface ExportQuery {
  /** Ledger only: movements at or after this instant. */
  since?: Date;
  /** Products (or ledger rows) per page. */
  pageSize: number;
  /**
   * Page reads in flight at once (each on a connection of its own while it runs), asked before each
   * read starts (the export service shares its reads among the exports running); 1 when not given.
   */
  readsInFlight?: () => number;
}

/** Page ends found per range statement: one index-only scan for this many pages. */
const ENDS_PER_STATEMENT = 8;

/** A value in a statement: a bind parameter, or (in COPY, which takes none) a quoted literal. */
type Value = (v: string | Date) => Prisma.Sql;
const bound: Value = (v) => Prisma.sql`${v}`;
const literal: Value = (v) => Prisma.raw(pg.escapeLiteral(v instanceof Date ? v.toISOString() : v));

// ISO 8601 in UTC with milliseconds, as Date.toISOString() writes it and `since` reads it back.
const isoUtc = (column: Prisma.Sql) => Prisma.sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
// The API's global ID (src/ids/global-id.ts: base64 of "Type:id"); null stays null. No line breaks: the longest is 60 characters.
const globalId = (type: string, column: Prisma.Sql) =>
  Prisma.sql`encode(convert_to(${Prisma.raw(`'${type}:'`)} || ${column}::text, 'UTF8'), 'base64')`;

/** A page's keys: after `after` (exclusive) up to `upTo` (inclusive; the last page has none). */
interface Range {
  after?: string;
  upTo?: string;
}

const keyRange = (key: Prisma.Sql, { after, upTo }: Range, value: Value, cast = Prisma.empty) => [
  ...(after === undefined ? [] : [Prisma.sql`${key} > ${value(after)}${cast}`]),
  ...(upTo === undefined ? [] : [Prisma.sql`${key} <= ${value(upTo)}${cast}`]),
];
const where = (conditions: Prisma.Sql[]) => (conditions.length ? Prisma.sql`WHERE ${Prisma.join(conditions, " AND ")}` : Prisma.empty);

/**
 * The last keys of the next `count` pages after `after`: every pageSize-th product by SKU (or
 * movement by id). Fewer than `count` when fewer are left; the rows after the last end are the last
 * page. One index-only scan; each page is then read by its range.
 */
function pageEnds(kind: ExportKind, after: string | undefined, q: ExportQuery, count: number): Prisma.Sql {
  const [key, table, conditions] =
    kind === "ledger"
      ? [
          Prisma.sql`id`,
          Prisma.sql`stock_movement`,
          [
            ...keyRange(Prisma.sql`id`, { after }, bound, Prisma.sql`::bigint`),
            ...(q.since === undefined ? [] : [Prisma.sql`occurred_at >= ${q.since}`]),
          ],
        ]
      : [Prisma.sql`sku`, Prisma.sql`product`, keyRange(Prisma.sql`sku`, { after }, bound)];
  return Prisma.sql`-- export-range:${Prisma.raw(kind)}
    SELECT key::text AS key FROM (
      SELECT ${key} AS key, row_number() OVER (ORDER BY ${key}) AS n FROM ${table} ${where(conditions)} ORDER BY ${key} LIMIT ${count * q.pageSize}
    ) k WHERE n % ${q.pageSize} = 0 ORDER BY n`;
}

/** The export's pages as key ranges, in order: ends found ENDS_PER_STATEMENT pages at a time. */
async function* pageRanges(sql: RawSql, kind: ExportKind, q: ExportQuery): AsyncGenerator<Range> {
  let after: string | undefined;
  for (;;) {
    const ends = await sql.query<{ key: string }>(pageEnds(kind, after, q, ENDS_PER_STATEMENT));
    for (const { key } of ends) {
      yield { after, upTo: key };
      after = key;
    }
    if (ends.length < ENDS_PER_STATEMENT) return yield { after };
  }
}

/**
 * The products of a range by SKU, each joined with its levels: products.csv has one row per product
 * and location (a product with none: one row, location and on_hand empty), stock.csv one per level.
 */
function productPage(kind: "products" | "stock", range: Range, value: Value): Prisma.Sql {
  const columns =
    kind === "products"
      ? Prisma.sql`p.sku, p.name, p.description, p.price_cents, p.currency, l.location, s.on_hand`
      : Prisma.sql`p.sku, l.location, s.on_hand, s.committed, s.reserved, s.incoming,
          greatest(0, s.on_hand - s.committed - s.reserved) AS available`;
  // OFFSET 0 keeps the levels a subquery per product (an index lookup each): flattened, the planner
  // hashed all of stock_level for every page. The location codes are joined once, outside it (inside,
  // a scan of location per product cost a quarter of the page). The page's levels by one `= ANY(its ids)` scan ran
  // about a quarter faster on a fresh catalogue but, misestimated after a bulk insert, timed out
  // (5 s) in tests/api/fuzz-shapes.test.ts: the lookup per product is the plan that holds.
  return Prisma.sql`
    -- export:${Prisma.raw(kind)}
    WITH page AS (SELECT id, sku, name, description, price_cents, currency FROM product ${where(keyRange(Prisma.sql`sku`, range, value))})
    SELECT ${columns}
    FROM page p ${kind === "products" ? Prisma.sql`LEFT JOIN` : Prisma.sql`JOIN`} LATERAL (
      SELECT s.location_id, s.on_hand, s.committed, s.reserved, s.incoming FROM stock_level s WHERE s.product_id = p.id OFFSET 0
    ) s ON true
    LEFT JOIN (SELECT id, code AS location FROM location) l ON l.id = s.location_id
    ORDER BY p.sku, l.location`;
}

/**
 * The movements of a range by id (ids ascend with time of writing), optionally from `since` on.
 * Product and location by scalar subqueries: an index lookup per row, never a join over whole tables.
 */
function ledgerPage(range: Range, since: Date | undefined, value: Value): Prisma.Sql {
  const conditions = [
    ...keyRange(Prisma.sql`m.id`, range, value, Prisma.sql`::bigint`),
    ...(since === undefined ? [] : [Prisma.sql`m.occurred_at >= ${value(since)}::timestamptz`]),
  ];
  return Prisma.sql`
    -- export:ledger
    SELECT m.id, ${isoUtc(Prisma.sql`m.occurred_at`)} AS occurred_at,
      (SELECT sku FROM product WHERE id = m.product_id) AS sku, (SELECT code FROM location WHERE id = m.location_id) AS location, m.reason,
      m.adjustment_reason, m.delta_on_hand, m.delta_committed, m.delta_reserved, m.delta_incoming,
      m.on_hand_after, m.committed_after, m.reserved_after, m.incoming_after, m.version_after,
      ${globalId("Order", Prisma.sql`m.order_id`)} AS order_id, ${globalId("Hold", Prisma.sql`m.hold_id`)} AS hold_id,
      ${globalId("Transfer", Prisma.sql`m.transfer_id`)} AS transfer_id, m.actor, m.note
    FROM stock_movement m ${where(conditions)}
    ORDER BY m.id`;
}

/** The header row, as COPY's HEADER option would write it. */
export const csvHeader = (kind: ExportKind) => Buffer.from(`${EXPORT_COLUMNS[kind].join(",")}\n`);

/**
 * One page as CSV: COPY where the driver has it, else the rows through csv-stringify quoted as COPY
 * quotes (fields with a comma, quote, CR or LF, and empty strings, which COPY tells from NULL).
 */
async function csvPage(sql: RawSql, kind: ExportKind, range: Range, q: ExportQuery): Promise<Buffer> {
  const page = (value: Value) => (kind === "ledger" ? ledgerPage(range, q.since, value) : productPage(kind, range, value));
  if (sql.copyOut) return sql.copyOut(`COPY (${page(literal).text}) TO STDOUT (FORMAT csv)`);
  const rows = await sql.query<Record<string, unknown>>(page(bound));
  const columns = EXPORT_COLUMNS[kind];
  // int8 ids come back as bigint through Prisma: as text, COPY's digits.
  const records = rows.map((row) => columns.map((c) => (typeof row[c] === "bigint" ? String(row[c]) : row[c])));
  return Buffer.from(stringify(records, { quoted_match: /^$/, record_delimiter: "unix" }));
}

/**
 * One export's CSV after its header, a page at a time, in order. Up to readsInFlight pages are read
 * at once while the caller writes the one before them (the database's cores and this process work
 * at once); whoever iterates stops the reads with return(), after the pages already asked for at most.
 */
export async function* exportCsvPages(sql: RawSql, kind: ExportKind, q: ExportQuery): AsyncGenerator<Buffer> {
  const depth = () => Math.max(1, q.readsInFlight?.() ?? 1);
  const ranges = pageRanges(sql, kind, q);
  const reading: Promise<Buffer>[] = [];
  let last = false;
  const fill = async () => {
    while (!last && reading.length < depth()) {
      const range = await ranges.next();
      if (range.done) {
        last = true;
        return;
      }
      const page = csvPage(sql, kind, range.value, q);
      // Read ahead and then not wanted (the caller stopped): its failure is nobody's.
      page.catch(() => {});
      reading.push(page);
    }
  };
  try {
    await fill();
    for (let next = reading.shift(); next; next = reading.shift()) {
      const csv = await next;
      await fill();
      if (csv.length) yield csv;
    }
  } finally {
    await ranges.return(undefined);
  }
}
