// An outbox row as the services write it: the relay publishes `payload` under `topic`, keyed by `key`,
// with `traceContext` (the trace of the operation that wrote it, when tracing is on) as message headers.
import type { Prisma } from "../generated/prisma/client.js";
import { activeTraceCarrier, type TraceCarrier } from "../observability/trace-context.js";

export interface OutboxRow {
  topic: string;
  key: string;
  payload: Prisma.InputJsonObject;
  traceContext?: TraceCarrier;
}

/** An outbox row written in the current operation: it carries the operation's trace context. */
export const outboxRow = (topic: string, key: string, payload: Prisma.InputJsonObject): OutboxRow => ({
  topic,
  key,
  payload,
  traceContext: activeTraceCarrier(),
});

/** A trace carrier as a statement parameter: JSON text (cast to jsonb in SQL), or null. */
export const traceContextParam = (carrier: TraceCarrier | undefined): string | null => (carrier ? JSON.stringify(carrier) : null);
