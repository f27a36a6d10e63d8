// graphql-ws operations through the same Yoga pipeline as HTTP (getEnveloped:
// context and auth, limits, masked errors), on the WebSocket server of the
// API's HTTP server. Here: how an operation is set up (parse, validate, the
// subscription cap per connection, the context the fan-out writes frames
// through) and how graphql-ws executes it; the socket protocol and the
// connection limits are ws-server.ts'.
import type { Server } from "node:http";
import { WebSocketServer } from "ws";
import { getOperationAST, GraphQLError, type DocumentNode, type OperationDefinitionNode } from "graphql";
import type { Context, SubscribePayload } from "graphql-ws";
import type { YogaServerInstance } from "graphql-yoga";
import type { GraphQLContext } from "../schema/context.js";
import type { LiveSocket } from "./use-live-fanout.js";
import { SubscriptionCounts } from "./subscription-counts.js";
import { serveGraphQLWs, type Extra, type UpgradeRequest } from "./ws-server.js";

type Yoga = Pick<YogaServerInstance<Record<string, never>, GraphQLContext>, "getEnveloped" | "graphqlEndpoint">;
type WsContext = Context<Record<string, unknown> | undefined, Extra>;

export interface WsOperationsOptions {
  yoga: Yoga;
  server: Server;
  /** Messages above it are refused: ws closes the socket with 1009. */
  maxPayloadBytes: number;
  maxSubscriptionsPerConnection: number;
  /** Connections per client address; 0 = no cap. */
  maxConnectionsPerAddress: number;
  /** Addresses the connection cap does not apply to. */
  uncapped?: (address: string) => boolean;
  /** Whether an Authorization value (connection_init's or the upgrade request's) is a good token. */
  verify(authorization: unknown): Promise<boolean>;
  addressOf(request: UpgradeRequest): string;
  log?: (line: string) => void;
}

export function serveWsOperations(o: WsOperationsOptions) {
  const wsServer = new WebSocketServer({ server: o.server, path: o.yoga.graphqlEndpoint, maxPayload: o.maxPayloadBytes });
  const counts = new SubscriptionCounts();
  const ws = serveGraphQLWs(
    {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- graphql-ws types rootValue as unknown; onSubscribe puts Yoga's execute there
      execute: (args: any) => args.rootValue.execute(args),
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above, and the fields let go below are not optional in ExecutionArgs
      subscribe: async (args: any) => {
        const result = await args.rootValue.subscribe(args);
        const own = (args.contextValue as { liveSocket?: LiveSocket }).liveSocket?.served;
        if (!own) return result;
        // A fan-out subscription is served without these: let them go (memory per socket).
        for (const key of ["contextValue", "rootValue", "document", "variableValues"]) args[key] = undefined;
        return own;
      },
      // A bad token (in connection_init or the upgrade request) closes the connection with 4403 before any operation.
      onConnect: async (ctx) => {
        const auth = ctx.connectionParams?.authorization ?? ctx.extra.request.headers.authorization;
        return auth === undefined ? true : o.verify(auth);
      },
      onComplete: (ctx, id) => counts.release(ctx, id),
      onSubscribe: (ctx, id, params) => setUp(o, counts, ctx, id, params),
    },
    wsServer,
    {
      keepAliveMs: 12_000,
      connectionInitMs: 10_000,
      maxConnectionsPerAddress: o.maxConnectionsPerAddress,
      uncapped: o.uncapped,
      verifyUpgrade: (request) => o.verify(request.headers.authorization),
      addressOf: o.addressOf,
      log: o.log,
    },
  );
  return {
    dispose: () => ws.dispose(),
    /** Open WebSocket connections. */
    connections: () => wsServer.clients.size,
    /** Root field -> subscriptions running. */
    subscriptions: counts.active as ReadonlyMap<string, number>,
  };
}

/** graphql-ws' onSubscribe: the operation's execution arguments, or the errors it is refused with (the socket stays open). */
async function setUp(o: WsOperationsOptions, counts: SubscriptionCounts, ctx: WsContext, id: string, params: SubscribePayload) {
  // POST: Yoga refuses mutations in GET requests, and a socket carries mutations too.
  const request = new Request(`http://localhost${ctx.extra.request.url ?? "/"}`, {
    method: "POST",
    headers: Object.entries(ctx.extra.request.headers).flatMap(([k, v]): [string, string][] => (typeof v === "string" ? [[k, v]] : [])),
  });
  const { schema, execute, subscribe, contextFactory, parse, validate } = o.yoga.getEnveloped({
    ...ctx,
    request,
    connectionParams: ctx.connectionParams,
    params,
  });
  // Refusals are this operation's errors, with a code as over HTTP.
  let document: DocumentNode;
  try {
    document = parse(params.query);
  } catch (err) {
    return [withCode(err, "GRAPHQL_PARSE_FAILED")];
  }
  let errors: readonly GraphQLError[];
  try {
    errors = validate(schema, document);
  } catch (err) {
    errors = [err as GraphQLError];
  }
  if (errors.length) return errors.map((e) => withCode(e, "GRAPHQL_VALIDATION_FAILED"));
  // Subscriptions are capped per connection; queries and mutations over the socket are not. Held from
  // here (subscribes on one socket run concurrently); graphql-ws calls onComplete only for operations
  // that ran, so a refusal below gives the place back itself.
  const operation = getOperationAST(document, params.operationName);
  const max = o.maxSubscriptionsPerConnection;
  if (operation?.operation === "subscription" && !counts.hold(ctx, id, rootField(operation), max)) {
    return [new GraphQLError(`At most ${max} subscriptions at once per connection`, { extensions: { code: "TOO_MANY_SUBSCRIPTIONS" } })];
  }
  let contextValue;
  try {
    contextValue = await contextFactory();
  } catch (err) {
    counts.release(ctx, id);
    return [err instanceof GraphQLError ? err : new GraphQLError("Unexpected error.")];
  }
  // Lets the fan-out write this operation's stockChanged frames to the socket itself.
  const liveSocket: LiveSocket = { socket: ctx.extra.socket, id, address: o.addressOf(ctx.extra.request), served: undefined };
  Object.assign(contextValue, { liveSocket });
  return {
    schema,
    operationName: params.operationName,
    document,
    variableValues: params.variables,
    contextValue,
    rootValue: { execute, subscribe },
  };
}

function rootField(operation: OperationDefinitionNode): string {
  const root = operation.selectionSet.selections[0];
  return root?.kind === "Field" ? root.name.value : "unknown";
}

/** A parse or validation failure as a client error with a code (its own, if it has one); anything else is masked. */
function withCode(err: unknown, code: string): GraphQLError {
  if (!(err instanceof GraphQLError)) return new GraphQLError("Unexpected error.", { extensions: { code: "INTERNAL_SERVER_ERROR" } });
  return err.extensions.code ? err : new GraphQLError(err.message, { nodes: err.nodes, extensions: { ...err.extensions, code } });
}
