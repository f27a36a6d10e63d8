// What holds mean for a product's reading at this moment, in one statement with the counts they are
// taken from: its stock, committed and reserved columns and version, the units that reserved column
// still counts for ACTIVE holds already past expiry (the sweeper has not ended them), and when the
// next unexpired hold lapses, after which `available` reads differently with no event to say so (the
// response cache keeps such an answer until then only). One snapshot: read in a statement after the
// product's row, the sweeper may have ended a hold in between, and the row's reserved minus that
// statement's lapsed units would count the hold as still held.
import type { DbClient } from "./database.js";

export interface HoldReading {
  stock: number;
  committed: number;
  /** product.reserved: ACTIVE holds, lapsed ones included. */
  reserved: number;
  version: number;
  lapsed: number;
  /** ms since the epoch; undefined without unexpired holds. */
  nextExpiry?: number;
}

export async function holdReadings(db: DbClient, productIds: readonly string[]): Promise<Map<string, HoldReading>> {
  const rows = await db.$queryRaw<
    { id: string; stock: number; committed: number; reserved: number; version: number; lapsed: number; next_expiry: Date | null }[]
  >`
    SELECT p.id, p.stock, p.committed, p.reserved, p.version, coalesce(h.lapsed, 0)::int AS lapsed, h.next_expiry
    FROM product p
    LEFT JOIN LATERAL (
      SELECT sum(hl.quantity) FILTER (WHERE hd.expires_at <= clock_timestamp()) AS lapsed,
        min(hd.expires_at) FILTER (WHERE hd.expires_at > clock_timestamp()) AS next_expiry
      FROM hold_line hl JOIN hold hd ON hd.id = hl.hold_id
      WHERE hl.product_id = p.id AND hd.status = 'ACTIVE'
    ) h ON p.reserved > 0
    WHERE p.id = ANY(${[...productIds]}::uuid[])`;
  return new Map(
    rows.map((r) => [
      r.id,
      {
        stock: r.stock,
        committed: r.committed,
        reserved: r.reserved,
        version: r.version,
        lapsed: r.lapsed,
        nextExpiry: r.next_expiry?.getTime(),
      },
    ]),
  );
}
