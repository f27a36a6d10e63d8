// GraphiQL at /graphql (useGraphiQL, below: a small page, the bundle as
// cached static assets, graphiql-assets.ts) and what it opens with: two Stockwire examples (a products
// query and a stockChanged subscription) instead of Yoga's generic text and,
// in demo mode for this machine's own browser (the rule of /demo/session), the
// demo customer's token in the headers. The token is signed once per process
// (renewed an hour before it expires): GraphiQL matches a visit's tab by its
// query, variables and headers, so a fresh token per visit would open a new tab
// each time.
import type { IncomingMessage } from "node:http";
import { shouldRenderGraphiQL, type GraphiQLOptions, type Plugin } from "graphql-yoga";
import type { Config } from "../config/config.js";
import type { DbClient } from "../db/database.js";
import { toGlobalId } from "../schema/ids.js";
import { createDemoSession, whyRefused } from "./demo-session.js";
import { ASSET_PREFIX, loadGraphiQLBundle, pickEncoding, type GraphiQLBundle } from "./graphiql-assets.js";

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

/** Rate-limit charge per page or asset sent: a point per this many bytes on the wire (at least one). */
export const GRAPHIQL_BYTES_PER_POINT = 10_000;

export interface GraphiQLPluginOptions {
  endpoint: string;
  options: (request: Request, serverContext?: { req?: IncomingMessage }) => Promise<GraphiQLOptions>;
  /** Takes `points` from the asking client's rate-limit bucket; when they are not there, says when to retry. */
  charge: (
    request: Request,
    serverContext: { req?: IncomingMessage },
    points: number,
  ) => Promise<{ retryAfterSeconds: number } | undefined>;
}

/**
 * GraphiQL at GET `endpoint` (Accept: text/html) and its static assets under
 * /graphiql/ (graphiql-assets.ts), in place of Yoga's own GraphiQL plugin,
 * which sends the whole bundle inside every page. Every answer, a 304 too, is
 * charged to the client's cost bucket by the bytes it sends.
 */
export function useGraphiQL(opts: GraphiQLPluginOptions): Plugin {
  let bundle: Promise<GraphiQLBundle> | undefined;
  const load = () => {
    bundle ??= loadGraphiQLBundle();
    bundle.catch(() => (bundle = undefined));
    return bundle;
  };
  const throttled = (retryAfterSeconds: number) =>
    new Response(`Too many GraphiQL downloads: retry in ${retryAfterSeconds} s\n`, {
      status: 429,
      headers: { "content-type": "text/plain; charset=utf-8", "retry-after": String(retryAfterSeconds) },
    });
  const points = (bytes: number) => Math.max(1, Math.ceil(bytes / GRAPHIQL_BYTES_PER_POINT));

  return {
    async onRequest({ request, url, serverContext, endResponse }) {
      if (request.method !== "GET") return;
      const context = serverContext as { req?: IncomingMessage };
      if (url.pathname.startsWith(ASSET_PREFIX)) {
        const asset = (await load()).assets.get(url.pathname.slice(ASSET_PREFIX.length));
        if (!asset) return endResponse(new Response("Not found\n", { status: 404 }));
        const encoding = pickEncoding(request.headers.get("accept-encoding"));
        const headers: Record<string, string> = {
          etag: `"${asset.hash}${encoding === "identity" ? "" : `-${encoding}`}"`,
          // Named by content hash: a new version is a new URL.
          "cache-control": "public, max-age=31536000, immutable",
          vary: "Accept-Encoding",
        };
        if (matchesETag(request.headers.get("if-none-match"), headers.etag!)) {
          const refused = await opts.charge(request, context, 1);
          return endResponse(refused ? throttled(refused.retryAfterSeconds) : new Response(null, { status: 304, headers }));
        }
        const body = await asset.body(encoding);
        const refused = await opts.charge(request, context, points(body.byteLength));
        if (refused) return endResponse(throttled(refused.retryAfterSeconds));
        if (encoding !== "identity") headers["content-encoding"] = encoding;
        return endResponse(new Response(body, { status: 200, headers: { ...headers, "content-type": asset.type } }));
      }
      if (url.pathname !== opts.endpoint || !shouldRenderGraphiQL(request)) return;
      const [page, options] = await Promise.all([load(), opts.options(request, context)]);
      const html = page.page(options);
      const refused = await opts.charge(request, context, points(Buffer.byteLength(html)));
      if (refused) return endResponse(throttled(refused.retryAfterSeconds));
      // Not stored: in demo mode the page carries the demo customer's token.
      endResponse(
        new Response(html, { status: 200, headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } }),
      );
    },
  };
}

/** If-None-Match: any of its tags (weak comparison, as RFC 9110 asks for it) or `*`. */
function matchesETag(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t.replace(/^W\//, "") === etag;
  });
}
