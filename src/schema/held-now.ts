// Product.available and Product.reserved: what unexpired holds keep from shoppers at this moment.
import { heldNow } from "../services/hold-status.js";
import type { ProductRow } from "../services/product.service.js";
import type { GraphQLContext } from "./context.js";

/**
 * What is reserved and available now. A row rebuilt from an event knows its lapsed holds; otherwise
 * one statement reads the counts with them (db/hold-times.sql.ts), and those counts are the answer:
 * the row's own reserved minus a later statement's lapsed units would miss a sweep in between.
 */
export const heldOf = async (p: ProductRow, ctx: Pick<GraphQLContext, "cacheHints" | "loaders">) => {
  const hints = ctx.cacheHints;
  if (p.lapsedReserved !== undefined) {
    if (hints && p.reserved > 0) hints.varies = true; // when its holds lapse is not known
    return heldNow({ ...p, lapsed: p.lapsedReserved });
  }
  if (p.reserved === 0) return heldNow({ ...p, lapsed: 0 }); // nothing held in the row's snapshot: nothing to lapse
  const now = (await ctx.loaders.holdReading.load(p.id)) ?? { ...p, lapsed: 0, nextExpiry: undefined };
  // Holds lapse at expiresAt, before the sweeper's event: a shared answer lasts until the next one does.
  // Counts newer than the row's make an answer that mixes two moments: not shared.
  if (hints && now.version !== p.version) hints.varies = true;
  if (hints && now.nextExpiry !== undefined) hints.until = Math.min(hints.until ?? Infinity, now.nextExpiry);
  return heldNow(now);
};
