// What a price list entry may hold, checked before anything is written.
import { ValidationError } from "../../errors/domain-errors.js";
import { LIMITS, requireInt } from "../limits.js";
import type { PriceTier } from "./price-rule.js";

/** Tiers per entry at most: a price sheet, not a formula. */
export const MAX_TIERS = 20;

/**
 * An entry's tiers: ascending, unique minQuantity from 2 (quantity 1 is the
 * entry's own unit price) up to the most a line may order, whole positive
 * prices, at most MAX_TIERS.
 */
export function requireTiers(tiers: readonly PriceTier[]): PriceTier[] {
  if (tiers.length > MAX_TIERS) throw new ValidationError("tiers", `At most ${MAX_TIERS} tiers`);
  let previous = 1;
  return tiers.map((t, i) => {
    const minQuantity = requireInt(`tiers[${i}].minQuantity`, t.minQuantity, 2, LIMITS.maxQuantityPerLine);
    if (minQuantity <= previous) throw new ValidationError(`tiers[${i}].minQuantity`, "Tiers must have ascending, unique minQuantity");
    previous = minQuantity;
    return { minQuantity, unitPriceCents: requireInt(`tiers[${i}].unitPriceCents`, t.unitPriceCents, 1, LIMITS.maxPriceCents) };
  });
}

/** A list prices only products of its own currency: a price in EUR for a product sold in USD is refused, never converted. */
export function requireSameCurrency(listCurrency: string, productCurrency: string): void {
  if (listCurrency !== productCurrency) {
    throw new ValidationError("productId", `The product is priced in ${productCurrency}, the price list in ${listCurrency}`);
  }
}
