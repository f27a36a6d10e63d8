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
