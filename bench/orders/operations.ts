// What bench/orders measures, one request each: GraphQL placeOrder and a
// trivial query through the API, and the raw-SQL ceiling of the same order
// on the same PostgreSQL, (a) as the classic transaction, (b) as the API's
// own single statement and (c) as the API's group-commit batch statement,
// in batches of the sizes the API formed.
import type pg from "pg";
import { rawSqlOverPg } from "../../src/db/raw-sql.js";
import { placeOrdersBatch, type BatchOrder, type PlaceOrderResult } from "../../src/db/order.sql.js";
import { STOCK_CHANGED } from "../../src/events/stock-changed.event.js";
import type { JsonClient } from "../lib/http.js";
import type { Outcome } from "../lib/load.js";

export type Op = () => Promise<Outcome | { outcome: Outcome; detail?: string }>;

export interface OperationsContext {
  runId: string;
  http: JsonClient;
  pool: pg.Pool;
  customers: { id: string; auth: string }[];
  /** Product UUID -> its global ID. */
  productGid: Map<string, string>;
}

const PLACE_ORDER = `mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    __typename
    ... on PlaceOrderSuccess { order { id status totalCents } }
    ... on Error { message }
  }
}`;
const RESERVE = `mutation Reserve($input: ReserveStockInput!) {
  reserveStock(input: $input) {
    __typename
    ... on ReserveStockSuccess { hold { id status expiresAt } }
    ... on Error { message }
  }
}`;
const ORDER_HOLD = `mutation OrderHold($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    __typename
    ... on PlaceOrderSuccess { order { id status totalCents } }
    ... on Error { message }
  }
}`;
const TRIVIAL = JSON.stringify({ query: "{ __typename }" });

export function orderOperations(ctx: OperationsContext) {
  const { http, pool, customers, productGid } = ctx;
  let seq = 0;
  let okTotal = 0; // every order the benchmark saw succeed, warm-ups included
  const nextKey = () => `bench-${ctx.runId}-${++seq}`;
  const anyCustomer = () => customers[Math.floor(Math.random() * customers.length)]!;
  const counted = (o: Outcome): Outcome => {
    if (o === "ok") okTotal++;
    return o;
  };

  const graphqlOrder =
    (pick: () => string): Op =>
    async () => {
      const body = JSON.stringify({
        query: PLACE_ORDER,
        variables: { input: { idempotencyKey: nextKey(), items: [{ productId: productGid.get(pick()), quantity: 1 }] } },
      });
      const { status, json } = await http.post("/graphql", body, { authorization: anyCustomer().auth });
      const res = json as { data?: { placeOrder?: { __typename: string; message?: string } }; errors?: { message: string }[] };
      if (res.errors?.length) return { outcome: "error" as const, detail: `HTTP ${status}: ${res.errors[0]!.message}` };
      const typename = res.data?.placeOrder?.__typename;
      if (typename === "PlaceOrderSuccess") return counted("ok");
      if (typename === "InsufficientStockError") return "refused" as const;
      return { outcome: "error" as const, detail: `HTTP ${status}: ${typename ?? "no data"}: ${res.data?.placeOrder?.message ?? ""}` };
    };

  // The hold path: reserveStock (one unit), and optionally ordering that hold (two requests, one outcome).
  const graphqlHold =
    (pick: () => string, thenOrder: boolean): Op =>
    async () => {
      const customer = anyCustomer();
      const body = JSON.stringify({
        query: RESERVE,
        variables: { input: { idempotencyKey: nextKey(), items: [{ productId: productGid.get(pick()), quantity: 1 }] } },
      });
      const { status, json } = await http.post("/graphql", body, { authorization: customer.auth });
      const res = json as {
        data?: { reserveStock?: { __typename: string; message?: string; hold?: { id: string } } };
        errors?: { message: string }[];
      };
      if (res.errors?.length) return { outcome: "error" as const, detail: `HTTP ${status}: ${res.errors[0]!.message}` };
      const r = res.data?.reserveStock;
      if (r?.__typename === "InsufficientStockError") return "refused" as const;
      if (r?.__typename !== "ReserveStockSuccess")
        return { outcome: "error" as const, detail: `HTTP ${status}: ${r?.__typename}: ${r?.message ?? ""}` };
      if (!thenOrder) return "ok" as const;
      const order = await http.post(
        "/graphql",
        JSON.stringify({ query: ORDER_HOLD, variables: { input: { idempotencyKey: nextKey(), holdId: r.hold!.id } } }),
        { authorization: customer.auth },
      );
      const o = order.json as { data?: { placeOrder?: { __typename: string; message?: string } }; errors?: { message: string }[] };
      if (o.errors?.length) return { outcome: "error" as const, detail: `HTTP ${order.status}: ${o.errors[0]!.message}` };
      if (o.data?.placeOrder?.__typename === "PlaceOrderSuccess") return counted("ok");
      return {
        outcome: "error" as const,
        detail: `HTTP ${order.status}: ${o.data?.placeOrder?.__typename}: ${o.data?.placeOrder?.message ?? ""}`,
      };
    };

  const graphqlTrivial: Op = async () => {
    const { json } = await http.post("/graphql", TRIVIAL, { authorization: anyCustomer().auth });
    return (json as { data?: { __typename?: string } }).data?.__typename === "Query"
      ? ("ok" as const)
      : { outcome: "error" as const, detail: JSON.stringify(json).slice(0, 200) };
  };

  /**
   * One classic transaction on its own connection: `body` returns the order's writes as done (COMMIT,
   * "ok") or refuses it (ROLLBACK, "refused"); an error rolls back and drops the connection.
   */
  const classicTransaction = async (body: (c: pg.PoolClient) => Promise<boolean>): Promise<Outcome> => {
    const c = await pool.connect();
    try {
      await c.query("BEGIN");
      if (!(await body(c))) {
        await c.query("ROLLBACK");
        c.release();
        return "refused";
      }
      await c.query("COMMIT");
      c.release();
      return counted("ok");
    } catch (err) {
      await c.query("ROLLBACK").catch(() => {});
      c.release(true);
      throw err;
    }
  };
  type Priced = { sku: string; stock: number; version: number; price_cents: number; currency: string };
  /** The order and its one item (one unit of productId at p's price), as both classic transactions write them. */
  const insertOrder = async (c: pg.PoolClient, customerId: string, productId: string, p: Priced) => {
    const order = await c.query<{ id: string; created_at: Date }>(
      `INSERT INTO "order" (customer_id, total_cents, currency, idempotency_key) VALUES ($1, $2, $3, $4) RETURNING id, created_at`,
      [customerId, p.price_cents, p.currency, nextKey()],
    );
    const o = order.rows[0]!;
    await c.query(`INSERT INTO order_item (order_id, product_id, quantity, unit_price_cents) VALUES ($1, $2, $3, $4)`, [
      o.id,
      productId,
      1,
      p.price_cents,
    ]);
    return o;
  };
  /** The order's stock-changed event in the outbox. */
  const insertEvent = (c: pg.PoolClient, productId: string, p: Priced, o: { id: string; created_at: Date }, more: object) =>
    c.query(`INSERT INTO outbox_event (topic, key, payload) VALUES ($1, $2, $3)`, [
      STOCK_CHANGED,
      productId,
      JSON.stringify({
        productId,
        sku: p.sku,
        stock: p.stock,
        version: p.version,
        ...more,
        reason: "ORDER_PLACED",
        orderId: o.id,
        occurredAt: o.created_at.toISOString(),
      }),
    ]);

  // (a) The classic order transaction: six round trips, the product row locked
  // from the UPDATE to the COMMIT.
  const classicOrder =
    (pick: () => string): Op =>
    () => {
      const productId = pick();
      const customer = anyCustomer();
      return classicTransaction(async (c) => {
        const up = await c.query<Priced>(
          `UPDATE product SET stock = stock - $2, version = version + 1, updated_at = now()
           WHERE id = $1 AND stock >= $2 RETURNING sku, stock, version, price_cents, currency`,
          [productId, 1],
        );
        const p = up.rows[0];
        if (!p) return false;
        const o = await insertOrder(c, customer.id, productId, p);
        await insertEvent(c, productId, p, o, { delta: -1 });
        return true;
      });
    };

  // (a2) The classic transaction for the order as stock per location keeps it: the product and its
  // first level that can fill the line (priority order) locked and committed, the order, its item, its
  // allocation, a ledger row and the event. The same writes the API's statement makes, one statement
  // each: the floor of a classic application doing this order's work.
  const classicLocationOrder =
    (pick: () => string): Op =>
    () => {
      const productId = pick();
      const customer = anyCustomer();
      return classicTransaction(async (c) => {
        const up = await c.query<Priced & { committed: number }>(
          `UPDATE product SET committed = committed + $2, version = version + 1, updated_at = now()
           WHERE id = $1 AND stock - committed - reserved >= $2 RETURNING sku, stock, committed, version, price_cents, currency`,
          [productId, 1],
        );
        const p = up.rows[0];
        if (!p) return false;
        const level = (
          await c.query<{ location_id: string; on_hand: number; committed: number; reserved: number; incoming: number }>(
            `UPDATE stock_level s SET committed = s.committed + $2, version = s.version + 1, updated_at = now()
             WHERE (s.product_id, s.location_id) = (
               SELECT l.product_id, l.location_id FROM stock_level l JOIN location loc ON loc.id = l.location_id
               WHERE l.product_id = $1 AND loc.active AND loc.fulfils_orders AND l.on_hand - l.committed - l.reserved >= $2
               ORDER BY loc.priority, loc.id LIMIT 1 FOR UPDATE OF l)
             RETURNING s.location_id, s.on_hand, s.committed, s.reserved, s.incoming`,
            [productId, 1],
          )
        ).rows[0];
        if (!level) return false;
        const o = await insertOrder(c, customer.id, productId, p);
        await c.query(`INSERT INTO order_allocation (order_id, product_id, location_id, quantity) VALUES ($1, $2, $3, $4)`, [
          o.id,
          productId,
          level.location_id,
          1,
        ]);
        await c.query(
          `INSERT INTO stock_movement (product_id, location_id, delta_on_hand, delta_committed, delta_reserved, delta_incoming,
             on_hand_after, committed_after, reserved_after, incoming_after, reason, order_id, actor, version_after)
           VALUES ($1, $2, 0, 1, 0, 0, $3, $4, $5, $6, 'ORDER_PLACED', $7, $8, $9)`,
          [
            productId,
            level.location_id,
            level.on_hand,
            level.committed,
            level.reserved,
            level.incoming,
            o.id,
            `customer:${customer.id}`,
            p.version,
          ],
        );
        await insertEvent(c, productId, p, o, { committed: p.committed, delta: 0 });
        return true;
      });
    };

  // (b) The API's own statement for one order (a batch of one), over the
  // same pg driver path the API sends it by (src/db/raw-sql.ts, prepared
  // statements included), so this never drifts from src/db/order.sql.ts.
  const viaPg = rawSqlOverPg(pool);
  const singleStatementOrder =
    (pick: () => string): Op =>
    async () => {
      const [r] = await placeOrdersBatch(viaPg, [
        { customerId: anyCustomer().id, idempotencyKey: nextKey(), lines: [{ productId: pick(), quantity: 1 }] },
      ]);
      if (!r) throw new Error("no verdict");
      if (r.order) return counted("ok");
      if (r.existingOrderId) throw new Error("idempotency key reused");
      return "refused";
    };

  // (c) The API's group-commit statement, placeOrdersBatch itself over plain
  // pg: the workers' orders gather into batches whose sizes are drawn from
  // the sizes the API formed in the same scenario; what is left when nothing
  // more arrives goes out as it is (so a run can end).
  const batchedOrder = (pick: () => string, apiSizes: () => number[]): Op => {
    let waiting: { order: BatchOrder; done: (r: PlaceOrderResult | Error) => void }[] = [];
    let target = 0;
    let inFlight = 0;
    const send = () => {
      const batch = waiting;
      waiting = [];
      target = 0;
      inFlight++;
      placeOrdersBatch(
        viaPg,
        batch.map((w) => w.order),
      )
        .then(
          (results) => batch.forEach((w, i) => w.done(results[i]!)),
          (err: Error) => batch.forEach((w) => w.done(err)),
        )
        .finally(() => {
          inFlight--;
          stragglers();
        });
    };
    // Nothing in flight to wait behind: send what has gathered after this turn of the event loop.
    const stragglers = () => setImmediate(() => inFlight === 0 && waiting.length > 0 && send());
    return async () => {
      const r = await new Promise<PlaceOrderResult | Error>((done) => {
        waiting.push({
          order: { customerId: anyCustomer().id, idempotencyKey: nextKey(), lines: [{ productId: pick(), quantity: 1 }] },
          done,
        });
        if (!target) {
          const sizes = apiSizes();
          target = sizes.length ? sizes[Math.floor(Math.random() * sizes.length)]! : 1;
        }
        if (waiting.length >= target) send();
        else if (inFlight === 0) stragglers();
      });
      if (r instanceof Error) throw r;
      if (r.order) return counted("ok");
      if (r.existingOrderId) throw new Error("idempotency key reused");
      return "refused";
    };
  };

  return {
    graphqlOrder,
    graphqlHold,
    graphqlTrivial,
    classicOrder,
    classicLocationOrder,
    singleStatementOrder,
    batchedOrder,
    okTotal: () => okTotal,
  };
}
