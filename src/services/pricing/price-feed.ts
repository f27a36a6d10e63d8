// priceChanged: a per-subscriber live feed of products' prices, so a
// storefront page shows a new price without reloading. Each product's current
// priceVersion first, then each price-changed event (outbox -> stream ->
// bridge -> pub/sub) newer than what was sent. What the subscriber is shown
// (its group's price, its tiers) is chosen when its update is rendered, from
// the price book: every subscriber of a product shares one read per change.
import { expiresAt, type RequestContext } from "../../auth/viewer.js";
import { NotFoundError, ValidationError } from "../../errors/domain-errors.js";
import type { PubSubBackend } from "../../realtime/pubsub.js";
import { liveFeed } from "../live-feed.js";
import { MAX_SUBSCRIBED_PRODUCTS } from "../live.service.js";
import type { PriceBook } from "./price-book.js";

export interface PriceChange {
  key: string;
  /** Database id. */
  productId: string;
  /** The product's priceVersion this update is for (what it renders may be newer, never older). */
  version: number;
  occurredAt: Date;
}

export async function priceFeed(
  ctx: RequestContext,
  deps: { pubsub: PubSubBackend; book: PriceBook },
  productIds: readonly string[],
): Promise<AsyncIterable<PriceChange>> {
  const ids = [...new Set(productIds)];
  if (ids.length === 0) throw new ValidationError("productIds", "Subscribe to at least one product");
  if (ids.length > MAX_SUBSCRIBED_PRODUCTS)
    throw new ValidationError("productIds", `At most ${MAX_SUBSCRIBED_PRODUCTS} products per subscription`);
  const known = await deps.book.pricing(ids);
  const missing = known.findIndex((p) => !p);
  if (missing >= 0) throw new NotFoundError("Product", ids[missing]!);
  return liveFeed<PriceChange>({
    subscribe: async (onChange) => {
      const offs = await Promise.all(
        ids.map((id) =>
          deps.pubsub.subscribe("price", id, (e) => {
            // Before rendering: the book may not have heard of the change yet (the follower listens on a pattern).
            deps.book.dropOlder(id, e.priceVersion);
            onChange({ key: id, productId: id, version: e.priceVersion, occurredAt: new Date(e.occurredAt) });
          }),
        ),
      );
      return () => offs.forEach((off) => off());
    },
    current: async () => {
      const now = new Date();
      return (await deps.book.pricing(ids)).flatMap((p) =>
        p ? [{ key: p.productId, productId: p.productId, version: p.priceVersion, occurredAt: now }] : [],
      );
    },
    onResync: (listener) => deps.pubsub.onResync(listener),
    expiresAt: expiresAt(ctx),
  });
}
