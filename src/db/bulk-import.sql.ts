// The bulk import's statements: staging a parsed file, the runner's claim of
// the next job (one at a time across instances), a chunk's writes (products,
// levels, price lists' prices), progress and cancel. The same SQL runs on PostgreSQL and PGlite.
//
// Stock goes through the stock-change builder (stock-change.sql.ts), so an
// imported count is a ledger row and a stock-changed event like any other.
import { Prisma } from "../generated/prisma/client.js";
import type { DbClient, DbTransaction } from "./database.js";
import type { RawSql } from "./raw-sql.js";
import { currentTraceSql, LOCKED_LEVELS, stockChangeCtes } from "./stock-change.sql.js";
import { MOVEMENT_COLUMNS } from "./ledger.sql.js";

export type BulkImportMode = "UPSERT" | "CREATE_ONLY";
export type BulkOperationStatus = "QUEUED" | "RUNNING" | "COMPLETED" | "FAILED" | "CANCELLED";

export interface BulkOperationRow {
  id: string;
  status: BulkOperationStatus;
  mode: BulkImportMode;
  rowsTotal: number;
  rowsDone: number;
  rowsFailed: number;
  actor: string;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  version: number;
}

export interface BulkOperationErrorRow {
  row: number;
  column: string | null;
  message: string;
}

/** A staged row: the file's values by column, and (set at staging) the row number of the same SKU and location earlier in the file. */
export type StagedRow = Record<string, string | number | null> & { _duplicateOf?: number; _firstOfSku?: number };

const OPERATION_COLUMNS = Prisma.sql`id, status::text AS status, mode, rows_total AS "rowsTotal", rows_done AS "rowsDone",
  rows_failed AS "rowsFailed", actor, started_at AS "startedAt", finished_at AS "finishedAt", created_at AS "createdAt", version`;

/** Rows staged per INSERT: one parameter each (a jsonb array), so the statement stays small whatever the file. */
const STAGE_BATCH = 1_000;

/**
 * The job and all its rows, in one transaction: a job is never seen half-staged. The rows come as
 * the file is parsed (never all held at once). Straight to the driver (RawSql): through Prisma,
 * these large parameters grew the process by about 100 MB per 100,000 rows staged.
 */
export async function stageImport(
  sql: RawSql,
  job: { id: string; mode: BulkImportMode; actor: string },
  /** Hands the file's rows, in order, to the function it is given; a throw stages nothing. */
  produce: (stage: (rows: readonly StagedRow[]) => Promise<void>) => Promise<unknown>,
): Promise<void> {
  await sql.transaction(async (tx) => {
    await tx.query(
      Prisma.sql`INSERT INTO bulk_operation (id, mode, rows_total, actor) VALUES (${job.id}::uuid, ${job.mode}, 0, ${job.actor})`,
    );
    let staged = 0;
    await produce(async (rows) => {
      for (let at = 0; at < rows.length; at += STAGE_BATCH) {
        const batch = JSON.stringify(rows.slice(at, at + STAGE_BATCH));
        await tx.query(Prisma.sql`
          INSERT INTO bulk_operation_row (operation_id, row, data)
          SELECT ${job.id}::uuid, ${staged + at}::int + r.n::int, r.data FROM jsonb_array_elements(${batch}::jsonb) WITH ORDINALITY AS r(data, n)`);
      }
      staged += rows.length;
    });
    await tx.query(Prisma.sql`UPDATE bulk_operation SET rows_total = ${staged} WHERE id = ${job.id}::uuid`);
  });
}

export async function operationsByIds(db: DbClient, ids: readonly string[]): Promise<BulkOperationRow[]> {
  return db.$queryRaw<BulkOperationRow[]>`SELECT ${OPERATION_COLUMNS} FROM bulk_operation WHERE id = ANY(${ids as string[]}::uuid[])`;
}

export async function operationErrors(db: DbClient, id: string, offset: number, limit: number): Promise<BulkOperationErrorRow[]> {
  return db.$queryRaw<BulkOperationErrorRow[]>`
    SELECT row, "column", message FROM bulk_operation_error WHERE operation_id = ${id}::uuid ORDER BY id OFFSET ${offset} LIMIT ${limit}`;
}

/** QUEUED or RUNNING -> CANCELLED (a running chunk finishes first: it holds the row); null if there is no such job. */
export async function cancelOperation(db: DbClient, id: string): Promise<BulkOperationRow | null> {
  await db.$executeRaw`
    UPDATE bulk_operation SET status = 'CANCELLED', finished_at = now(), claimed_by = NULL, version = version + 1
    WHERE id = ${id}::uuid AND status IN ('QUEUED', 'RUNNING')`;
  await dropStagedRows(db, id); // a QUEUED job's: no runner will
  return (await operationsByIds(db, [id]))[0] ?? null;
}

/**
 * The staged rows of a job that has ended (COMPLETED, FAILED or CANCELLED): nothing reads them any
 * more (the job keeps its counts and row errors), and a catalogue's worth per import would pile up.
 */
export async function dropStagedRows(db: DbClient, id: string): Promise<void> {
  await db.$executeRaw`
    DELETE FROM bulk_operation_row WHERE operation_id = ${id}::uuid
    AND EXISTS (SELECT 1 FROM bulk_operation WHERE id = ${id}::uuid AND status IN ('COMPLETED', 'FAILED', 'CANCELLED'))`;
}

/** Taken inside the claim's transaction: claims of all instances queue on it, so at most one job runs at a time. */
const CLAIM_LOCK = 0x5717_0b1c;

/**
 * Claims the oldest job waiting, or a RUNNING one whose runner stopped beating (it died) for
 * `staleMs`, unless another job is running with a live runner. Returns its id, or null.
 */
export async function claimNext(db: DbClient, runner: string, staleMs: number): Promise<string | null> {
  const stale = Prisma.sql`(status = 'RUNNING' AND heartbeat_at < now() - make_interval(secs => ${staleMs / 1000}::float8))`;
  const [, rows] = await db.$transaction([
    db.$queryRaw`SELECT pg_advisory_xact_lock(${CLAIM_LOCK}::bigint)::text`,
    db.$queryRaw<{ id: string }[]>`
      UPDATE bulk_operation SET status = 'RUNNING', started_at = coalesce(started_at, now()), heartbeat_at = now(),
        claimed_by = ${runner}, version = version + 1
      WHERE id = (
        SELECT id FROM bulk_operation WHERE status = 'QUEUED' OR ${stale}
        ORDER BY created_at, id FOR UPDATE SKIP LOCKED LIMIT 1
      )
      AND NOT EXISTS (SELECT 1 FROM bulk_operation WHERE status = 'RUNNING' AND NOT ${stale} AND claimed_by IS DISTINCT FROM ${runner})
      RETURNING id`,
  ]);
  return rows[0]?.id ?? null;
}

/** Gives a job back (the runner stops): QUEUED again, so the next runner takes it at once. */
export async function releaseOperation(db: DbClient, id: string, runner: string): Promise<void> {
  await db.$executeRaw`
    UPDATE bulk_operation SET status = 'QUEUED', claimed_by = NULL, heartbeat_at = NULL, version = version + 1
    WHERE id = ${id}::uuid AND status = 'RUNNING' AND claimed_by = ${runner}`;
}

export async function failOperation(db: DbClient, id: string, runner: string, message: string): Promise<void> {
  await db.$transaction([
    db.$executeRaw`INSERT INTO bulk_operation_error (operation_id, row, "column", message)
      SELECT id, rows_done + 1, NULL, ${message} FROM bulk_operation WHERE id = ${id}::uuid AND claimed_by = ${runner}`,
    db.$executeRaw`UPDATE bulk_operation SET status = 'FAILED', finished_at = now(), claimed_by = NULL, version = version + 1
      WHERE id = ${id}::uuid AND status = 'RUNNING' AND claimed_by = ${runner}`,
  ]);
}

/**
 * Locks the job for a chunk and reads its next rows: none (null) when the job is no longer this
 * runner's (cancelled, or taken over by another runner after this one stalled).
 */
export async function lockChunk(
  tx: DbTransaction,
  id: string,
  runner: string,
  size: number,
): Promise<{
  op: { mode: BulkImportMode; rowsDone: number; rowsTotal: number; actor: string };
  rows: { row: number; data: StagedRow }[];
} | null> {
  const [op] = await tx.$queryRaw<{ mode: BulkImportMode; rowsDone: number; rowsTotal: number; actor: string }[]>`
    SELECT mode, rows_done AS "rowsDone", rows_total AS "rowsTotal", actor FROM bulk_operation
    WHERE id = ${id}::uuid AND status = 'RUNNING' AND claimed_by = ${runner} FOR UPDATE`;
  if (!op) return null;
  // Rows are numbered 1..rows_total: a closed range, so the plan reads the chunk's rows whatever the
  // planner guesses of a table just filled (an open `row >` with LIMIT read every row left, per chunk).
  const rows = await tx.$queryRaw<{ row: number; data: StagedRow }[]>`
    SELECT row, data FROM bulk_operation_row
    WHERE operation_id = ${id}::uuid AND row > ${op.rowsDone} AND row <= ${op.rowsDone + size} ORDER BY row`;
  return { op, rows };
}

/** A chunk's bookkeeping: its errors, rows_done past it, and COMPLETED after the last row. */
export async function finishChunk(tx: DbTransaction, id: string, rowsDone: number, errors: readonly BulkOperationErrorRow[]) {
  if (errors.length) {
    await tx.$executeRaw`
      INSERT INTO bulk_operation_error (operation_id, row, "column", message)
      SELECT ${id}::uuid, e.row, e."column", e.message
      FROM jsonb_to_recordset(${JSON.stringify(errors)}::jsonb) AS e(row int, "column" text, message text) ORDER BY e.row`;
  }
  await tx.$executeRaw`
    UPDATE bulk_operation SET rows_done = ${rowsDone}, rows_failed = rows_failed + ${new Set(errors.map((e) => e.row)).size},
      heartbeat_at = now(), version = version + 1,
      status = CASE WHEN ${rowsDone} >= rows_total THEN 'COMPLETED'::"BulkOperationStatus" ELSE status END,
      finished_at = CASE WHEN ${rowsDone} >= rows_total THEN now() ELSE finished_at END,
      claimed_by = CASE WHEN ${rowsDone} >= rows_total THEN NULL ELSE claimed_by END
    WHERE id = ${id}::uuid`;
}

/** Products by SKU regardless of case: id and the lowercased SKU. */
export async function productsBySku(tx: DbTransaction, skus: readonly string[]): Promise<Map<string, string>> {
  const rows = await tx.$queryRaw<{ id: string; key: string }[]>`
    SELECT id, lower(sku) AS key FROM product WHERE lower(sku) = ANY(${skus.map((s) => s.toLowerCase())}::text[])`;
  return new Map(rows.map((r) => [r.key, r.id]));
}

/** Locations by code regardless of case: id and whether stock may move there. */
export async function locationsByCode(tx: DbTransaction, codes: readonly string[]): Promise<Map<string, { id: string; active: boolean }>> {
  const rows = await tx.$queryRaw<{ id: string; key: string; active: boolean }[]>`
    SELECT id, lower(code) AS key, active FROM location WHERE lower(code) = ANY(${codes.map((s) => s.toLowerCase())}::text[])`;
  return new Map(rows.map((r) => [r.key, { id: r.id, active: r.active }]));
}

export interface ProductFields {
  sku: string;
  name: string;
  description: string;
  price_cents: number;
  currency: string;
  /** On hand of a product this creates, at its first level (product_default_level); ignored for one that exists. */
  stock?: number;
}

/**
 * Upserts products by SKU (regardless of case): new ones with their `stock` (the database gives each its
 * default level, holding it), existing ones only where a field differs, their version bumped then, and their
 * priceVersion too when the base price changed (orders priced from memory check it: pricing/price-book.ts).
 * Returns the products created, those whose fields changed, and those repriced with their new priceVersion.
 */
export async function upsertProducts(
  tx: DbTransaction,
  products: readonly ProductFields[],
): Promise<{
  created: string[];
  /** The products created, by lowercased SKU */
  createdBySku: Map<string, string>;
  updated: string[];
  repriced: { id: string; priceVersion: number; updatedAt: Date }[];
}> {
  if (!products.length) return { created: [], createdBySku: new Map(), updated: [], repriced: [] };
  const rows = await tx.$queryRaw<
    { id: string; key: string; inserted: boolean; repriced: boolean; priceVersion: number; updatedAt: Date }[]
  >`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(products)}::jsonb)
        AS x(sku text, name text, description text, price_cents int, currency text, stock int)
    ),
    written AS (
      INSERT INTO product (sku, name, description, price_cents, currency, stock)
      SELECT sku, name, description, price_cents, currency, coalesce(stock, 0) FROM input ORDER BY lower(sku)
      ON CONFLICT ((lower(sku))) DO UPDATE
      SET name = EXCLUDED.name, description = EXCLUDED.description, price_cents = EXCLUDED.price_cents,
        currency = EXCLUDED.currency, version = product.version + 1, updated_at = now(),
        price_version = product.price_version
          + CASE WHEN (product.price_cents, product.currency) IS DISTINCT FROM (EXCLUDED.price_cents, EXCLUDED.currency) THEN 1 ELSE 0 END
      WHERE (product.name, product.description, product.price_cents, product.currency)
        IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.description, EXCLUDED.price_cents, EXCLUDED.currency)
      RETURNING id, lower(sku) AS key, xmax = 0 AS inserted, price_version AS "priceVersion", updated_at AS "updatedAt"
    )
    -- product here is the statement's snapshot, from before the upsert: repriced = its priceVersion moved.
    SELECT w.id, w.key, w.inserted, w."priceVersion", w."updatedAt",
      NOT w.inserted AND w."priceVersion" <> p.price_version AS repriced
    FROM written w LEFT JOIN product p ON p.id = w.id`;
  return {
    created: rows.filter((r) => r.inserted).map((r) => r.id),
    createdBySku: new Map(rows.filter((r) => r.inserted).map((r) => [r.key, r.id])),
    updated: rows.filter((r) => !r.inserted).map((r) => r.id),
    repriced: rows.filter((r) => r.repriced).map(({ id, priceVersion, updatedAt }) => ({ id, priceVersion, updatedAt })),
  };
}

/** Where the database puts a new product's first level (as product_default_level picks it), or null if nowhere. */
export async function firstLevelLocation(tx: DbTransaction): Promise<string | null> {
  const [row] = await tx.$queryRaw<{ id: string }[]>`
    SELECT id FROM location WHERE active AND fulfils_orders ORDER BY priority, created_at, id LIMIT 1`;
  return row?.id ?? null;
}

/**
 * The ledger's opening rows of products just created with their counts (upsertProducts' `stock`):
 * one per level holding units, CREATED and RECEIVED, as setLevels writes a new product's count.
 */
export async function openingCounts(tx: DbTransaction, productIds: readonly string[], actor: string): Promise<void> {
  if (!productIds.length) return;
  await tx.$executeRaw`
    INSERT INTO stock_movement ${MOVEMENT_COLUMNS}
    SELECT s.product_id, s.location_id, s.on_hand, 0, 0, 0, s.on_hand, 0, 0, 0, 'CREATED', 'RECEIVED', 'bulk import', NULL, NULL, NULL, ${actor}, p.version
    FROM stock_level s JOIN product p ON p.id = s.product_id
    WHERE s.product_id = ANY(${productIds as string[]}::uuid[]) AND s.on_hand > 0
    ORDER BY s.product_id, s.location_id`;
}

export interface LevelTarget {
  product_id: string;
  location_id: string;
  on_hand: number;
  row: number;
  /** The product was created by this chunk: its first count is its CREATED event, not a second one. */
  created?: boolean;
}

/**
 * Sets levels' on hand to the counts given, through the stock-change builder: one change (one
 * event) per product, a ledger row per level that moves (RECEIVED when the level had nothing,
 * CORRECTION otherwise), nothing for a count already there. A count below what is committed or
 * held there is refused (its row returned). A product created by the chunk gets its counts as its
 * one CREATED change. Returns the refused rows and the products restocked.
 */
export async function setLevels(
  tx: DbTransaction,
  targets: readonly LevelTarget[],
  actor: string,
): Promise<{ refused: { row: number; taken: number }[]; restocked: string[] }> {
  if (!targets.length) return { refused: [], restocked: [] };
  const input = JSON.stringify(targets);
  await tx.$executeRaw`
    INSERT INTO stock_level (product_id, location_id)
    SELECT product_id, location_id FROM jsonb_to_recordset(${input}::jsonb) AS x(product_id uuid, location_id uuid)
    ORDER BY product_id, location_id
    ON CONFLICT DO NOTHING`;
  const [result] = await tx.$queryRaw<{ refused: { row: number; taken: number }[]; restocked: string[] }[]>`-- bulk-import:levels
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${input}::jsonb) AS x(product_id uuid, location_id uuid, on_hand int, row int, created boolean)
    ),
    locked AS (
      SELECT id, sku, stock, committed, reserved, version FROM product WHERE id IN (SELECT product_id FROM input) ORDER BY id FOR UPDATE
    ),${LOCKED_LEVELS},
    cur AS (
      SELECT i.*, lv.on_hand AS was, lv.committed + lv.reserved AS taken
      FROM input i JOIN levels lv ON lv.product_id = i.product_id AND lv.location_id = i.location_id
    ),
    moving AS (SELECT * FROM cur WHERE on_hand <> was AND on_hand >= taken),
    changes AS (
      SELECT m.product_id, m.location_id, 1 AS seq, m.on_hand - m.was AS d_on_hand, 0 AS d_committed, 0 AS d_reserved, 0 AS d_incoming,
        -- One change per product (one event): RESTOCK only when every level of it goes up.
        CASE WHEN bool_or(coalesce(m.created, false)) OVER (PARTITION BY m.product_id) THEN 'CREATED'
          WHEN bool_and(m.on_hand > m.was) OVER (PARTITION BY m.product_id) THEN 'RESTOCK' ELSE 'ADJUSTMENT' END AS reason,
        'bulk import'::text AS note, CASE WHEN m.was = 0 THEN 'RECEIVED' ELSE 'CORRECTION' END AS adjustment,
        NULL::uuid AS order_id, NULL::uuid AS hold_id, NULL::uuid AS transfer_id, ${actor}::text AS actor, ${currentTraceSql()} AS trace_context
      FROM moving m
    ),${stockChangeCtes()}
    SELECT
      (SELECT coalesce(json_agg(json_build_object('row', row, 'taken', taken) ORDER BY row), '[]') FROM cur WHERE on_hand < taken) AS refused,
      (SELECT coalesce(json_agg(DISTINCT product_id), '[]') FROM moving WHERE on_hand > was) AS restocked,
      (SELECT count(*) FROM stock_written) AS products, (SELECT count(*) FROM change_events) AS events, (SELECT count(*) FROM change_moves) AS moves`;
  return { refused: result!.refused, restocked: result!.restocked };
}

/** Those of the products with someone WAITING on their waitlist: the only ones offerToWaitlist has work for. */
export async function withWaitlist(tx: DbTransaction, productIds: readonly string[]): Promise<string[]> {
  if (!productIds.length) return [];
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT DISTINCT product_id::text AS id FROM waitlist_entry WHERE status = 'WAITING' AND product_id = ANY(${productIds as string[]}::uuid[])`;
  return rows.map((r) => r.id);
}

/** Price lists by code regardless of case: id and currency. */
export async function priceListsByCode(
  tx: DbTransaction,
  codes: readonly string[],
): Promise<Map<string, { id: string; currency: string }>> {
  if (!codes.length) return new Map();
  const rows = await tx.$queryRaw<{ id: string; key: string; currency: string }[]>`
    SELECT id, lower(code) AS key, trim(currency) AS currency FROM price_list WHERE lower(code) = ANY(${codes.map((c) => c.toLowerCase())}::text[])`;
  return new Map(rows.map((r) => [r.key, { id: r.id, currency: r.currency }]));
}

/** Products by SKU regardless of case, with their currency. */
export async function productCurrencies(
  tx: DbTransaction,
  skus: readonly string[],
): Promise<Map<string, { id: string; currency: string }>> {
  if (!skus.length) return new Map();
  const rows = await tx.$queryRaw<{ id: string; key: string; currency: string }[]>`
    SELECT id, lower(sku) AS key, trim(currency) AS currency FROM product WHERE lower(sku) = ANY(${skus.map((s) => s.toLowerCase())}::text[])`;
  return new Map(rows.map((r) => [r.key, { id: r.id, currency: r.currency }]));
}

export interface ListPrice {
  price_list_id: string;
  product_id: string;
  unit_price_cents: number;
  tiers: { minQuantity: number; unitPriceCents: number }[];
}

/**
 * The entries there are of these (list, product) pairs, read under their products' row locks (taken
 * in id order, as setPriceListEntry and the order statement take them): a chunk's price rows change them on top.
 */
export async function lockedEntries(
  tx: DbTransaction,
  pairs: readonly { price_list_id: string; product_id: string }[],
): Promise<Map<string, ListPrice>> {
  if (!pairs.length) return new Map();
  const productIds = [...new Set(pairs.map((p) => p.product_id))].sort();
  await tx.$queryRaw`SELECT id FROM product WHERE id = ANY(${productIds}::uuid[]) ORDER BY id FOR UPDATE`;
  const rows = await tx.$queryRaw<ListPrice[]>`
    SELECT e.price_list_id::text, e.product_id::text, e.unit_price_cents, e.tiers
    FROM price_list_entry e JOIN jsonb_to_recordset(${JSON.stringify(pairs)}::jsonb) AS x(price_list_id uuid, product_id uuid)
      ON e.price_list_id = x.price_list_id AND e.product_id = x.product_id`;
  return new Map(rows.map((r) => [`${r.price_list_id}:${r.product_id}`, r]));
}

/**
 * Writes list prices that changed (new entries, or a new price or tiers), each with its row in the
 * price_change ledger (from: `before`, null for a new entry). The caller bumps the products' price versions.
 */
export async function writeListPrices(
  tx: DbTransaction,
  changed: readonly (ListPrice & { before: ListPrice | null })[],
  actor: string,
): Promise<void> {
  if (!changed.length) return;
  const input = JSON.stringify(
    changed.map((c) => ({ ...c, from_unit: c.before?.unit_price_cents ?? null, from_tiers: c.before?.tiers ?? null, before: undefined })),
  );
  await tx.$executeRaw`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${input}::jsonb)
        AS x(price_list_id uuid, product_id uuid, unit_price_cents int, tiers jsonb, from_unit int, from_tiers jsonb)
    ),
    written AS (
      INSERT INTO price_list_entry (price_list_id, product_id, unit_price_cents, tiers)
      SELECT price_list_id, product_id, unit_price_cents, tiers FROM input ORDER BY price_list_id, product_id
      ON CONFLICT (price_list_id, product_id) DO UPDATE
      SET unit_price_cents = EXCLUDED.unit_price_cents, tiers = EXCLUDED.tiers, version = price_list_entry.version + 1, updated_at = now()
    )
    INSERT INTO price_change (price_list_id, product_id, from_unit_price_cents, from_tiers, to_unit_price_cents, to_tiers, actor)
    SELECT price_list_id, product_id, from_unit, from_tiers, unit_price_cents, tiers, ${actor} FROM input`;
}
