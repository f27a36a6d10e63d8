// What every resolver receives: the caller, the services and this request's loaders.
import type { Services } from "../services/index.js";
import { createLoaders, type Loaders } from "./loaders.js";
import type { RequestContext } from "../auth/viewer.js";

export interface GraphQLContext extends RequestContext {
  services: Services;
  loaders: Loaders;
}

export function createGraphQLContext(rc: RequestContext, services: Services): GraphQLContext {
  return { ...rc, services, loaders: createLoaders(services) };
}
