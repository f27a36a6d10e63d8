// GraphQL phase histograms in the process's Prometheus registry (/metrics is
// served elsewhere: merged with a pipeline thread's, behind a token). Off is
// what costs per request and tells an operator nothing (measured on the order
// path: BENCHMARKS.md, "Figures behind the code"): deprecated-field counting
// walks every document; the request summary keeps quantile sketches per
// observation; parse and validate are cache hits in Yoga; context is ours.
import { usePrometheus } from "@graphql-yoga/plugin-prometheus";
import type { PrometheusMetrics } from "../observability/prometheus.js";

export function useGraphQLMetrics(metrics: PrometheusMetrics) {
  return usePrometheus({
    registry: metrics.registry,
    endpoint: false,
    // Not by operation name or URL: clients choose them (a GET query string is part of the URL),
    // and every new value would be a new series kept forever.
    labels: { operationName: false, operationType: true, url: false },
    metrics: {
      graphql_envelop_request: true,
      graphql_envelop_request_duration: true,
      graphql_envelop_phase_execute: true,
      graphql_envelop_phase_subscribe: true,
      graphql_envelop_error_result: true,
      graphql_yoga_http_duration: true,
      graphql_envelop_deprecated_field: false,
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_parse: false,
      graphql_envelop_phase_validate: false,
      graphql_envelop_phase_context: false,
      graphql_envelop_schema_change: false,
    },
  });
}
