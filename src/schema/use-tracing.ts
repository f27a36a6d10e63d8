// GraphQL operations as spans (@envelop/opentelemetry), added by buildApp only
// when tracing is on: with it off, no hook runs per request. Queries and
// mutations get one span each (under the HTTP request's span), and resolvers
// run inside it, so their database and Redis spans and a placed order's trace
// context (stored with its outbox rows) belong to the operation.
//
// Not per subscription: a span as long as the socket would be exported only
// when it closes, and the fan-out's streams bypass envelop's end hooks, so it
// would never end. Each delivery of a stock change is traced instead, in the
// trace of the order that caused it (src/fanout).
import { useOpenTelemetry } from "@envelop/opentelemetry";
import { SpanKind, trace } from "@opentelemetry/api";
import type { Plugin } from "graphql-yoga";

export function useTracing(): Plugin {
  const { onSubscribe: _perSubscription, ...plugin } = useOpenTelemetry(
    // No variables or results on spans: they hold customers' data. Documents only when they hold no inline values.
    { resolvers: false, variables: false, result: false, document: true },
    trace.getTracerProvider(),
    SpanKind.INTERNAL,
    {},
    "stockwire-graphql",
  );
  return plugin as Plugin;
}
