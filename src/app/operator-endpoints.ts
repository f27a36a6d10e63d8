// The API port's endpoints for operators, as Yoga plugins: /ready (load
// balancers), /metrics (Prometheus, when METRICS_PORT does not move it to a
// listener of its own) and /stats (admins, the benches).
import { useReadinessCheck, type Plugin } from "graphql-yoga";
import type { Viewer } from "../auth/viewer.js";
import type { Database } from "../db/database.js";
import { metricsResponse, type PrometheusMetrics } from "../observability/prometheus.js";
import { readiness } from "../observability/readiness.js";
import type { PubSubBackend } from "../realtime/pubsub.js";
import type { StreamBackend } from "../realtime/stream.js";
import type { Backend, Breakers } from "../observability/breakers.js";

/**
 * GET /ready: 200 when the database answers, else 503 naming it
 * (observability/readiness.ts). With Redis away the instance is "degraded"
 * (its subscribers keep what its own bridge publishes). With Kafka away, orders still
 * commit (their events wait in the outbox) and live stock from the other
 * instances' bridges still arrives, so a load balancer must keep the instance:
 * "degraded", still 200, as with a read replica down or lagging. The relay and
 * bridge roles report Kafka as failing on their own /ready (process.ts).
 */
export function useReady(
  deps: { db: Database; pubsub: PubSubBackend; stream: StreamBackend; breakers?: Breakers },
  log: (line: string) => void,
  alsoDegraded?: () => string[],
): Plugin {
  const ready = readiness({
    checks: { database: () => deps.db.ping(), pubsub: () => deps.pubsub.ping(), stream: () => deps.stream.ping() },
    degradesOnly: {
      stream: "stock changes wait in the outbox",
      // realtime/pubsub.ts withLocalFallback; subscribers re-read current state when Redis is back.
      pubsub: "live updates reach this instance's subscribers only from its own bridge, if it runs one, until Redis is back",
    },
    replicas: () => deps.db.reads.status(),
    breakers: deps.breakers && (() => breakerStates(deps as Required<typeof deps>)),
    alsoDegraded,
    log,
  });
  return useReadinessCheck({
    endpoint: "/ready",
    check: async ({ fetchAPI }) => {
      const { status, body } = await ready();
      return new fetchAPI.Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    },
  });
}

/** The breakers of the backends this instance really has (the embedded ones have none). */
export function breakerStates(d: { db: Database; pubsub: PubSubBackend; stream: StreamBackend; breakers: Breakers }) {
  const real: Backend[] = [
    ...(d.db.kind === "postgres" ? (["postgres"] as const) : []),
    ...(d.pubsub.kind === "redis" ? (["redis"] as const) : []),
    ...(d.stream.kind === "kafka" ? (["kafka"] as const) : []),
  ];
  return Object.fromEntries(real.map((b) => [b, d.breakers[b].state()]));
}

/** GET /metrics on the API port (when METRICS_PORT does not move it to a listener of its own). */
export function useMetricsEndpoint(metrics: PrometheusMetrics, token: string | undefined): Plugin {
  return {
    async onRequest({ url, request, endResponse, fetchAPI }) {
      if (url.pathname !== "/metrics") return;
      const { status, headers, body } = await metricsResponse(metrics, token, request.headers.get("authorization"));
      endResponse(new fetchAPI.Response(body, { status, headers }));
    },
  };
}

/**
 * GET /stats (admins only): this process's counters as JSON: group commit
 * (batch sizes), sold-out refusals, the stock hub and the fan-out. Read by
 * bench/orders; a stop-gap until these become Prometheus metrics.
 */
export function useStats(readViewer: (header: string | null) => Promise<Viewer>, stats: () => Record<string, unknown>): Plugin {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== "/stats") return;
      const viewer = await readViewer(request.headers.get("authorization")).catch(() => null);
      const admin = viewer?.kind === "admin";
      endResponse(
        new fetchAPI.Response(JSON.stringify(admin ? stats() : { error: "admin token required" }), {
          status: admin ? 200 : 403,
          headers: { "content-type": "application/json" },
        }),
      );
    },
  };
}
