// bench/bulk-import.ts's file, its floor and its checks. The file: --rows products, one row each at the
// one location (names with a comma and quotes, descriptions with a line break: the parsing is part of
// the work), every count above zero so that every row moves stock. The floor: the same bytes COPYed into
// a temporary table and merged with one statement per table, in one transaction (FLOOR_WRITES says what
// it writes and what it leaves out). Whole: what a database holds after either, against the file.
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { stringify } from "csv-stringify/sync";
import { Prisma } from "../src/generated/prisma/client.js";
import { MOVEMENT_COLUMNS, movementSql } from "../src/db/ledger.sql.js";
import { levelJsonSql, stockChangedOutboxSql } from "../src/events/stock-changed.event.js";
import { processCpu } from "./lib/cpu.js";

export const COLUMNS = ["sku", "name", "description", "price_cents", "currency", "location", "on_hand"] as const;
/** The one location of a fresh database (the locations migration makes it). */
export const LOCATION = "default";

export interface FileRow {
  sku: string;
  name: string;
  description: string;
  price_cents: number;
  currency: string;
  location: string;
  on_hand: number;
}

/** Row g (1-based) of the file; its SKU's number is g, its count 1 + g % 500. */
export function fileRow(g: number): FileRow {
  return {
    sku: `BULK-${String(g).padStart(7, "0")}`,
    name: `Product ${g}, "bulk"`,
    description: `Description of product ${g},\nsecond line`,
    price_cents: 100 + (g % 10_000),
    currency: "EUR",
    location: LOCATION,
    on_hand: onHandOf(g),
  };
}
const onHandOf = (g: number) => 1 + (g % 500);

export interface ImportFile {
  csv: Buffer;
  rows: number;
  /** The sum of on_hand over the file. */
  units: number;
}

export function makeFile(rows: number): ImportFile {
  const records = Array.from({ length: rows }, (_, i) => fileRow(i + 1));
  const csv = Buffer.from(stringify(records, { header: true, columns: [...COLUMNS] }));
  return { csv, rows, units: records.reduce((n, r) => n + r.on_hand, 0) };
}

/** What the floor writes, and what the importer writes that it does not (for the report). */
export const FLOOR_WRITES =
  "each product (with its count: the product trigger writes its level at the location), " +
  "the stock_level upsert (which finds every level already right in an empty catalogue), one ledger row (RESTOCK, RECEIVED) " +
  "and one stock-changed outbox event per product, in one transaction; it leaves out what the importer also writes: the staged " +
  "rows and the job's progress, a second (CREATED) event per new product, and the zero level each new product has until its count is set";

const sql = (s: Prisma.Sql) => ({ text: s.text, values: s.values });
/** The file's rows with their product, location and level, as the merge left them. */
const JOINED = Prisma.sql`import_row r JOIN product p ON lower(p.sku) = lower(r.sku) JOIN location loc ON lower(loc.code) = lower(r.location)
  JOIN stock_level s ON s.product_id = p.id AND s.location_id = loc.id`;

const MERGE = [
  // Products by SKU regardless of case, as upsertProducts; the count goes in with them (one location).
  sql(Prisma.sql`INSERT INTO product (sku, name, description, price_cents, currency, stock)
    SELECT sku, name, coalesce(description, ''), price_cents, currency, on_hand FROM import_row ORDER BY lower(sku)
    ON CONFLICT ((lower(sku))) DO UPDATE
    SET name = EXCLUDED.name, description = EXCLUDED.description, price_cents = EXCLUDED.price_cents, currency = EXCLUDED.currency,
      version = product.version + 1, updated_at = now()
    WHERE (product.name, product.description, product.price_cents, product.currency)
      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.description, EXCLUDED.price_cents, EXCLUDED.currency)`),
  sql(Prisma.sql`INSERT INTO stock_level (product_id, location_id, on_hand)
    SELECT p.id, loc.id, r.on_hand
    FROM import_row r JOIN product p ON lower(p.sku) = lower(r.sku) JOIN location loc ON lower(loc.code) = lower(r.location)
    ORDER BY p.id, loc.id
    ON CONFLICT (product_id, location_id) DO UPDATE SET on_hand = EXCLUDED.on_hand, version = stock_level.version + 1, updated_at = now()
    WHERE stock_level.on_hand <> EXCLUDED.on_hand`),
  // The ledger and the events through the same SQL fragments the importer's statements use.
  sql(Prisma.sql`INSERT INTO stock_movement ${MOVEMENT_COLUMNS}
    SELECT ${movementSql({
      productId: Prisma.sql`s.product_id`,
      locationId: Prisma.sql`s.location_id`,
      deltaOnHand: Prisma.sql`s.on_hand`,
      deltaCommitted: Prisma.sql`0`,
      deltaReserved: Prisma.sql`0`,
      deltaIncoming: Prisma.sql`0`,
      onHandAfter: Prisma.sql`s.on_hand`,
      committedAfter: Prisma.sql`s.committed`,
      reservedAfter: Prisma.sql`s.reserved`,
      incomingAfter: Prisma.sql`s.incoming`,
      reason: Prisma.sql`'RESTOCK'`,
      adjustmentReason: Prisma.sql`'RECEIVED'`,
      note: Prisma.sql`'bulk import'`,
      actor: Prisma.sql`'admin'`,
      versionAfter: Prisma.sql`p.version`,
    })}
    FROM ${JOINED} WHERE s.on_hand > 0 ORDER BY p.id`),
  sql(Prisma.sql`INSERT INTO outbox_event (topic, key, payload)
    SELECT ${stockChangedOutboxSql({
      productId: Prisma.sql`p.id`,
      sku: Prisma.sql`p.sku`,
      stock: Prisma.sql`p.stock`,
      committed: Prisma.sql`p.committed`,
      reserved: Prisma.sql`p.reserved`,
      version: Prisma.sql`p.version`,
      delta: Prisma.sql`s.on_hand`,
      reason: Prisma.sql`'RESTOCK'::text`,
      orderId: Prisma.sql`NULL::uuid`,
      note: Prisma.sql`'bulk import'::text`,
      levels: Prisma.sql`jsonb_build_array(${levelJsonSql({
        locationId: Prisma.sql`s.location_id`,
        locationCode: Prisma.sql`loc.code`,
        onHand: Prisma.sql`s.on_hand`,
        committed: Prisma.sql`s.committed`,
        reserved: Prisma.sql`s.reserved`,
        incoming: Prisma.sql`s.incoming`,
        version: Prisma.sql`s.version`,
        fulfilsOrders: Prisma.sql`loc.active AND loc.fulfils_orders`,
      })})`,
    })}
    FROM ${JOINED} WHERE s.on_hand > 0 ORDER BY p.id`),
];

export interface FloorRun {
  /** BEGIN to COMMIT. */
  ms: number;
  /** Of which the COPY into the temporary table. */
  copyMs: number;
  /** CPU seconds of the PostgreSQL backend meanwhile. */
  pgCpuSeconds: number;
}

/** The file into the database at `url` the fastest way SQL allows, timed on an open connection. */
export async function floorImport(url: string, file: ImportFile): Promise<FloorRun> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const cpu0 = processCpu(rows[0]!.pid);
    const started = performance.now();
    await client.query("BEGIN");
    await client.query(`CREATE TEMP TABLE import_row (sku text, name text, description text, price_cents int, currency text,
      location text, on_hand int) ON COMMIT DROP`);
    await pipeline(
      Readable.from([file.csv]),
      client.query(copyFrom(`COPY import_row (${COLUMNS.join(", ")}) FROM STDIN (FORMAT csv, HEADER true)`)),
    );
    const copyMs = performance.now() - started;
    // A temporary table has no statistics until analysed: without them the joins are planned for a few rows.
    await client.query("ANALYZE import_row");
    for (const statement of MERGE) await client.query(statement.text, statement.values);
    await client.query("COMMIT");
    return { ms: performance.now() - started, copyMs, pgCpuSeconds: processCpu(rows[0]!.pid) - cpu0 };
  } finally {
    await client.end();
  }
}

export interface Whole {
  products: number;
  /** Products whose stock is not the file's count for their SKU. */
  wrongStock: number;
  stock: number;
  levels: number;
  levelUnits: number;
  ledgerRows: number;
  ledgerUnits: number;
  events: number;
  problems: string[];
}

/** Whether the database at `url` holds the file: every product, its count, its level and its ledger row. */
export async function wholeCheck(url: string, file: ImportFile): Promise<Whole> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<Omit<Whole, "problems">>(
      `SELECT (SELECT count(*) FROM product)::int AS products,
        (SELECT count(*) FROM product WHERE stock <> 1 + substr(sku, 6)::int % 500)::int AS "wrongStock",
        (SELECT coalesce(sum(stock), 0) FROM product)::float8 AS stock,
        (SELECT count(*) FROM stock_level)::int AS levels,
        (SELECT coalesce(sum(on_hand), 0) FROM stock_level)::float8 AS "levelUnits",
        (SELECT count(*) FROM stock_movement)::int AS "ledgerRows",
        (SELECT coalesce(sum(delta_on_hand), 0) FROM stock_movement)::float8 AS "ledgerUnits",
        (SELECT count(*) FROM outbox_event WHERE topic = 'stock-changed')::int AS events`,
    );
    const w = rows[0]!;
    const problems: string[] = [];
    const expect = (what: string, got: number, want: number) => got !== want && problems.push(`${what} ${got}, expected ${want}`);
    expect("products", w.products, file.rows);
    expect("products with another count than the file's", w.wrongStock, 0);
    expect("sum of stock", w.stock, file.units);
    expect("levels", w.levels, file.rows);
    expect("sum of on_hand", w.levelUnits, file.units);
    expect("ledger rows", w.ledgerRows, file.rows);
    expect("sum of the ledger", w.ledgerUnits, file.units);
    return { ...w, problems };
  } finally {
    await client.end();
  }
}

/** The tables an import writes, in the order the report lists them. */
export const WRITTEN_TABLES = [
  "product",
  "stock_level",
  "stock_movement",
  "outbox_event",
  "bulk_operation_row",
  "bulk_operation",
  "bulk_operation_error",
];

/**
 * Row versions written per table of the database at `url` since it was made (inserted + updated + deleted,
 * from pg_stat_user_tables): read once the connections that wrote have closed, which is when a backend's
 * counts are sure to have reached the statistics.
 */
export async function tableWrites(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table: string; writes: number }>(
      `SELECT relname AS table, (n_tup_ins + n_tup_upd + n_tup_del)::float8 AS writes FROM pg_stat_user_tables WHERE relname = ANY($1::text[])`,
      [WRITTEN_TABLES],
    );
    return Object.fromEntries(WRITTEN_TABLES.map((t) => [t, rows.find((r) => r.table === t)?.writes ?? 0]));
  } finally {
    await client.end();
  }
}
