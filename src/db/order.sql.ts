// The order hot path as single SQL statements. A flash sale is a queue on one
// product row: throughput is bounded by how long each order holds that row's
// lock. One statement locks, checks, decrements, inserts the order, its items
// and the outbox events, and commits in a single round trip, so the lock is
// held for the statement's execution only, never across network waits or a
// busy event loop.
import type { DbClient } from "./database.js";
import type { RawQuery } from "./raw-sql.js";
import { Prisma } from "../generated/prisma/client.js";
import type { OrderStatus } from "../generated/prisma/enums.js";
import { traceContextParam } from "../events/outbox.js";
import type { TraceCarrier } from "../observability/trace-context.js";
import type { RequestDeadline } from "../errors/service-unavailable.js";
import { pageBounds, type PageRequest } from "./keyset.js";
import { HELD_CTES } from "./ledger.sql.js";
import { LOCKED_LEVELS, stockChangeCtes } from "./stock-change.sql.js";
import { allocationSql } from "./allocation.sql.js";

export interface OrderRow {
  id: string;
  customerId: string;
  status: OrderStatus;
  totalCents: number;
  currency: string;
  version: number;
  idempotencyKey: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface LockedProduct {
  id: string;
  sku: string;
  /** What could be ordered: what its levels had available (on hand minus committed and held), as seen under lock. */
  stock: number;
  /** Units of unexpired holds then (a hold that lapses frees units before any event says so). */
  held: number;
  currency: string;
}

export interface PlaceOrderResult {
  /** Set when this customer already used the idempotency key: nothing was written. */
  existingOrderId: string | null;
  /** Set when the order was written. */
  order: OrderRow | null;
  /** Stock as seen under lock, to explain a refusal. */
  products: LockedProduct[];
  /** Refused, nothing written: a line's priceVersion or the customer's group was not the locked rows' (reprice and resend). */
  priceStale: boolean;
}

export interface BatchLine {
  productId: string;
  quantity: number;
  unitPriceCents?: number;
  priceListId?: string | null;
  priceVersion?: number;
}

export interface BatchOrder {
  customerId: string;
  idempotencyKey: string;
  /** The group the lines were priced for: the customer's must still be it. Absent: lines are unpriced. */
  customerGroup?: string | null;
  /**
   * Merged, validated lines in product-id order, priced by the price rule (services/pricing) as of
   * priceVersion. A line without a price (tools and tests that place orders below the services) is
   * charged the product's base price as locked.
   */
  lines: BatchLine[];
  /** The placing operation's trace context, stored with the order's outbox events. */
  traceContext?: TraceCarrier;
  /** The placing request's deadline: an order whose request already expired is not sent; one sent is marked so. */
  deadline?: RequestDeadline;
}

/**
 * Group commit: places a batch of orders in one statement, each as if it
 * were placed alone right after the ones before it. Every product of the
 * batch is locked once, in id order (no deadlocks with other batches or
 * processes); a recursive walk then judges the orders in batch order against
 * the stock the accepted ones before them left (all lines or nothing per
 * order); the writes are set-based: one UPDATE per product (committed plus all
 * accepted quantities, version plus one per accepted order), the orders,
 * their items, and one outbox event per product per order carrying that
 * order's own stock and version (running sums). The (customer, key) pairs
 * must be distinct within a batch (the caller defers repeats to the next
 * batch). Any error leaves the whole batch unwritten. A single order is a
 * batch of one (the batcher's one-by-one fallback sends those).
 *
 * Prices come with the lines, chosen in memory (services/pricing/price-book.ts);
 * each line names the product's priceVersion it was priced at and the order the
 * customer's group. Every price change bumps price_version under the product's
 * row lock, so comparing them with the locked rows makes the price charged the
 * rule's price at commit time: an order priced from anything older is refused
 * unwritten (priceStale) and repriced by the caller.
 */
export async function placeOrdersBatch(db: RawQuery, batch: BatchOrder[]): Promise<PlaceOrderResult[]> {
  const lineOrd: number[] = [];
  const lineProduct: string[] = [];
  const lineQuantity: number[] = [];
  const linePrice: (number | null)[] = [];
  const lineList: (string | null)[] = [];
  const lineVersion: (number | null)[] = [];
  batch.forEach((o, i) =>
    o.lines.forEach((l) => {
      lineOrd.push(i + 1);
      lineProduct.push(l.productId);
      lineQuantity.push(l.quantity);
      linePrice.push(l.priceVersion === undefined ? null : l.unitPriceCents!);
      lineList.push(l.priceVersion === undefined ? null : (l.priceListId ?? null));
      lineVersion.push(l.priceVersion ?? null);
    }),
  );
  const rows = await db.query<
    Partial<OrderRow> & {
      ord: number;
      existing_id: string | null;
      products: LockedProduct[] | null;
      ok: boolean | null;
      price_stale: boolean;
    }
  >(Prisma.sql`-- prepare:place-orders
    WITH RECURSIVE
    ords AS (
      SELECT o.customer_id, o.idempotency_key, o.trace_context::jsonb AS trace_context, o.customer_group, o.priced, o.ord::int AS ord
      FROM unnest(
        ${batch.map((o) => o.customerId)}::uuid[], ${batch.map((o) => o.idempotencyKey)}::text[],
        ${batch.map((o) => traceContextParam(o.traceContext))}::text[], ${batch.map((o) => o.customerGroup ?? null)}::text[],
        ${batch.map((o) => o.customerGroup !== undefined)}::boolean[]
      ) WITH ORDINALITY AS o(customer_id, idempotency_key, trace_context, customer_group, priced, ord)
    ),
    req AS (
      SELECT * FROM unnest(${lineOrd}::int[], ${lineProduct}::uuid[], ${lineQuantity}::int[], ${linePrice}::int[],
        ${lineList}::uuid[], ${lineVersion}::int[]) AS r(ord, product_id, quantity, unit_price_cents, price_list_id, price_version)
    ),
    existing AS (
      SELECT o.ord, x.id FROM ords o JOIN "order" x ON x.customer_id = o.customer_id AND x.idempotency_key = o.idempotency_key
    ),
    locked AS (
      SELECT p.id, p.sku, p.stock, p.committed, p.reserved, p.version, p.price_cents, p.price_version, p.currency
      FROM product p
      WHERE p.id IN (SELECT product_id FROM req WHERE ord NOT IN (SELECT ord FROM existing))
      ORDER BY p.id
      FOR UPDATE
    ),
    -- Orders priced from what the locked rows and the customer's group still say (see the header).
    stale AS (
      SELECT o.ord FROM ords o
      WHERE o.ord NOT IN (SELECT ord FROM existing) AND (
        EXISTS (SELECT 1 FROM req r JOIN locked l ON l.id = r.product_id WHERE r.ord = o.ord AND l.price_version <> r.price_version)
        OR o.priced AND (SELECT c.customer_group FROM customer c WHERE c.id = o.customer_id) IS DISTINCT FROM o.customer_group)
    ),${HELD_CTES},${LOCKED_LEVELS},
    -- Order n is judged against "left", what each level had available (on hand minus committed and held)
    -- after the accepted orders 1..n-1, keyed "product:location"; its lines are allocated from that.
    walk AS (
      SELECT 0 AS ord,
        (SELECT coalesce(jsonb_object_agg(lv.product_id || ':' || lv.location_id, lv.available), '{}'::jsonb) FROM levels lv WHERE lv.fulfils)
          AS left_after,
        NULL::jsonb AS left_before, NULL::boolean AS ok, NULL::jsonb AS alloc
      UNION ALL
      SELECT w.ord + 1, CASE WHEN v.ok THEN w.left_after || v.after ELSE w.left_after END, w.left_after, v.ok,
        CASE WHEN v.ok THEN v.alloc END
      FROM walk w
      CROSS JOIN LATERAL (
        SELECT
          coalesce(
            NOT EXISTS (SELECT 1 FROM existing e WHERE e.ord = w.ord + 1)
              AND NOT EXISTS (SELECT 1 FROM stale s WHERE s.ord = w.ord + 1)
              AND (SELECT count(l.id) = count(*) AND count(DISTINCT l.currency) = 1
                   FROM req r LEFT JOIN locked l ON l.id = r.product_id WHERE r.ord = w.ord + 1)
              AND bool_and(x.line_ok),
            false
          ) AS ok,
          coalesce(jsonb_object_agg(x.product_id || ':' || x.location_id, x.available - x.take) FILTER (WHERE x.take > 0), '{}'::jsonb)
            AS after,
          jsonb_agg(jsonb_build_array(x.product_id, x.location_id, x.take)) FILTER (WHERE x.take > 0) AS alloc
        FROM (${allocationSql(Prisma.sql`
          SELECT r.product_id, r.quantity, lv.location_id, lv.priority,
            coalesce((w.left_after ->> (r.product_id || ':' || lv.location_id))::int, 0) AS available
          FROM req r LEFT JOIN levels lv ON lv.product_id = r.product_id AND lv.fulfils
          WHERE r.ord = w.ord + 1`)}) x
      ) v
      WHERE w.ord < ${batch.length}
    ),
    verdict AS (SELECT ord, ok, left_before, alloc FROM walk WHERE ord > 0),
    -- Accepted lines, and what each takes from which location.
    acc AS (
      SELECT r.ord, r.product_id, r.quantity, coalesce(r.unit_price_cents, l.price_cents) AS unit_price_cents, r.price_list_id, l.currency
      FROM req r JOIN verdict v ON v.ord = r.ord AND v.ok JOIN locked l ON l.id = r.product_id
    ),
    taken AS (
      SELECT v.ord, (e ->> 0)::uuid AS product_id, (e ->> 1)::uuid AS location_id, (e ->> 2)::int AS quantity
      FROM verdict v CROSS JOIN LATERAL jsonb_array_elements(v.alloc) e
      WHERE v.ok
    ),
    placed AS (
      INSERT INTO "order" (customer_id, total_cents, currency, idempotency_key)
      SELECT o.customer_id, t.total, t.currency, o.idempotency_key
      FROM (SELECT ord, sum(unit_price_cents::bigint * quantity) AS total, min(currency) AS currency FROM acc GROUP BY ord) t
      JOIN ords o ON o.ord = t.ord
      ORDER BY t.ord
      RETURNING *
    ),
    placed_ord AS (
      SELECT o.ord, o.trace_context, p.* FROM placed p JOIN ords o ON o.customer_id = p.customer_id AND o.idempotency_key = p.idempotency_key
    ),
    items AS (
      INSERT INTO order_item (order_id, product_id, quantity, unit_price_cents, price_list_id)
      SELECT po.id, a.product_id, a.quantity, a.unit_price_cents, a.price_list_id FROM placed_ord po JOIN acc a ON a.ord = po.ord
      RETURNING 1
    ),
    allocations AS (
      INSERT INTO order_allocation (order_id, product_id, location_id, quantity)
      SELECT po.id, t.product_id, t.location_id, t.quantity FROM placed_ord po JOIN taken t ON t.ord = po.ord
      RETURNING 1
    ),
    -- One change per accepted line and location, in batch order: each event carries its own order's stock and version.
    -- Placing commits the units (on hand stays until the order ships).
    changes AS (
      SELECT t.product_id, t.location_id, t.ord AS seq, 0 AS d_on_hand, t.quantity AS d_committed, 0 AS d_reserved, 0 AS d_incoming,
        'ORDER_PLACED'::text AS reason, NULL::text AS note, NULL::text AS adjustment, po.id AS order_id, NULL::uuid AS hold_id, NULL::uuid AS transfer_id,
        'customer:' || po.customer_id AS actor, po.trace_context
      FROM taken t JOIN placed_ord po ON po.ord = t.ord
    ),${stockChangeCtes()}
    SELECT v.ord, e.id AS existing_id, v.ok, EXISTS (SELECT 1 FROM stale s WHERE s.ord = v.ord) AS price_stale,
      CASE WHEN NOT v.ok AND e.id IS NULL THEN (
        SELECT json_agg(json_build_object('id', l.id, 'sku', l.sku, 'held', h.reserved, 'currency', l.currency,
          'stock', (SELECT coalesce(sum((v.left_before ->> (l.id || ':' || lv.location_id))::int), 0)
                    FROM levels lv WHERE lv.product_id = l.id AND lv.fulfils)))
        FROM req r JOIN locked l ON l.id = r.product_id JOIN held h ON h.id = l.id WHERE r.ord = v.ord
      ) END AS products,
      o.id, o.customer_id AS "customerId", o.status, o.total_cents AS "totalCents", o.currency, o.version,
      o.idempotency_key AS "idempotencyKey", o.created_at AS "createdAt", o.updated_at AS "updatedAt"
    FROM verdict v LEFT JOIN existing e ON e.ord = v.ord LEFT JOIN placed_ord o ON o.ord = v.ord
    ORDER BY v.ord
  `);
  if (rows.length !== batch.length) throw new Error(`order batch: ${rows.length} verdicts for ${batch.length} orders`);
  return rows.map((row) => {
    const { ord: _ord, existing_id, ok: _ok, products, price_stale, ...order } = row;
    return {
      existingOrderId: existing_id,
      order: order.id ? (order as OrderRow) : null,
      products: products ?? [],
      priceStale: price_stale,
    };
  });
}

const ORDER_COLUMNS = Prisma.sql`o.id, o.customer_id AS "customerId", o.status, o.total_cents AS "totalCents", o.currency,
  o.version, o.idempotency_key AS "idempotencyKey", o.created_at AS "createdAt", o.updated_at AS "updatedAt"`;

/** A keyset page of orders for each customer, each an index range scan on (customer_id, created_at). */
export function findOrdersForCustomers(
  prisma: DbClient,
  customerIds: readonly string[],
  page: PageRequest,
  status: OrderStatus | null,
): Promise<OrderRow[]> {
  const { after, before } = pageBounds(page);
  const dir = Prisma.raw(page.inverted ? "DESC" : "ASC");
  return prisma.$queryRaw<OrderRow[]>`
    SELECT ${ORDER_COLUMNS}
    FROM unnest(${[...customerIds]}::uuid[]) AS c(id)
    CROSS JOIN LATERAL (
      SELECT * FROM "order" x
      WHERE x.customer_id = c.id
        ${status ? Prisma.sql`AND x.status = ${status}::"OrderStatus"` : Prisma.empty}
        ${after ? Prisma.sql`AND (x.created_at, x.id) > (${after.createdAt}, ${after.id}::uuid)` : Prisma.empty}
        ${before ? Prisma.sql`AND (x.created_at, x.id) < (${before.createdAt}, ${before.id}::uuid)` : Prisma.empty}
      ORDER BY x.created_at ${dir}, x.id ${dir}
      LIMIT ${page.limit}
    ) o
  `;
}

/** An order with its lines (productId, quantity), as an idempotent retry compares them. */
export type OrderWithItems = OrderRow & { items: { productId: string; quantity: number }[] };

// The order's columns and its lines, one row per order (alias o).
const ORDER_WITH_ITEMS = Prisma.sql`${ORDER_COLUMNS},
  (SELECT coalesce(json_agg(json_build_object('productId', i.product_id, 'quantity', i.quantity) ORDER BY i.product_id), '[]')
   FROM order_item i WHERE i.order_id = o.id) AS items`;

/**
 * The orders of many (customer, idempotency key) pairs in one statement, aligned with `keys`
 * (undefined where none): a flood of sold-out refusals checks its keys in one round trip.
 */
export async function ordersByKeys(
  sql: RawQuery,
  keys: readonly { customerId: string; idempotencyKey: string }[],
): Promise<(OrderWithItems | undefined)[]> {
  const rows = await sql.query<OrderWithItems>(Prisma.sql`-- prepare:orders-by-keys
    SELECT ${ORDER_WITH_ITEMS}
    FROM "order" o
    JOIN unnest(${keys.map((k) => k.customerId)}::uuid[], ${keys.map((k) => k.idempotencyKey)}::text[]) AS k(customer_id, idempotency_key)
      ON o.customer_id = k.customer_id AND o.idempotency_key = k.idempotency_key`);
  const byKey = new Map(rows.map((r) => [`${r.customerId} ${r.idempotencyKey}`, r]));
  return keys.map((k) => byKey.get(`${k.customerId.toLowerCase()} ${k.idempotencyKey}`));
}

/**
 * The order a customer placed under an idempotency key, with its lines (product, quantity; by product), or
 * none: what a retry is answered with (sold-out refusals ask ordersByKeys, many at once).
 */
export async function orderByKey(sql: RawQuery, customerId: string, idempotencyKey: string): Promise<OrderWithItems | undefined> {
  const [row] = await sql.query<OrderWithItems>(Prisma.sql`-- prepare:order-by-key
    SELECT ${ORDER_WITH_ITEMS}
    FROM "order" o WHERE o.customer_id = ${customerId}::uuid AND o.idempotency_key = ${idempotencyKey}`);
  return row;
}
