// A batch statement that waits for a product row another transaction is
// changing must judge its orders by the stock that transaction committed
// (PostgreSQL re-reads a row it had to wait for): a write-off committed while
// the batch waits refuses the orders it no longer covers, and nothing fails.
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { rowId } from "../support/shop.js";
import { holdClient } from "../support/holds.js";

let api: Api;
let sql: pg.Pool;
let customer: { id: string; token: string };
beforeAll(async () => {
  api = await startApi();
  sql = api.sql;
  customer = await api.createCustomer();
});
afterAll(async () => {
  await api?.close();
});

/** Waits for `n` sessions to wait for a lock (pg_locks). */
const lockWaiters = (n: number) =>
  vi.waitFor(
    async () =>
      expect(Number((await sql.query(`SELECT count(DISTINCT pid) AS n FROM pg_locks WHERE NOT granted`)).rows[0].n)).toBeGreaterThanOrEqual(
        n,
      ),
    { timeout: 10_000 },
  );

/**
 * Runs `writes` while this test holds the product's row lock, waits until
 * `waiters` statements wait for it, then applies `change` to the row and commits.
 */
async function whileRowChanges<T>(
  productGid: string,
  writes: (() => Promise<T>)[],
  change: string,
  waiters = 1,
): Promise<PromiseSettledResult<T>[]> {
  const lock = await sql.connect();
  try {
    await lock.query("BEGIN");
    await lock.query("SELECT 1 FROM product WHERE id = $1 FOR UPDATE", [rowId(productGid)]);
    const results = writes.map((o) => o());
    await lockWaiters(waiters);
    await lock.query(`UPDATE product SET ${change}, version = version + 1 WHERE id = $1`, [rowId(productGid)]);
    // The same change at the product's one location (stock is the sum of its levels' on hand).
    await lock.query(`UPDATE stock_level SET ${change.replace(/stock/g, "on_hand")}, version = version + 1 WHERE product_id = $1`, [
      rowId(productGid),
    ]);
    await lock.query("COMMIT");
    return await Promise.allSettled(results);
  } catch (err) {
    await lock.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    lock.release();
  }
}

const outcomesOf = <T extends { __typename: string }>(settled: PromiseSettledResult<T>[]) =>
  settled.map((s) => (s.status === "fulfilled" ? s.value.__typename : `error: ${String(s.reason).slice(0, 300)}`));

describe("group commit against a concurrent change of the same row", () => {
  it("a write-off committed while the batch waits: the orders it no longer covers are refused, none fails", async () => {
    const p = await api.createProduct({ stock: 6 });
    const order = (quantity: number) => () => api.placeOrder(customer.token, [{ productId: p.id, quantity }]);
    const settled = await whileRowChanges(p.id, [order(2), order(2), order(2), order(1)], "stock = stock - 5");
    const outcomes = outcomesOf(settled);
    expect(outcomes.filter((o) => o.startsWith("error"))).toEqual([]);
    // 1 unit left after the write-off: only the order of 1 fits.
    expect(outcomes).toEqual(["InsufficientStockError", "InsufficientStockError", "InsufficientStockError", "PlaceOrderSuccess"]);
    expect(await api.stockOf(p.id)).toMatchObject({ stock: 0 });
  });

  it("a restock committed while the batch waits: the orders it now covers are placed", async () => {
    const p = await api.createProduct({ stock: 1 });
    const order = (quantity: number) => () => api.placeOrder(customer.token, [{ productId: p.id, quantity }]);
    const settled = await whileRowChanges(p.id, [order(2), order(2), order(2)], "stock = stock + 5");
    const outcomes = outcomesOf(settled);
    expect(outcomes).toEqual(["PlaceOrderSuccess", "PlaceOrderSuccess", "PlaceOrderSuccess"]);
    expect(await api.stockOf(p.id)).toMatchObject({ stock: 0 });
  });

  it("stock adjustments waiting for the row add to what was committed meanwhile (no lost update)", async () => {
    const p = await api.createProduct({ stock: 10 });
    const settled = await whileRowChanges(p.id, [() => api.adjustStock(p.id, 5), () => api.adjustStock(p.id, -3)], "stock = stock + 1", 2);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled"]);
    expect(await api.stockOf(p.id)).toEqual({ stock: 13, version: 3 });
  });

  it("a hold waiting for the row while a restock commits reserves from the restocked units", async () => {
    const holds = holdClient(api.gql);
    const p = await api.createProduct({ stock: 1 });
    const settled = await whileRowChanges(
      p.id,
      [() => holds.reserve(customer.token, [{ productId: p.id, quantity: 3 }])],
      "stock = stock + 5",
    );
    expect(outcomesOf(settled)).toEqual(["ReserveStockSuccess"]);
    expect(await holds.availability(p.id)).toMatchObject({ stock: 6, reserved: 3, available: 3 });
  });
});
