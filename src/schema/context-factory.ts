// Yoga's context factory: who is asking, then the request's GraphQL context.
// HTTP requests carry the token in a header; graphql-ws connections in
// connection_init's payload ({ authorization: "Bearer …" }) or the upgrade
// request. A bad token is a 401 with code UNAUTHENTICATED.
import { GraphQLError } from "graphql";
import type { YogaInitialContext } from "graphql-yoga";
import type { Viewer } from "../auth/viewer.js";
import { UnauthenticatedError } from "../errors/domain-errors.js";
import type { Services } from "../services/index.js";
import { createGraphQLContext, type GraphQLContext } from "./context.js";

export function contextFactory(readViewer: (header: string | null) => Promise<Viewer>, services: Services) {
  return async (initial: YogaInitialContext): Promise<GraphQLContext> => {
    const { request, connectionParams } = initial as typeof initial & { connectionParams?: Record<string, unknown> };
    const header =
      typeof connectionParams?.authorization === "string" ? connectionParams.authorization : request.headers.get("authorization");
    try {
      const viewer = await readViewer(header);
      return createGraphQLContext({ viewer }, services);
    } catch (err) {
      if (!(err instanceof UnauthenticatedError)) throw err;
      throw new GraphQLError(err.message, { extensions: { code: "UNAUTHENTICATED", http: { status: 401 } } });
    }
  };
}
