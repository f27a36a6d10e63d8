// The envelop plugin that charges every operation to its client's cost bucket
// (cost-buckets.ts), as Shopify's GraphQL APIs do: the requested cost up front,
// refunded down to the actual cost once the result is known. Queries and
// mutations are charged where they execute, subscriptions where they start,
// so HTTP, SSE and graphql-ws all pass through here. A throttled operation
// executes nothing. A document this server has not parsed before is charged
// its parse and validation work on top (documentCost), so a stream of
// different documents is throttled like any other load; repeated documents
// are cached by Yoga and cost nothing more. Every query and mutation result carries
// extensions.cost; over HTTP the RateLimit-Policy / RateLimit headers
// (draft-ietf-httpapi-ratelimit-headers) and, when throttled, 429 with
// Retry-After.
import { GraphQLError, type DocumentNode, type ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { GraphQLContext } from "../schema/context.js";
import { clientOf, type Client } from "./client.js";
import type { Viewer } from "../auth/viewer.js";
import type { Charge, CostBuckets, ThrottleStatus } from "./cost-buckets.js";
import { actualCost, documentCost, requestedCost, unparsableDocumentCost } from "./query-cost.js";
import { documentSize } from "../schema/document-size.js";
import { FanoutSocketStream } from "../fanout/use-live-fanout.js";
import { COMPLEXITY_LIMIT } from "../schema/complexity.js";

export interface CostLimitOptions {
  buckets: CostBuckets;
  /** Subscriptions one client may hold at once (counted in this process). */
  maxSubscriptionsPerClient: number;
  /** The client address of an operation's context (HTTP request or WebSocket upgrade). */
  addressOf(context: object): string;
  /** True for operations that arrived over a transport without HTTP responses of their own (graphql-ws). */
  overSocket(context: object): boolean;
  /** Who sent an HTTP request that was refused before its context existed (anonymous when its token is bad). */
  viewerOf(request: Request): Promise<Viewer>;
  /** Told of every refusal (stockwire_rate_limited_total{limit}). */
  onLimited?: (limit: "cost" | "subscriptions") => void;
}

export interface QueryCost {
  requestedQueryCost: number;
  actualQueryCost: number;
  /** Parsing and validating the document, when this server had not seen it (0 when cached); never refunded. */
  documentCost: number;
  throttleStatus: ThrottleStatus;
}

export function useCostLimit(opts: CostLimitOptions): Plugin<GraphQLContext> {
  const { buckets } = opts;
  const openSubscriptions = new Map<string, number>();
  /** HTTP requests charged where they executed or subscribed. */
  const charged = new WeakSet<Request>();
  /** Parsed documents already charged for (Yoga caches them per query text, so a cache miss is a new object). */
  const known = new WeakSet<DocumentNode>();
  /** Per request (HTTP, or one graphql-ws operation): what parsing and validating its document cost. */
  const documentCosts = new WeakMap<object, number>();
  const takeDocumentCost = (request: object | undefined) => {
    const cost = (request && documentCosts.get(request)) || 0;
    if (request) documentCosts.delete(request);
    return cost;
  };

  // Above the schema's complexity limit an operation is refused before anything resolves
  // (QUERY_TOO_COMPLEX): charged 1 point, so that answer stays what the client sees. Variables
  // the cost cannot be read from fail execution the same way.
  const costOf = (args: Parameters<typeof requestedCost>) => {
    try {
      const cost = requestedCost(...args);
      return cost > COMPLEXITY_LIMIT.complexity ? 1 : cost;
    } catch {
      return 1;
    }
  };

  const clientOfContext = (ctx: GraphQLContext): Client => clientOf(ctx.viewer, opts.addressOf(ctx));

  /** Charges the requested cost and the document's; a refusal is the result to answer with. */
  async function charge(ctx: GraphQLContext, requested: number, client = clientOfContext(ctx)) {
    const request = (ctx as { request?: Request }).request;
    if (request) charged.add(request);
    const document = takeDocumentCost(request);
    return { document, ...(await chargeClient(client, requested, document, opts.overSocket(ctx))) };
  }

  async function chargeClient(
    client: Client,
    requested: number,
    document: number,
    overSocket: boolean,
  ): Promise<{ client: Client; charged: Charge; refusal?: ExecutionResult }> {
    const total = requested + document;
    const charged = await buckets.charge(client, total);
    if (charged.ok) return { client, charged };
    opts.onLimited?.("cost");
    const cost: QueryCost = { requestedQueryCost: requested, actualQueryCost: 0, documentCost: document, throttleStatus: charged.status };
    const retryAfter = Math.max(1, Math.ceil(charged.retryAfterMs / 1000));
    const what = document ? `${total} points (${document} of them for parsing and validating a new document)` : `${total} points`;
    const message =
      total > charged.status.maximumAvailable
        ? `Throttled: this operation costs ${what}, more than your bucket holds (${charged.status.maximumAvailable}); ask for less`
        : `Throttled: this operation costs ${what} and ${charged.status.currentlyAvailable} are available; retry in ${retryAfter} s`;
    const error = new GraphQLError(message, { extensions: { code: "THROTTLED", cost } });
    const refusal: ExecutionResult = { errors: [error], extensions: { cost } };
    if (!overSocket) {
      refusal.extensions!.http = {
        status: 429,
        headers: { ...headers(charged.status, charged.msToFull), "Retry-After": String(retryAfter) },
      };
    }
    return { client, charged, refusal };
  }

  return {
    // Whether this request's document is new to this server: Yoga's cache hands back the same parsed
    // document for the same text, so a document not seen before was parsed (and will be validated) now.
    onParse({ context, params }) {
      const request = (context as { request?: Request }).request;
      if (!request) return;
      return ({ result }) => {
        if (result instanceof Error) documentCosts.set(request, unparsableDocumentCost(String(params.source)));
        else if (result && !known.has(result)) {
          known.add(result);
          documentCosts.set(request, documentCost(documentSize(result)));
        }
      };
    },
    // Refused before executing (unparsable, invalid, a bad token): 1 point and the document's cost, so a flood
    // of bad requests is throttled as well, and the answer carries extensions.cost like any other.
    async onResultProcess({ request, result, setResult, serverContext }) {
      if (charged.has(request) || Array.isArray(result) || isAsyncIterable(result)) return;
      const viewer = await opts.viewerOf(request).catch((): Viewer => ({ kind: "anonymous" }));
      const client = clientOf(viewer, opts.addressOf(serverContext));
      const document = takeDocumentCost(request);
      const { charged: c, refusal } = await chargeClient(client, 1, document, false);
      if (refusal) return setResult(refusal);
      const cost: QueryCost = { requestedQueryCost: 1, actualQueryCost: 1, documentCost: document, throttleStatus: c.status };
      setResult({
        ...result,
        extensions: {
          ...result.extensions,
          cost,
          http: { ...result.extensions?.http, headers: { ...result.extensions?.http?.headers, ...headers(c.status, c.msToFull) } },
        },
      });
    },
    async onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue;
      const requested = costOf([args.schema, args.document, args.operationName, args.variableValues]);
      const { client, charged, refusal, document } = await charge(ctx, requested);
      if (refusal) return setResultAndStopExecution(refusal);
      return {
        async onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result)) return; // incremental delivery: not enabled in this API
          const actual = actualCost(args.document, args.operationName, result.data);
          const { status, msToFull } = await buckets.refund(client, requested - actual, charged);
          const cost: QueryCost = {
            requestedQueryCost: requested,
            actualQueryCost: actual,
            documentCost: document,
            throttleStatus: status,
          };
          const extensions: Record<string, unknown> = { ...result.extensions, cost };
          if (!opts.overSocket(ctx)) extensions.http = { headers: headers(status, msToFull) };
          setResult({ ...result, extensions });
        },
      };
    },
    async onSubscribe({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue;
      const requested = costOf([args.schema, args.document, args.operationName, args.variableValues]);
      const client = clientOfContext(ctx);
      // Held from here: concurrent subscribes from one client must not all pass the check.
      const held = openSubscriptions.get(client.key) ?? 0;
      if (held >= opts.maxSubscriptionsPerClient) {
        opts.onLimited?.("subscriptions");
        return setResultAndStopExecution({
          errors: [
            new GraphQLError(`At most ${opts.maxSubscriptionsPerClient} subscriptions at once per client`, {
              extensions: { code: "TOO_MANY_SUBSCRIPTIONS" },
            }),
          ],
        });
      }
      openSubscriptions.set(client.key, held + 1);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        const left = (openSubscriptions.get(client.key) ?? 1) - 1;
        if (left > 0) openSubscriptions.set(client.key, left);
        else openSubscriptions.delete(client.key);
      };
      let refusal: ExecutionResult | undefined;
      try {
        ({ refusal } = await charge(ctx, requested, client));
      } catch (err) {
        release();
        throw err;
      }
      if (refusal) {
        release();
        return setResultAndStopExecution(refusal);
      }
      return {
        // A subscription that did not start (e.g. not found, forbidden) gives its place back at once.
        onSubscribeResult: ({ result }) => {
          if (!isAsyncIterable(result)) return release();
          // The fan-out hands graphql-ws its own stream, past envelop's onEnd: it says itself when it ends.
          if (result instanceof FanoutSocketStream) return result.onEnd(release);
          return { onEnd: release };
        },
      };
    },
  };
}

/** RateLimit-Policy / RateLimit (draft-ietf-httpapi-ratelimit-headers): the bucket as quota q over window w, r left, full in t s. */
function headers(status: ThrottleStatus, msToFull: number): Record<string, string> {
  const window = Math.max(1, Math.round(status.maximumAvailable / status.restoreRate));
  return {
    "RateLimit-Policy": `"cost";q=${status.maximumAvailable};w=${window}`,
    RateLimit: `"cost";r=${Math.floor(status.currentlyAvailable)};t=${Math.ceil(msToFull / 1000)}`,
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === "function";
}
