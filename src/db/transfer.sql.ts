// Transfers as single statements, in the shape of the others: lock the
// product, its levels (LOCKED_LEVELS) and, for units that arrive somewhere,
// the locations FOR SHARE (so neither can be deactivated meanwhile), then the
// transfer row; judge; write the transfer and both levels through the
// stock-change builder (one change, one event, a ledger row per location).
// Sending takes units out of `from` (on hand, so never more than available)
// and shows them as incoming at `to`; receiving lands them on hand at `to`;
// cancelling sends the rest back to `from`'s on hand.
import type { DbClient, DbTransaction } from "./database.js";
import { Prisma } from "../generated/prisma/client.js";
import type { TransferStatus } from "../generated/prisma/enums.js";
import { currentTraceSql, LOCKED_LEVELS, stockChangeCtes } from "./stock-change.sql.js";

type Db = DbClient | DbTransaction;

export interface TransferRow {
  id: string;
  productId: string;
  fromLocationId: string;
  toLocationId: string;
  quantity: number;
  received: number;
  cancelled: number;
  status: TransferStatus;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const TRANSFER_COLUMNS = (t: string) =>
  Prisma.raw(`${t}.id, ${t}.product_id AS "productId", ${t}.from_location_id AS "fromLocationId", ${t}.to_location_id AS "toLocationId",
  ${t}.quantity, ${t}.received, ${t}.cancelled, ${t}.status, ${t}.version, ${t}.created_at AS "createdAt", ${t}.updated_at AS "updatedAt"`);

const changeColumns = (reason: string, actor: string) =>
  Prisma.sql`0 AS d_committed, 0 AS d_reserved, ${reason}::text AS reason, NULL::text AS note, NULL::text AS adjustment,
    NULL::uuid AS order_id, NULL::uuid AS hold_id, t.id AS transfer_id, ${actor}::text AS actor, ${currentTraceSql()} AS trace_context`;

export interface SendResult {
  transfer: TransferRow | null;
  /** What `from` had available under the lock, and whether both locations were active (null: no such product or level). */
  seen: { available: number; active: boolean } | null;
}

/** Sends units from one location's available stock towards another, or writes nothing. */
export async function sendTransfer(
  db: Db,
  p: { productId: string; from: string; to: string; quantity: number; actor: string },
): Promise<SendResult> {
  const rows = await db.$queryRaw<(Partial<TransferRow> & { seen: SendResult["seen"] })[]>`
    WITH locked AS (SELECT id, sku, stock, committed, reserved, version FROM product WHERE id = ${p.productId}::uuid FOR UPDATE),${LOCKED_LEVELS},
    places AS (SELECT id, active FROM location WHERE id IN (${p.from}::uuid, ${p.to}::uuid) ORDER BY id FOR SHARE),
    cur AS (
      SELECT f.available, (SELECT count(*) = 2 AND bool_and(active) FROM places) AS active
      FROM levels f WHERE f.location_id = ${p.from}::uuid AND EXISTS (SELECT 1 FROM levels WHERE location_id = ${p.to}::uuid)
    ),
    sent AS (
      INSERT INTO transfer (product_id, from_location_id, to_location_id, quantity)
      SELECT ${p.productId}::uuid, ${p.from}::uuid, ${p.to}::uuid, ${p.quantity} FROM cur WHERE cur.active AND cur.available >= ${p.quantity}
      RETURNING *
    ),
    changes AS (
      SELECT t.product_id, t.from_location_id AS location_id, 1 AS seq, -t.quantity AS d_on_hand, 0 AS d_incoming,
        ${changeColumns("TRANSFER_SENT", p.actor)}
      FROM sent t
      UNION ALL
      SELECT t.product_id, t.to_location_id, 1, 0, t.quantity, ${changeColumns("TRANSFER_SENT", p.actor)} FROM sent t
    ),${stockChangeCtes()}
    SELECT (SELECT json_build_object('available', available, 'active', active) FROM cur) AS seen, ${TRANSFER_COLUMNS("t")}
    FROM (SELECT 1) one LEFT JOIN sent t ON true`;
  const { seen, ...transfer } = rows[0]!;
  return { seen, transfer: transfer.id ? (transfer as TransferRow) : null };
}

export interface SettleResult {
  /** The transfer as found under its lock (null: none). */
  found: TransferRow | null;
  /** Set when this statement changed it. */
  transfer: TransferRow | null;
}

/**
 * Lands `quantity` units of an IN_TRANSIT transfer at `to` (received), or sends
 * them back to `from` (cancelled); null quantity: all that are still on the way.
 * Refused (transfer null) when the transfer is not IN_TRANSIT, the quantity
 * exceeds what is on the way, or the receiving location was deactivated.
 */
export async function settleTransfer(
  db: Db,
  p: { id: string; how: "receive" | "cancel"; quantity: number | null; expectedVersion: number | null; actor: string },
): Promise<SettleResult> {
  const receive = p.how === "receive";
  const reason = receive ? "TRANSFER_RECEIVED" : "TRANSFER_CANCELLED";
  const rows = await db.$queryRaw<(Partial<TransferRow> & { found: TransferRow | null })[]>`
    WITH product_of AS (SELECT product_id, from_location_id, to_location_id FROM transfer WHERE id = ${p.id}::uuid),
    locked AS (
      SELECT id, sku, stock, committed, reserved, version FROM product WHERE id IN (SELECT product_id FROM product_of) ORDER BY id FOR UPDATE
    ),${LOCKED_LEVELS},
    place AS (
      SELECT id, active FROM location
      WHERE id = (SELECT ${receive ? Prisma.sql`to_location_id` : Prisma.sql`from_location_id`} FROM product_of) FOR SHARE
    ),
    cur AS (SELECT t.* FROM transfer t WHERE t.id = ${p.id}::uuid AND EXISTS (SELECT 1 FROM locked) FOR UPDATE),
    amount AS (
      SELECT coalesce(${p.quantity}::int, cur.quantity - cur.received - cur.cancelled) AS n FROM cur
      WHERE cur.status = 'IN_TRANSIT' AND (SELECT bool_and(active) FROM place)
        AND (${p.expectedVersion}::int IS NULL OR cur.version = ${p.expectedVersion}::int)
    ),
    settled AS (
      UPDATE transfer t
      SET ${receive ? Prisma.sql`received = t.received + a.n` : Prisma.sql`cancelled = t.cancelled + a.n`},
        status = (CASE
          WHEN t.received + t.cancelled + a.n < t.quantity THEN 'IN_TRANSIT'
          WHEN t.received ${receive ? Prisma.sql`+ a.n` : Prisma.empty} > 0 THEN 'RECEIVED'
          ELSE 'CANCELLED' END)::"TransferStatus",
        version = t.version + 1, updated_at = now()
      FROM amount a, cur
      WHERE t.id = cur.id AND a.n > 0 AND a.n <= cur.quantity - cur.received - cur.cancelled
      RETURNING t.*, a.n
    ),
    changes AS (
      SELECT t.product_id, t.to_location_id AS location_id, 1 AS seq, ${receive ? Prisma.sql`t.n` : Prisma.sql`0`} AS d_on_hand,
        -t.n AS d_incoming, ${changeColumns(reason, p.actor)}
      FROM settled t
      ${
        receive
          ? Prisma.empty
          : Prisma.sql`UNION ALL
      SELECT t.product_id, t.from_location_id, 1, t.n, 0, ${changeColumns(reason, p.actor)} FROM settled t`
      }
    ),${stockChangeCtes()}
    SELECT (SELECT row_to_json(f) FROM (SELECT ${TRANSFER_COLUMNS("cur")} FROM cur) f) AS found, ${TRANSFER_COLUMNS("t")}
    FROM (SELECT 1) one LEFT JOIN settled t ON true`;
  const { found, ...transfer } = rows[0]!;
  return { found, transfer: transfer.id ? (transfer as TransferRow) : null };
}

/** A keyset page of the transfers from or to a location (newest last), as TRANSFER_COLUMNS. */
export function transfersAt(db: DbClient, locationId: string, after: { createdAt: Date; id: string } | null, limit: number) {
  return db.$queryRaw<TransferRow[]>`
    SELECT ${TRANSFER_COLUMNS("t")} FROM transfer t
    WHERE (t.from_location_id = ${locationId}::uuid OR t.to_location_id = ${locationId}::uuid)
      AND (${after?.createdAt ?? null}::timestamptz IS NULL OR (t.created_at, t.id) > (${after?.createdAt ?? null}::timestamptz, ${after?.id ?? null}::uuid))
    ORDER BY t.created_at, t.id LIMIT ${limit}`;
}
