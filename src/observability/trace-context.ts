// A stock change's trace context on its way from placeOrder to the sockets:
// captured where the change is written (stored with its outbox row), carried
// as Kafka message headers and inside the Redis payload, and continued by the
// relay, the bridge and the fan-out. A carrier is what the propagators write
// (W3C `traceparent`, `tracestate`), so it maps onto Kafka headers as is.
//
// Only @opentelemetry/api here: with tracing off (tracing.ts never started)
// every helper answers undefined after one boolean check, and nothing is
// allocated on the order and delivery paths.
import { ROOT_CONTEXT, SpanKind, context, propagation, trace, type Context, type Link, type Span } from "@opentelemetry/api";
import { suppressTracing } from "@opentelemetry/core";

export type TraceCarrier = Record<string, string>;

let enabled = false;

/** Called by startTracing() once a tracer provider is registered (per thread: each has its own module instance). */
export function enableTraceContext(): void {
  enabled = true;
}

export const tracingEnabled = (): boolean => enabled;

export const tracer = () => trace.getTracer("stockwire");

/** The active span's context as a carrier, or undefined (tracing off, or no span active). */
export function activeTraceCarrier(): TraceCarrier | undefined {
  if (!enabled || !trace.getActiveSpan()) return undefined;
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? carrier : undefined;
}

/** The context a carrier continues, or undefined when it carries none. */
export function contextOf(carrier: TraceCarrier | null | undefined): Context | undefined {
  if (!enabled || !carrier?.traceparent) return undefined;
  const ctx = propagation.extract(ROOT_CONTEXT, carrier);
  return trace.getSpanContext(ctx) ? ctx : undefined;
}

/** A link to the span a carrier names (for a span that handles many changes at once and can have one parent only). */
export function linkTo(carrier: TraceCarrier | null | undefined): Link | undefined {
  const ctx = contextOf(carrier);
  const spanContext = ctx && trace.getSpanContext(ctx);
  return spanContext ? { context: spanContext } : undefined;
}

/**
 * A span continuing the change's trace (a child of the carrier's span), or
 * undefined when the change carries no context: callers then do nothing.
 */
export function continueTrace(
  name: string,
  carrier: TraceCarrier | null | undefined,
  opts: { kind?: SpanKind; attributes?: Record<string, string | number>; links?: Link[] } = {},
): Span | undefined {
  const parent = contextOf(carrier);
  return parent && tracer().startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, ...opts }, parent);
}

/** The carrier of a span (for passing it on). */
export function carrierOf(span: Span): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return carrier;
}

/** Runs fn with `span` active (so instrumented clients put their spans under it). */
export const withSpan = <T>(span: Span, fn: () => T): T => context.with(trace.setSpan(context.active(), span), fn);

/**
 * Runs fn with automatic instrumentation suppressed: for a batch whose
 * messages carry contexts of their own, which a library span (kafkajs' per
 * message "send", parented on whatever is active) would overwrite.
 */
export const withoutLibrarySpans = <T>(fn: () => T): T => (enabled ? context.with(suppressTracing(context.active()), fn) : fn());

export { SpanKind };
