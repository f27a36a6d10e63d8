// The bulk exports' reads (GET /export/*.csv): keyset pages, each its own
// autocommit statement, so an export of any size holds one page in memory and
// no transaction open while a slow client reads (a server-side cursor would
// need one for the whole download: idle_in_transaction_session_timeout and
// vacuum both object). The price: an export is not one snapshot; rows written
// meanwhile may or may not be in it (each row is as it was when its page was read).
// The same statements run on PostgreSQL and PGlite.
//
// Column names are the CSV headers (the importer's for products).
import { Prisma } from "../generated/prisma/client.js";
import type { RawQuery } from "./raw-sql.js";

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

export type ExportRow = Record<string, string | number | null>;

export interface ExportQuery {
  /** Ledger only: movements at or after this instant. */
  since?: Date;
  /** Products (or ledger rows) per page. */
  pageSize: number;
}

// ISO 8601 in UTC with milliseconds, as Date.toISOString() writes it and `since` reads it back.
const isoUtc = (column: Prisma.Sql) => Prisma.sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * One page of products after `after` (by SKU, the unique index's order), each joined with its levels:
 * products.csv has one row per product and location (a product with none: one row, location and on_hand
 * empty), stock.csv the same rows, those without a level dropped by the caller. The page's last row
 * carries its last SKU whatever the kind, so the next page starts after it.
 */
function productPage(kind: "products" | "stock", after: string | undefined, limit: number): Prisma.Sql {
  const from = after === undefined ? Prisma.empty : Prisma.sql`WHERE sku > ${after}`;
  const columns =
    kind === "products"
      ? Prisma.sql`p.sku, p.name, p.description, p.price_cents, p.currency, s.location, s.on_hand`
      : Prisma.sql`p.sku, s.location, s.on_hand, s.committed, s.reserved, s.incoming,
          greatest(0, s.on_hand - s.committed - s.reserved) AS available`;
  // OFFSET 0 keeps the levels a subquery per product (an index lookup each): flattened, the planner
  // hashed all of stock_level for every page.
  return Prisma.sql`
    -- export:${Prisma.raw(kind)}
    WITH page AS (SELECT id, sku, name, description, price_cents, currency FROM product ${from} ORDER BY sku LIMIT ${limit})
    SELECT ${columns}
    FROM page p LEFT JOIN LATERAL (
      SELECT l.code AS location, s.on_hand, s.committed, s.reserved, s.incoming
      FROM stock_level s JOIN location l ON l.id = s.location_id WHERE s.product_id = p.id OFFSET 0
    ) s ON true
    ORDER BY p.sku, s.location`;
}

/**
 * One page of the ledger after movement `after` (ids ascend with time of writing), optionally from `since` on.
 * Product and location by scalar subqueries: an index lookup per row, never a join over whole tables.
 */
function ledgerPage(after: string | undefined, since: Date | undefined, limit: number): Prisma.Sql {
  const where = [
    ...(after === undefined ? [] : [Prisma.sql`m.id > ${after}::bigint`]),
    ...(since === undefined ? [] : [Prisma.sql`m.occurred_at >= ${since}`]),
  ];
  return Prisma.sql`
    -- export:ledger
    SELECT m.id::text AS id, ${isoUtc(Prisma.sql`m.occurred_at`)} AS occurred_at,
      (SELECT sku FROM product WHERE id = m.product_id) AS sku, (SELECT code FROM location WHERE id = m.location_id) AS location, m.reason,
      m.adjustment_reason, m.delta_on_hand, m.delta_committed, m.delta_reserved, m.delta_incoming,
      m.on_hand_after, m.committed_after, m.reserved_after, m.incoming_after, m.version_after,
      m.order_id::text AS order_id, m.hold_id::text AS hold_id, m.transfer_id::text AS transfer_id, m.actor, m.note
    FROM stock_movement m
    ${where.length ? Prisma.sql`WHERE ${Prisma.join(where, " AND ")}` : Prisma.empty}
    ORDER BY m.id LIMIT ${limit}`;
}

/**
 * The rows of one export, a page at a time (ids of orders, holds and transfers as the database's
 * uuids: the caller encodes them). The next page is read while the caller works on this one (the
 * database and this process work at once); whoever iterates stops the reads with return(), after the
 * page already asked for at most.
 */
export async function* exportPages(sql: RawQuery, kind: ExportKind, q: ExportQuery): AsyncGenerator<ExportRow[]> {
  const read = (after: string | undefined) => {
    const page = sql.query<ExportRow>(kind === "ledger" ? ledgerPage(after, q.since, q.pageSize) : productPage(kind, after, q.pageSize));
    // Read ahead and then not wanted (the caller stopped): its failure is nobody's.
    page.catch(() => {});
    return page;
  };
  let next = read(undefined);
  for (;;) {
    const page = await next;
    // products and stock: at least one row per product, so a short page had the last products.
    const more = page.length >= q.pageSize;
    if (more) next = read(String(kind === "ledger" ? page.at(-1)!.id : page.at(-1)!.sku));
    if (page.length) yield kind === "stock" ? page.filter((r) => r.location !== null) : page;
    if (!more) return;
  }
}
