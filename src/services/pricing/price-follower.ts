// Keeps this process's price book in step with price changes made anywhere:
// each price-changed event (outbox -> stream -> bridge -> pub/sub) drops the
// product's prices; a pub/sub reconnect (events may be lost) drops them all.
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
  return () => {
    offLost();
    offResync();
    unsubscribe();
  };
}
