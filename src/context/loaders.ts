// Per-request DataLoaders: a request batches every lookup of one kind into a
// single query, and caches it for the life of the request only.
import DataLoader from "dataloader";
import type { Services } from "../services/index.js";

export function createLoaders(services: Services) {
  return {
    product: new DataLoader((ids: readonly string[]) => services.products.byIds(ids)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
