// What every resolver receives: the caller, the services and this request's loaders.
import type { Services } from "../services/index.js";
import type { StockFeed } from "../services/live.service.js";
import { createLoaders, type Loaders } from "./loaders.js";
import type { ReadFrom, RequestContext } from "../auth/viewer.js";

export interface GraphQLContext extends RequestContext {
  services: Services;
  readonly loaders: Loaders;
  /**
   * Set by the stockChanged resolver: the validated feed, which the shared
   * fan-out (src/fanout) takes over instead of executing per subscriber.
   */
  stockFeed?: StockFeed;
  /**
   * Set by the response cache (schema/response-cache) on operations it may share: a resolver whose
   * answer changes with time alone, with no event to say so, sets `varies` (not shared) or `until`
   * (shared until then, ms since the epoch).
   */
  cacheHints?: { varies: boolean; until?: number };
}

export function createGraphQLContext(rc: RequestContext, services: Services): GraphQLContext {
  return { ...rc, services, loaders: createLoaders(services, rc) };
}

/** What a read-only operation's context is extended with: its reads, the loaders' too, may go to a replica. */
export function readOnlyContext(ctx: GraphQLContext, readFrom: ReadFrom): Pick<GraphQLContext, "readFrom" | "loaders"> {
  return { readFrom, loaders: createLoaders(ctx.services, { viewer: ctx.viewer, readFrom }) };
}
