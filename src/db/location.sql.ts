// Locations as the stock statements need them. The default location (where
// today's clients' adjustments land when they name none, and where a new
// product's level starts) is the active location that fulfils orders first:
// the same choice the migration's product_default_level trigger makes.
import type { DbClient, DbTransaction } from "./database.js";

/** The id of the default location, or null when no active location fulfils orders. */
export async function defaultLocationId(db: DbClient | DbTransaction): Promise<string | null> {
  const [row] = await db.$queryRaw<{ id: string }[]>`
    SELECT id FROM location WHERE active AND fulfils_orders ORDER BY priority, created_at, id LIMIT 1`;
  return row?.id ?? null;
}

/** A product's level at one location, as reads show it (reserved without holds already past expiry). */
export interface LevelRow {
  productId: string;
  locationId: string;
  onHand: number;
  committed: number;
  reserved: number;
  incoming: number;
  version: number;
  /** The location is active and fulfils orders: its units count in Product.inventory. */
  fulfils: boolean;
}

/**
 * The levels of many products in one query, each product's in allocation order
 * (priority, then location id). A hold past expiry still counts in reserved
 * until the sweeper ends it (ledger.sql.ts): reads leave it out at once.
 */
export function levelsByProductIds(db: DbClient, productIds: readonly string[]): Promise<LevelRow[]> {
  return db.$queryRaw<LevelRow[]>`
    SELECT s.product_id AS "productId", s.location_id AS "locationId", s.on_hand AS "onHand", s.committed,
      s.reserved - coalesce(x.lapsed, 0) AS reserved, s.incoming, s.version, loc.active AND loc.fulfils_orders AS fulfils
    FROM stock_level s
    JOIN location loc ON loc.id = s.location_id
    LEFT JOIN LATERAL (
      SELECT sum(a.quantity)::int AS lapsed FROM hold_allocation a JOIN hold h ON h.id = a.hold_id
      WHERE a.product_id = s.product_id AND a.location_id = s.location_id AND h.status = 'ACTIVE' AND h.expires_at <= clock_timestamp()
    ) x ON true
    WHERE s.product_id = ANY(${[...productIds]}::uuid[])
    ORDER BY s.product_id, loc.priority, s.location_id`;
}

export interface AllocationRow {
  /** The order or hold. */
  ownerId: string;
  productId: string;
  locationId: string;
  quantity: number;
}

/** Where the lines of many orders (or holds) take their units from, in allocation order. */
export function allocationsOf(db: DbClient, of: "order" | "hold", ownerIds: readonly string[]): Promise<AllocationRow[]> {
  const ids = [...ownerIds];
  return of === "order"
    ? db.$queryRaw<AllocationRow[]>`
        SELECT a.order_id AS "ownerId", a.product_id AS "productId", a.location_id AS "locationId", a.quantity
        FROM order_allocation a JOIN location loc ON loc.id = a.location_id
        WHERE a.order_id = ANY(${ids}::uuid[]) ORDER BY a.order_id, a.product_id, loc.priority, a.location_id`
    : db.$queryRaw<AllocationRow[]>`
        SELECT a.hold_id AS "ownerId", a.product_id AS "productId", a.location_id AS "locationId", a.quantity
        FROM hold_allocation a JOIN location loc ON loc.id = a.location_id
        WHERE a.hold_id = ANY(${ids}::uuid[]) ORDER BY a.hold_id, a.product_id, loc.priority, a.location_id`;
}

/** Units a location holds or expects, over all products: a location with any cannot be deactivated. */
export interface LocationUnits {
  onHand: number;
  committed: number;
  reserved: number;
  incoming: number;
}

/**
 * Locks a location (FOR UPDATE) and sums what its levels hold. Statements that
 * add units at a location take it FOR SHARE (stock.sql.ts), so while this lock
 * is held no units arrive; call in the transaction that then changes the row.
 */
export async function lockLocationUnits(tx: DbTransaction, id: string): Promise<(LocationUnits & { version: number }) | null> {
  const [row] = await tx.$queryRaw<{ version: number }[]>`SELECT version FROM location WHERE id = ${id}::uuid FOR UPDATE`;
  if (!row) return null;
  // A statement of its own, after the lock: it sees everything committed before the lock was granted.
  const [units] = await tx.$queryRaw<LocationUnits[]>`
    SELECT coalesce(sum(on_hand), 0)::int AS "onHand", coalesce(sum(committed), 0)::int AS committed,
      coalesce(sum(reserved), 0)::int AS reserved, coalesce(sum(incoming), 0)::int AS incoming
    FROM stock_level WHERE location_id = ${id}::uuid`;
  return { ...units!, version: row.version };
}
