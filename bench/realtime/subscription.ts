// The subscription each bench client sends. The flash sale asks for
// maxUpdatesPerSecond, but only where the API's schema has the argument
// (checked in the committed schema.graphql): an unknown argument would fail
// every subscription, and "absent" is itself a result the report states.
import { readFileSync } from "node:fs";
import path from "node:path";
import { root } from "../lib/harness.js";
import { STOCK_SUBSCRIPTION } from "../lib/subscribers.js";

const SELECTION = "{ product { id sku stock version } stock version delta reason orderId occurredAt }";

export function schemaHasRateArgument(): boolean {
  const schema = readFileSync(path.join(root, "schema.graphql"), "utf8");
  // The arguments run to "): StockChange"; descriptions inside may hold parentheses.
  const args = /stockChanged\s*\(([\s\S]*?)\)\s*:\s*StockChange/.exec(schema)?.[1] ?? "";
  return /^\s*maxUpdatesPerSecond\s*:/m.test(args);
}

export function subscriptionFor(
  maxUpdatesPerSecond: number | undefined,
  rateArgument: boolean,
): { query: string; variables?: Record<string, unknown>; sent: boolean } {
  if (maxUpdatesPerSecond === undefined || !rateArgument) return { query: STOCK_SUBSCRIPTION, sent: false };
  return {
    query: `subscription Stock($ids: [ID!]!, $max: Int) {\n  stockChanged(productIds: $ids, maxUpdatesPerSecond: $max) ${SELECTION}\n}`,
    variables: { max: maxUpdatesPerSecond },
    sent: true,
  };
}
