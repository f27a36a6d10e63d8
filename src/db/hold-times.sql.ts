// What holds mean for a product's reading at this moment, in one statement: the units its reserved
// column still counts for ACTIVE holds already past expiry (the sweeper has not ended them), and
// when the next of its unexpired holds lapses, after which `available` reads differently with no
// event to say so (the response cache keeps such an answer until then only).
import type { DbClient } from "./database.js";

export interface HoldTimes {
  lapsed: number;
  /** ms since the epoch; undefined without unexpired holds. */
  nextExpiry?: number;
}

export async function holdTimesByProduct(db: DbClient, productIds: readonly string[]): Promise<Map<string, HoldTimes>> {
  const rows = await db.$queryRaw<{ product_id: string; lapsed: number; next_expiry: Date | null }[]>`
    SELECT hl.product_id,
      coalesce(sum(hl.quantity) FILTER (WHERE h.expires_at <= clock_timestamp()), 0)::int AS lapsed,
      min(h.expires_at) FILTER (WHERE h.expires_at > clock_timestamp()) AS next_expiry
    FROM hold h JOIN hold_line hl ON hl.hold_id = h.id
    WHERE h.status = 'ACTIVE' AND hl.product_id = ANY(${[...productIds]}::uuid[])
    GROUP BY hl.product_id`;
  return new Map(rows.map((r) => [r.product_id, { lapsed: r.lapsed, nextExpiry: r.next_expiry?.getTime() }]));
}
