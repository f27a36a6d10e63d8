// What every resolver receives: the caller, the services and this request's loaders.
import type { Services } from "../services/index.js";
import type { StockWatchRequest } from "../services/live.service.js";
import { createLoaders, type Loaders } from "./loaders.js";
import type { ReadFrom, RequestContext } from "../auth/viewer.js";

export interface GraphQLContext extends RequestContext {
  services: Services;
  readonly loaders: Loaders;
  /**
   * Set by the response cache (schema/response-cache) on operations it may share: a resolver whose
   * answer changes with time alone, with no event to say so, sets `varies` (not shared) or `until`
   * (shared until then, ms since the epoch).
   */
  cacheHints?: { varies: boolean; until?: number };
  /** The shared fan-out's hand-off, put here by its plugin (fanout/use-live-fanout.ts) for each subscription. */
  live?: LiveHandoff;
}

/**
 * How the stockChanged resolver hands its validated request to the shared
 * fan-out (src/fanout implements it), which then serves the subscriber
 * instead of executing per subscriber.
 */
export interface LiveHandoff {
  /** Takes `request` over; the stream returned is never iterated (the fan-out replaces it before). */
  serve(request: StockWatchRequest): AsyncIterable<never>;
}

export function createGraphQLContext(rc: RequestContext, services: Services): GraphQLContext {
  return { ...rc, services, loaders: createLoaders(services, rc) };
}

/** What a read-only operation's context is extended with: its reads, the loaders' too, may go to a replica. */
export function readOnlyContext(ctx: GraphQLContext, readFrom: ReadFrom): Pick<GraphQLContext, "readFrom" | "loaders"> {
  return { readFrom, loaders: createLoaders(ctx.services, { viewer: ctx.viewer, readFrom }) };
}
