// The end-of-run check the issue asks for: nothing lost, nothing doubled.
// First the database as the run left it (an order answered as placed must be
// there, once), then every key sent again with the same lines, as a client
// unsure of its outcome would: each must come back as its one order (placed
// now if it never was), and the database must hold exactly one order per key.
import type pg from "pg";
import { encodeGlobalId } from "../../src/ids/index.js";
import { jsonClient } from "../lib/http.js";
import { request, type Sample } from "./load.js";

export interface KeyVerdict {
  key: string;
  /** Answered as placed during the run, yet no order in the database before the retries. */
  lost: boolean;
  /** More than one order for the key, or the retry answered another order than the first answer. */
  doubled: boolean;
  /** The retry did not come back as an order. */
  retryFailed?: string;
}

export async function checkOrders(pool: pg.Pool, target: string, customers: string[], orders: Sample[]): Promise<KeyVerdict[]> {
  const countOrders = async () => {
    const rows = (
      await pool.query<{ key: string; n: number; id: string }>(
        `SELECT idempotency_key AS key, count(*)::int AS n, min(id::text) AS id FROM "order" WHERE idempotency_key = ANY($1) GROUP BY 1`,
        [orders.map((o) => o.key)],
      )
    ).rows;
    return new Map(rows.map((r) => [r.key, r]));
  };
  const before = await countOrders();
  const client = jsonClient(target, 16, { retryReusedSocketReset: true });
  const retries = new Map<string, Sample>();
  try {
    for (let i = 0; i < orders.length; i += 16) {
      const batch = orders.slice(i, i + 16);
      const answers = await Promise.all(
        batch.map((o) => request(client, { customers, clientTimeoutMs: 10_000 }, "order", o.key, o.customer, o.product)),
      );
      for (const a of answers) retries.set(a.key, a);
    }
  } finally {
    client.close();
  }
  const after = await countOrders();
  return orders.map((o) => {
    const retry = retries.get(o.key)!;
    const row = after.get(o.key);
    const firstId = o.orderId ?? (before.get(o.key) ? encodeGlobalId("Order", before.get(o.key)!.id) : undefined);
    return {
      key: o.key,
      lost: (o.result === "ok" && !before.get(o.key)) || !row,
      doubled: (row?.n ?? 0) > 1 || (firstId !== undefined && retry.orderId !== undefined && retry.orderId !== firstId),
      ...(retry.result === "ok" ? {} : { retryFailed: retry.result }),
    };
  });
}
