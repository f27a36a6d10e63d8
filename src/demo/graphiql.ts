// What GraphiQL at /graphql opens with: two Stockwire examples (a products
// query and a stockChanged subscription) instead of Yoga's generic text and,
// in demo mode for this machine's own browser (the rule of /demo/session), the
// demo customer's token in the headers. The token is signed once per process
// (renewed an hour before it expires): GraphiQL matches a visit's tab by its
// query, variables and headers, so a fresh token per visit would open a new tab
// each time.
import type { IncomingMessage } from "node:http";
import type { GraphiQLOptions } from "graphql-yoga";
import type { Config } from "../config/config.js";
import type { DbClient } from "../db/database.js";
import { toGlobalId } from "../schema/ids.js";
import { createDemoSession, whyRefused } from "./demo-session.js";

export const PRODUCTS_EXAMPLE = `# Stockwire: the catalogue. Press the run button (or Ctrl+Enter).
query Products {
  products(first: 5, inStock: true) {
    edges {
      node {
        id
        sku
        name
        stock
        version
      }
    }
  }
}
`;

/** `ids`: products to watch (global IDs); the first products of the catalogue when it has any. */
export const stockChangedExample = (ids: string[]) => `# Live stock: first each product's CURRENT count, then every change as it commits.
# Run it, then order or restock in the storefront at / (or use IDs from the Products tab).
subscription StockChanged {
  stockChanged(productIds: ${JSON.stringify(ids.length ? ids : ["<a product ID>"])}) {
    product {
      name
    }
    stock
    delta
    reason
    occurredAt
  }
}
`;

const RENEW_BEFORE_EXPIRY_MS = 60 * 60_000;
const TOKEN_LIFETIME_MS = 12 * 60 * 60_000; // signToken's default

export function graphiqlOptions(deps: { config: Config; prisma: DbClient }) {
  let demoHeaders: { value: Promise<string>; renewAt: number } | undefined;
  const headersFor = (): Promise<string> => {
    if (!demoHeaders || Date.now() > demoHeaders.renewAt) {
      const value = createDemoSession(deps.prisma, deps.config.jwt.secret).then((s) =>
        JSON.stringify({ Authorization: `Bearer ${s.customer.token}` }, null, 2),
      );
      demoHeaders = { value, renewAt: Date.now() + TOKEN_LIFETIME_MS - RENEW_BEFORE_EXPIRY_MS };
      value.catch(() => (demoHeaders = undefined)); // try again on the next visit
    }
    return demoHeaders.value;
  };

  return async (request: Request, serverContext?: { req?: IncomingMessage }): Promise<GraphiQLOptions> => {
    const watched = await deps.prisma.product
      .findMany({ select: { id: true }, where: { stock: { gt: 0 } }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], take: 3 })
      .catch(() => []);
    const options: GraphiQLOptions = {
      title: "Stockwire GraphiQL",
      defaultTabs: [{ query: PRODUCTS_EXAMPLE }, { query: stockChangedExample(watched.map((p) => toGlobalId("Product", p.id))) }],
    };
    if (!deps.config.demo || whyRefused(request, serverContext?.req)) return options;
    const headers = await headersFor().catch(() => undefined);
    return headers ? { ...options, headers, defaultTabs: options.defaultTabs!.map((tab) => ({ ...tab, headers })) } : options;
  };
}
