// The one rule for what a unit costs. Pure: the clock and the candidate lists
// are passed in, so the order batcher (from memory), Product.price (per
// request) and the unit test all apply exactly the same rule.

/** A quantity break: from minQuantity units on, each costs unitPriceCents. */
export interface PriceTier {
  minQuantity: number;
  unitPriceCents: number;
}

/** A price list with its entry for the product in question. */
export interface CandidateList {
  id: string;
  customerGroup: string;
  currency: string;
  /** Lower wins. */
  priority: number;
  startsAt: Date | null;
  endsAt: Date | null;
  entry: { unitPriceCents: number; tiers: readonly PriceTier[] };
}

export interface PriceQuery {
  /** The product's own price: what anyone pays when no list applies. */
  base: { unitPriceCents: number; currency: string };
  quantity: number;
  /** The buyer's group; null: base price. */
  customerGroup: string | null;
  now: Date;
  candidates: readonly CandidateList[];
}

export interface ChosenPrice {
  unitPriceCents: number;
  currency: string;
  /** The list the price came from; null: the base price. */
  priceListId: string | null;
  /** The tiers of that list's entry (empty for the base price). */
  tiers: readonly PriceTier[];
}

/** starts_at <= now < ends_at, either end open. */
export const isActive = (l: Pick<CandidateList, "startsAt" | "endsAt">, now: Date): boolean =>
  (l.startsAt === null || l.startsAt.getTime() <= now.getTime()) && (l.endsAt === null || now.getTime() < l.endsAt.getTime());

/**
 * The unit price for one line: among the active lists of the buyer's group
 * (in the product's currency: createPriceList and setPriceListEntry refuse
 * others, this skips them too) the one with the lowest priority (ties: lowest
 * id, so the choice never depends on input order); in it, the highest tier
 * whose minQuantity the quantity reaches, else the entry's unit price. No
 * group or no such list: the base price.
 */
export function choosePrice(q: PriceQuery): ChosenPrice {
  let best: CandidateList | null = null;
  if (q.customerGroup !== null) {
    for (const c of q.candidates) {
      if (c.customerGroup !== q.customerGroup || c.currency !== q.base.currency || !isActive(c, q.now)) continue;
      if (!best || c.priority < best.priority || (c.priority === best.priority && c.id < best.id)) best = c;
    }
  }
  if (!best) return { unitPriceCents: q.base.unitPriceCents, currency: q.base.currency, priceListId: null, tiers: [] };
  let unit = best.entry.unitPriceCents;
  let reached = 0;
  for (const t of best.entry.tiers) {
    if (t.minQuantity <= q.quantity && t.minQuantity > reached) {
      reached = t.minQuantity;
      unit = t.unitPriceCents;
    }
  }
  return { unitPriceCents: unit, currency: q.base.currency, priceListId: best.id, tiers: best.entry.tiers };
}
