// A change's trace through the relay and the bridge. Each message that
// carries a trace context gets a span of its own in that trace (a child of
// the span that wrote it), and passes that span on: the relay in the Kafka
// message's headers, the bridge in the Redis payload. Both handle batches of
// changes from many traces, so a span per batch could have one parent only;
// per message, every change stays in the trace of the order that caused it.
// With tracing off, or for a change without context, nothing is done.
import { SpanStatusCode, type Span } from "@opentelemetry/api";
import {
  SpanKind,
  carrierOf,
  continueTrace,
  tracingEnabled,
  withSpan,
  withoutLibrarySpans,
  type TraceCarrier,
} from "../observability/trace-context.js";
import type { StreamMessage } from "./stream.js";

/**
 * Publishes outbox messages to the stream with a PRODUCER span per traced
 * message. kafkajs' own instrumentation is suppressed for the batch: it would
 * give every message a "send" span under the one context active at sendBatch
 * and overwrite the headers with it, moving each change out of its order's trace.
 */
export async function publishTraced(messages: StreamMessage[], publish: (messages: StreamMessage[]) => Promise<void>): Promise<void> {
  if (!tracingEnabled()) return publish(messages);
  const spans: Span[] = [];
  const traced = messages.map((m) => {
    const span = continueTrace(`publish ${m.topic}`, m.headers, {
      kind: SpanKind.PRODUCER,
      attributes: { "messaging.system": "kafka", "messaging.destination.name": m.topic, "messaging.kafka.message.key": m.key },
    });
    if (!span) return m;
    spans.push(span);
    return { ...m, headers: carrierOf(span) };
  });
  try {
    await withoutLibrarySpans(() => publish(traced));
  } catch (err) {
    for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR, message: String(err) });
    throw err;
  } finally {
    for (const span of spans) span.end();
  }
}

/**
 * Runs the bridge's publish of one message inside a span continuing the
 * message's trace (so the Redis command is traced under it); `publish` gets
 * the carrier to embed in the payload, undefined when the message has none.
 */
export function bridgeTraced(m: StreamMessage, publish: (traceContext: TraceCarrier | undefined) => Promise<void>): Promise<void> {
  const span = continueTrace(`bridge ${m.topic}`, m.headers, {
    kind: SpanKind.CONSUMER,
    attributes: { "messaging.system": "kafka", "messaging.destination.name": m.topic, "messaging.kafka.message.key": m.key },
  });
  if (!span) return publish(undefined);
  return withSpan(span, () => publish(carrierOf(span))).then(
    () => span.end(),
    (err) => {
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(err) });
      span.end();
      throw err;
    },
  );
}
