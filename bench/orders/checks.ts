// After the scenarios: the flash sale sold exactly its units, nothing was
// oversold, and every success answer is one order with one item and one
// stock-changed outbox event in the database.
import type pg from "pg";
import { STOCK_CHANGED } from "../../src/events/stock-changed.event.js";
import type { LoadResult } from "../lib/load.js";

export interface Check {
  text: string;
  pass: boolean;
}

export async function orderChecks(
  pool: pg.Pool,
  a: {
    flash: string;
    flashUnits: number;
    flashOrders: number;
    flashResult: LoadResult;
    initialStock: Map<string, number>;
    okTotal: number;
  },
): Promise<Check[]> {
  const checks: Check[] = [];
  {
    // Orders commit their units (stock on hand stays until they ship): what is left is available.
    const { rows: f } = await pool.query<{ stock: number; sold: string | null }>(
      `SELECT p.stock - p.committed - p.reserved AS stock, (SELECT sum(quantity) FROM order_item WHERE product_id = p.id) AS sold
       FROM product p WHERE p.id = $1`,
      [a.flash],
    );
    const sold = Number(f[0]!.sold ?? 0);
    const expected = Math.min(a.flashUnits, a.flashOrders);
    const r = a.flashResult;
    checks.push({
      text: `flash sale: ${r.ok} wins, ${r.refused} refused, ${r.errors} errors; ${sold} sold in the database, ${f[0]!.stock} left (expected exactly ${expected} sold)`,
      pass: r.ok === expected && sold === expected && f[0]!.stock === a.flashUnits - expected,
    });
  }
  const { rows: all } = await pool.query<{ id: string; stock: number; sold: string }>(
    `SELECT p.id, p.stock - p.committed - p.reserved AS stock, COALESCE(s.sold, 0) AS sold
     FROM product p LEFT JOIN (SELECT product_id, sum(quantity) AS sold FROM order_item GROUP BY product_id) s ON s.product_id = p.id`,
  );
  const bad = all.filter((p) => p.stock < 0 || a.initialStock.get(p.id) !== p.stock + Number(p.sold));
  checks.push({
    text:
      `no oversell: for all ${all.length} products initial stock = available + sum(order_item.quantity) and available >= 0` +
      (bad.length ? ` (${bad.length} violate it, e.g. ${JSON.stringify(bad[0])})` : ""),
    pass: bad.length === 0 && all.length === a.initialStock.size,
  });
  const {
    rows: [c],
  } = await pool.query<{ orders: string; items: string; events: string }>(
    `SELECT (SELECT count(*) FROM "order") AS orders, (SELECT count(*) FROM order_item) AS items,
            (SELECT count(*) FROM outbox_event WHERE topic = $1 AND payload->>'reason' IN ('ORDER_PLACED', 'HOLD_CONSUMED')) AS events`,
    [STOCK_CHANGED],
  );
  checks.push({
    text: `every success answer is one order in the database: ${a.okTotal} answered, ${c!.orders} orders`,
    pass: Number(c!.orders) === a.okTotal,
  });
  checks.push({
    text: `one item and one stock-changed outbox event (ORDER_PLACED or HOLD_CONSUMED) per order: ${c!.items} items, ${c!.events} events`,
    pass: Number(c!.items) === Number(c!.orders) && Number(c!.events) === Number(c!.orders),
  });
  return checks;
}
