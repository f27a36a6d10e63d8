// The order hot path as single SQL statements. A flash sale is a queue on one
// product row: throughput is bounded by how long each order holds that row's
// lock. One statement locks, checks, decrements, inserts the order, its items
// and the outbox events, and commits in a single round trip, so the lock is
// held for the statement's execution only, never across network waits or a
// busy event loop.
import type { DbClient } from "./database.js";
import { Prisma } from "../generated/prisma/client.js";
import type { OrderStatus } from "../generated/prisma/enums.js";
import { stockChangedOutboxSql } from "../events/stock-changed.event.js";
import { pageBounds, type PageRequest } from "./keyset.js";

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
  stock: number;
  currency: string;
}

export interface PlaceOrderResult {
  /** Set when this customer already used the idempotency key: nothing was written. */
  existingOrderId: string | null;
  /** Set when the order was written. */
  order: OrderRow | null;
  /** Stock as seen under lock, to explain a refusal. */
  products: LockedProduct[];
}

/**
 * Places an order for merged, validated lines, or writes nothing. Rows are
 * locked in product-id order, so concurrent multi-line orders cannot deadlock.
 * Refuses (order: null) when a product is missing, a line is short, or the
 * lines mix currencies; the caller explains why from `products`.
 */
export async function placeOrderAtomically(
  prisma: DbClient,
  customerId: string,
  idempotencyKey: string,
  lines: { productId: string; quantity: number }[],
): Promise<PlaceOrderResult> {
  const ids = lines.map((l) => l.productId);
  const quantities = lines.map((l) => l.quantity);
  const rows = await prisma.$queryRaw<
    (Partial<OrderRow> & { existing_id: string | null; products: LockedProduct[] | null; ok: boolean | null })[]
  >`-- prepare:place-order
    WITH req AS (
      SELECT * FROM unnest(${ids}::uuid[], ${quantities}::int[]) AS r(product_id, quantity)
    ),
    existing AS (
      SELECT id FROM "order" WHERE customer_id = ${customerId}::uuid AND idempotency_key = ${idempotencyKey}
    ),
    locked AS (
      SELECT p.id, p.sku, p.stock, p.price_cents, p.currency
      FROM product p
      WHERE p.id IN (SELECT product_id FROM req) AND NOT EXISTS (SELECT 1 FROM existing)
      ORDER BY p.id
      FOR UPDATE
    ),
    verdict AS (
      SELECT count(*) = ${lines.length} AND bool_and(l.stock >= r.quantity) AND count(DISTINCT l.currency) = 1 AS ok
      FROM req r JOIN locked l ON l.id = r.product_id
    ),
    sold AS (
      UPDATE product p
      SET stock = p.stock - r.quantity, version = p.version + 1, updated_at = now()
      FROM req r, verdict v
      WHERE v.ok AND p.id = r.product_id AND p.stock >= r.quantity
      RETURNING p.id, p.sku, p.stock, p.version, r.quantity
    ),
    placed AS (
      INSERT INTO "order" (customer_id, total_cents, currency, idempotency_key)
      SELECT ${customerId}::uuid, t.total, t.currency, ${idempotencyKey}
      FROM (
        SELECT sum(l.price_cents::bigint * r.quantity) AS total, min(l.currency) AS currency
        FROM req r JOIN locked l ON l.id = r.product_id
      ) t, verdict v
      WHERE v.ok
      RETURNING *
    ),
    items AS (
      INSERT INTO order_item (order_id, product_id, quantity, unit_price_cents)
      SELECT o.id, r.product_id, r.quantity, l.price_cents
      FROM placed o, req r JOIN locked l ON l.id = r.product_id
      RETURNING 1
    ),
    events AS (
      INSERT INTO outbox_event (topic, key, payload)
      SELECT ${stockChangedOutboxSql({
        productId: Prisma.sql`s.id`,
        sku: Prisma.sql`s.sku`,
        stock: Prisma.sql`s.stock`,
        version: Prisma.sql`s.version`,
        delta: Prisma.sql`-s.quantity`,
        reason: Prisma.sql`'ORDER_PLACED'`,
        orderId: Prisma.sql`o.id`,
      })}
      FROM sold s, placed o
      ORDER BY s.id
      RETURNING 1
    )
    SELECT
      (SELECT id FROM existing) AS existing_id,
      (SELECT ok FROM verdict) AS ok,
      (SELECT json_agg(json_build_object('id', id, 'sku', sku, 'stock', stock, 'currency', currency)) FROM locked) AS products,
      o.id, o.customer_id AS "customerId", o.status, o.total_cents AS "totalCents", o.currency, o.version,
      o.idempotency_key AS "idempotencyKey", o.created_at AS "createdAt", o.updated_at AS "updatedAt"
    FROM (SELECT 1) one LEFT JOIN placed o ON true
  `;
  const row = rows[0]!;
  return {
    existingOrderId: row.existing_id,
    order: row.id ? (row as OrderRow) : null,
    products: row.products ?? [],
  };
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
