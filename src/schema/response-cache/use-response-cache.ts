// Catalogue reads from memory: @graphql-yoga/plugin-response-cache over the EntityCache, plus the
// rules that make a shared answer safe and exact here:
// - only anonymous HTTP requests (no Authorization header) read or fill it, and only queries whose
//   root fields are the catalogue's (product, products, node, nodes); results with a viewer's types
//   (orders, holds, customers, the ledger) are never stored. Authenticated viewers always execute,
//   so read-your-writes (the LSN rule, read-routing.ts) is untouched;
// - a mutation on this instance invalidates what it may have changed before its response leaves
//   (entities.ts); other instances' changes arrive on the stream (stream-watch.ts);
// - an answer that changes with time alone (a product with holds: they lapse before any event says
//   so) is not stored;
// - anonymous GET answers get Cache-Control with a short max-age and an ETag of their body, and
//   If-None-Match is answered 304; everything else on /graphql is `private, no-store`.
// A cached answer does not execute: the cost limit charges it 1 point (as a request refused before
// executing), so its extensions.cost says 1.
import { createHash } from "node:crypto";
import {
  getArgumentValues,
  getOperationAST,
  Kind,
  visit,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import { useResponseCache } from "@graphql-yoga/plugin-response-cache";
import type { GraphQLContext } from "../context.js";
import type { CatalogChangedMessage } from "../../realtime/pubsub.js";
import { isBlobLike } from "../../services/bulk-import.service.js";
import type { CacheEntity, EntityCache } from "./entity-cache.js";
import { mutationEntities, PRODUCT_LISTS, PRODUCTS_BY_STOCK, type MutationTouch } from "./entities.js";

/** Root fields whose answers are the same for every anonymous viewer. */
const SHARED_ROOT_FIELDS = new Set(["product", "products", "node", "nodes"]);
/** Types that belong to a viewer: a result holding one is not stored (anonymous viewers get errors or null there anyway). */
const VIEWER_TYPES = ["Customer", "Order", "OrderItem", "Hold", "HoldLine", "WaitlistEntry", "StockMovement", "OrderStatusChange"];
const SERVED_FROM_CACHE = Symbol.for("servedFromResponseCache");

/** The response cache's notes on one operation, on its context (resolvers set `varies`). */
export interface CacheHints extends NonNullable<GraphQLContext["cacheHints"]> {
  startedAt: number;
  dependsOn: CacheEntity[];
}

export interface CatalogueCacheOptions {
  cache: EntityCache;
  ttlMs: number;
  httpMaxAgeSeconds: number;
  graphqlEndpoint: string;
  /** Tells the other instances of changes no stock event carries (updateProduct, mutations without a rule). */
  announce(message: CatalogChangedMessage): void;
}

/** The plugins, in order: the rules, the response cache, HTTP caching. Place after graphql-jit (it wraps its execute). */
export function useCatalogueCache(opts: CatalogueCacheOptions): Plugin[] {
  const { cache } = opts;
  const shareable = new WeakSet<Request>();
  const anonymousHttp = (request: Request, context: object) => !request.headers.has("authorization") && !("connectionParams" in context);
  return [
    useCacheRules(opts, anonymousHttp, shareable),
    useResponseCache({
      cache,
      session: () => null,
      buildResponseCacheKey: ({ request, context, ...key }) =>
        anonymousHttp(request, context as object) ? responseCacheKey(key) : PRIVATE_KEY,
      enabled: anonymousHttp,
      ttl: opts.ttlMs,
      ignoredTypes: VIEWER_TYPES,
      // Mutations come from signed-in viewers, for whom the cache is off: useCacheRules invalidates.
      invalidateViaMutation: false,
      includeExtensionMetadata: false,
      onTtl: ({ ttl, context }) => {
        const ctx = context as GraphQLContext & { request?: Request };
        const hints = ctx.cacheHints as CacheHints | undefined;
        if (!hints || hints.varies) {
          cache.prepareStore(undefined);
          return 0;
        }
        const left = hints.until === undefined ? ttl : Math.min(ttl, hints.until - Date.now());
        if (!(left > 0)) {
          cache.prepareStore(undefined);
          return 0;
        }
        const request = ctx.request;
        cache.prepareStore({ startedAt: hints.startedAt, dependsOn: hints.dependsOn, stored: () => request && shareable.add(request) });
        return left;
      },
    }),
    useHttpCaching(opts, shareable),
  ];
}

/** The key of every request the cache is off for: the plugin builds one for each request before it asks `enabled`. */
export const PRIVATE_KEY = "private";

/**
 * The plugin's key, hashed in line: its default is a WebCrypto SHA-256, asynchronous, a thread-pool
 * job per request (a profile of misses put it near a tenth of the API's CPU). An uploaded file in
 * the variables counts as its name and size: stringified, Yoga's File gives its bytes as an array
 * of numbers (a 6 MB upload held the loop for 130 ms and its memory for longer).
 */
export function responseCacheKey(params: { documentString: string; operationName?: string | null; variableValues?: unknown }): string {
  const variables = JSON.stringify(params.variableValues ?? {}, (_key, value: unknown) =>
    isBlobLike(value) ? { file: value.name ?? "", size: value.size } : value,
  );
  return createHash("sha256")
    .update(`${params.documentString}|${params.operationName ?? ""}|${variables}`)
    .digest("base64url");
}

function useCacheRules(
  opts: CatalogueCacheOptions,
  anonymousHttp: (request: Request, context: object) => boolean,
  shareable: WeakSet<Request>,
): Plugin {
  return {
    onResultProcess({ request, result }) {
      if (result && (result as Record<symbol, unknown>)[SERVED_FROM_CACHE]) shareable.add(request);
    },
    onExecute({ args, extendContext }) {
      const ctx = args.contextValue as unknown as GraphQLContext & { request?: Request };
      const operation = getOperationAST(args.document, args.operationName);
      // Anonymous callers write nothing (their mutations are refused): no cause to drop anything.
      if (operation?.operation === "mutation" && ctx.viewer.kind !== "anonymous") {
        return { onExecuteDone: () => invalidateAfter(opts, args.schema, operation, args.variableValues ?? {}) };
      }
      if (operation?.operation !== "query" || ctx.viewer.kind !== "anonymous" || !ctx.request || !anonymousHttp(ctx.request, ctx)) return;
      if (!operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && SHARED_ROOT_FIELDS.has(s.name.value))) return;
      opts.cache.stats.misses++;
      const hints: CacheHints = {
        varies: false,
        startedAt: opts.cache.clock(),
        dependsOn: dependencies(args.document),
      };
      extendContext({ cacheHints: hints } as object);
    },
  };
}

/** Before the mutation's response: what it may have changed, here and (when no event says so) on the other instances. */
function invalidateAfter(opts: CatalogueCacheOptions, schema: GraphQLSchema, operation: OperationDefinitionNode, variables: object) {
  const fields = schema.getMutationType()?.getFields() ?? {};
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) {
      opts.cache.clear();
      opts.announce({ entities: [], all: true });
      continue;
    }
    let touch: MutationTouch;
    try {
      const field = fields[selection.name.value];
      touch = mutationEntities(
        selection.name.value,
        field ? getArgumentValues(field, selection, variables as Record<string, unknown>) : {},
      );
    } catch {
      continue; // arguments that do not coerce: the field did not run
    }
    if (touch.all) {
      opts.cache.clear();
      opts.announce({ entities: [], all: true });
      continue;
    }
    opts.cache.invalidate(touch.entities);
    if (touch.announce)
      opts.announce({ entities: touch.entities.map(({ typename, id }) => ({ typename, ...(id != null && { id: String(id) }) })) });
  }
}

/**
 * What a page depends on beyond the products it shows (the plugin records only entities with an id,
 * and the type of a null or empty field): which products are in it (PRODUCT_LISTS) and, filtered
 * by stock or counted, every product's stock (PRODUCTS_BY_STOCK).
 */
function dependencies(document: DocumentNode): CacheEntity[] {
  const found = new Set<CacheEntity>();
  visit(document, {
    Field(node) {
      if (node.name.value === "products") found.add(PRODUCT_LISTS);
      if (node.name.value === "totalCount" || (node.name.value === "products" && node.arguments?.some((a) => a.name.value === "inStock"))) {
        found.add(PRODUCTS_BY_STOCK);
      }
    },
  });
  return [...found];
}

/** Cache-Control, ETag and 304 for CDNs and caching proxies (README, Operations). */
function useHttpCaching(opts: CatalogueCacheOptions, shareable: WeakSet<Request>): Plugin {
  return {
    async onResponse({ request, response, setResponse, fetchAPI }) {
      if (new URL(request.url).pathname !== opts.graphqlEndpoint) return;
      // Subscriptions over SSE keep Yoga's own headers.
      if (response.headers.get("content-type")?.startsWith("text/event-stream")) return;
      // The plugin's own ETag is the cache key (the same for every version of the answer): never sent.
      response.headers.delete("etag");
      response.headers.delete("last-modified");
      const isPublic =
        request.method === "GET" && response.status === 200 && shareable.has(request) && !request.headers.has("authorization");
      if (!isPublic) {
        response.headers.set("cache-control", "private, no-store");
        return;
      }
      // Without extensions: extensions.cost is this client's budget, not part of the shared answer.
      const { extensions: _extensions, ...shared } = JSON.parse(await response.text()) as Record<string, unknown>;
      const body = JSON.stringify(shared);
      const etag = `W/"${createHash("sha1").update(body).digest("base64url")}"`;
      const headers = new fetchAPI.Headers(response.headers);
      headers.set("cache-control", `public, max-age=${opts.httpMaxAgeSeconds}`);
      headers.set("etag", etag);
      headers.append("vary", "Authorization");
      // Per client: a shared cache must not hand one client's budget to another.
      headers.delete("ratelimit");
      headers.delete("ratelimit-policy");
      const match = request.headers
        .get("if-none-match")
        ?.split(",")
        .some((tag) => tag.trim() === etag || tag.trim() === "*");
      setResponse(match ? new fetchAPI.Response(null, { status: 304, headers }) : new fetchAPI.Response(body, { status: 200, headers }));
    },
  };
}
