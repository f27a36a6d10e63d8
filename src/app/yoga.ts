// The API's Yoga instance: the schema, how errors, CORS and bodies are
// handled, and the context, with the plugins of app/plugins.ts. One place, so
// buildApp only wires it to the HTTP server and graphql-ws.
import { createYoga, type YogaLogger, type YogaServerInstance } from "graphql-yoga";
import { schema } from "../schema/index.js";
import type { GraphQLContext } from "../schema/context.js";
import { contextFactory } from "../schema/context-factory.js";
import { maskError } from "../schema/mask-error.js";
import { corsFor } from "./http-server.js";
import { yogaPlugins, type PluginDeps } from "./plugins.js";

export type ApiYoga = YogaServerInstance<Record<string, never>, GraphQLContext>;

export function createApiYoga(d: PluginDeps & { logger: YogaLogger }): ApiYoga {
  return createYoga<Record<string, never>, GraphQLContext>({
    schema,
    logging: d.config.logLevel === "silent" ? false : d.logger,
    graphqlEndpoint: "/graphql",
    healthCheckEndpoint: "/health",
    landingPage: false,
    // Served by useGraphiQL (app/plugins.ts: cached static assets, rate-limited), from the local bundle, not a CDN.
    graphiql: false,
    // Unexpected errors reach clients as "Unexpected error." only; the cause is logged.
    maskedErrors: { maskError },
    // Counted by useRequestBodyLimit instead (cheaper for bodies with a Content-Length).
    maxRequestBodySize: false,
    cors: corsFor(d.config.corsOrigins),
    context: contextFactory(d.readViewer, d.services),
    plugins: yogaPlugins(d),
  });
}
