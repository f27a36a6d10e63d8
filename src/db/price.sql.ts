// Reads behind the price book: everything the price rule needs about some
// products (base price, currency, price version, the entries of lists not
// ended) in one statement, and customers' groups.
import { Prisma } from "../generated/prisma/client.js";
import type { RawQuery } from "./raw-sql.js";

/** The shapes services/pricing/price-rule.ts takes (CandidateList), as read. */
export interface PriceTierRow {
  minQuantity: number;
  unitPriceCents: number;
}

export interface CandidateListRow {
  id: string;
  customerGroup: string;
  currency: string;
  priority: number;
  startsAt: Date | null;
  endsAt: Date | null;
  entry: { unitPriceCents: number; tiers: PriceTierRow[] };
}

export interface ProductPricing {
  productId: string;
  /** product.price_version when read: the order statement compares it under the row lock. */
  priceVersion: number;
  base: { unitPriceCents: number; currency: string };
  candidates: CandidateListRow[];
}

interface Row {
  id: string;
  price_version: number;
  price_cents: number;
  currency: string;
  lists: {
    id: string;
    customerGroup: string;
    currency: string;
    priority: number;
    startsAt: string | null;
    endsAt: string | null;
    unitPriceCents: number;
    tiers: PriceTierRow[];
  }[];
}

/** The pricing of each product found (missing ones are left out). Lists already ended are left out too. */
export async function productPricing(sql: RawQuery, productIds: readonly string[]): Promise<ProductPricing[]> {
  const rows = await sql.query<Row>(Prisma.sql`-- prepare:product-pricing
    SELECT p.id, p.price_version, p.price_cents, p.currency,
      coalesce((
        SELECT json_agg(json_build_object('id', l.id, 'customerGroup', l.customer_group, 'currency', l.currency,
          'priority', l.priority, 'startsAt', l.starts_at, 'endsAt', l.ends_at, 'unitPriceCents', e.unit_price_cents, 'tiers', e.tiers))
        FROM price_list_entry e JOIN price_list l ON l.id = e.price_list_id
        WHERE e.product_id = p.id AND (l.ends_at IS NULL OR l.ends_at > now())
      ), '[]') AS lists
    FROM product p WHERE p.id = ANY(${[...productIds]}::uuid[])`);
  return rows.map((r) => ({
    productId: r.id,
    priceVersion: r.price_version,
    base: { unitPriceCents: r.price_cents, currency: r.currency.trim() },
    candidates: r.lists.map((l) => ({
      id: l.id,
      customerGroup: l.customerGroup,
      currency: l.currency.trim(),
      priority: l.priority,
      startsAt: l.startsAt ? new Date(l.startsAt) : null,
      endsAt: l.endsAt ? new Date(l.endsAt) : null,
      entry: { unitPriceCents: l.unitPriceCents, tiers: l.tiers },
    })),
  }));
}

/** Each customer's group (null: none); customers not found are left out. */
export async function customerGroups(sql: RawQuery, customerIds: readonly string[]): Promise<Map<string, string | null>> {
  const rows = await sql.query<{ id: string; customer_group: string | null }>(Prisma.sql`-- prepare:customer-groups
    SELECT id, customer_group FROM customer WHERE id = ANY(${[...customerIds]}::uuid[])`);
  return new Map(rows.map((r) => [r.id, r.customer_group]));
}
