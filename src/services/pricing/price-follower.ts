// Keeps this process's price book in step with price changes made anywhere:
// each price-changed event (outbox -> stream -> bridge -> pub/sub) drops the
// product's prices, each customer-group change (pub/sub, from the instance
// that made it) the customer's group; a pub/sub reconnect (messages may be
// lost) drops them all.
import type { PubSubBackend } from "../../realtime/pubsub.js";
import { idOfType } from "../../ids/index.js";
import type { PriceBook } from "./price-book.js";

export async function followPriceChanges(pubsub: PubSubBackend, book: PriceBook): Promise<() => void> {
  const offLost = pubsub.onLost(() => book.dropAll());
  const offResync = pubsub.onResync(() => book.dropAll());
  const unsubscribe = await pubsub.subscribeAll("price", (e) => {
    const id = idOfType("Product", e.productId);
    if (id) book.dropProducts([id]);
  });
  const unsubscribeGroups = await pubsub.subscribeAll("customerGroup", (m) => book.dropCustomer(m.customerId));
  return () => {
    offLost();
    offResync();
    unsubscribe();
    unsubscribeGroups();
  };
}
