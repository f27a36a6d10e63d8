// OpenTelemetry tracing, started by main.ts (and the pipeline thread) only
// when Config.tracing is on. This module pulls in the SDK: it is imported
// dynamically, so with tracing off none of it loads and no hook is installed.
//
// How the instrumentations reach pg, ioredis, kafkajs and http: all four are
// CommonJS, which require-in-the-middle patches as they are require()d, and
// an ESM `import` of a CommonJS package gets the same module.exports object.
// So once the instrumentations are registered, startTracing require()s them
// itself: the patches land on the shared exports (prototypes), and every
// later import, from our ESM code, Prisma's adapter or graphql-redis-
// subscriptions, sees them. main.ts starts tracing before it imports the rest
// of the process, so no client exists before the patches. import-in-the-middle's loader hook (module.register)
// is not used: it recognises a package only when imported by its bare name, so
// it missed ioredis and kafkajs wherever imports arrive as resolved file URLs
// (vitest), and it would add a loader thread to every start; the test proves
// this way (tests/observability/tracing.test.ts: pg, Redis and Kafka spans).
// With KAFKA_CLIENT=platformatic no Kafka library spans exist (no instrumentation
// here for @platformatic/kafka); the change's own spans (realtime/change-tracing.ts)
// and the headers that carry its context do not depend on the client.
import { createRequire } from "node:module";
import type { IncomingMessage } from "node:http";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { KafkaJsInstrumentation } from "@opentelemetry/instrumentation-kafkajs";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import type { Config } from "../config/config.js";
import { enableTraceContext } from "./trace-context.js";

/** The CommonJS packages the instrumentations patch, loaded through require() once they are registered. */
const INSTRUMENTED = ["pg", "ioredis", "kafkajs", "node:http"];

/** The scrape and probe endpoints are not traced: they would drown the traces that matter. */
const UNTRACED_PATHS = new Set(["/metrics", "/health", "/ready"]);

export interface Tracing {
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** Instead of the configured exporter (tests: an InMemorySpanExporter), exported span by span. */
  exporter?: SpanExporter;
  roles?: string[];
}

export function startTracing(config: Extract<Config["tracing"], { enabled: true }>, opts: TracingOptions = {}): Tracing {
  const processor: SpanProcessor = opts.exporter
    ? new SimpleSpanProcessor(opts.exporter)
    : config.exporter === "console"
      ? new SimpleSpanProcessor(new ConsoleSpanExporter())
      : // Endpoint, headers, timeout and compression: the standard OTEL_EXPORTER_OTLP_* variables, read by the exporter.
        new BatchSpanProcessor(new OTLPTraceExporter());
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over these defaults.
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: "stockwire",
    ...(opts.roles ? { "stockwire.roles": opts.roles.join(",") } : {}),
  }).merge(detectResources({ detectors: [envDetector] }));
  // The sampler is the standard OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default: parent-based, always on).
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // Only inside a traced operation: the relay's polls and the scrape-time reads would otherwise each start a trace.
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      new KafkaJsInstrumentation(),
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req: IncomingMessage) => UNTRACED_PATHS.has(req.url?.split("?")[0] ?? ""),
        // The process makes no outgoing HTTP calls of its own besides the exporter's.
        disableOutgoingRequestInstrumentation: true,
      }),
    ],
  });
  const require = createRequire(import.meta.url);
  for (const name of INSTRUMENTED) require(name);
  enableTraceContext();
  return {
    async shutdown() {
      unregister();
      await provider.shutdown();
    },
  };
}
