// One log line per HTTP request at debug (operation name, duration, viewer
// kind, status, request id; not for the monitoring probes), and the request
// id on every response: taken from X-Request-Id when it is a sane token,
// generated otherwise, so a client's report and the server's log line match.
import { randomUUID } from "node:crypto";
import type { Plugin } from "graphql-yoga";
import type { Logger } from "pino";
import type { GraphQLContext } from "./context.js";

/** Yoga puts the HTTP request on every operation's context. */
type WithRequest = Partial<GraphQLContext> & { request?: Request };

/** What a client may send as a request id: short, and nothing that could forge a log line. */
const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** Polled by monitors every few seconds: answered with a request id, but not logged. */
const PROBES = new Set(["/metrics", "/health", "/ready"]);

const requestId = (request: Request) => {
  const given = request.headers.get("x-request-id");
  return given && REQUEST_ID.test(given) ? given : randomUUID();
};

interface Seen {
  id: string;
  started: number;
  operation?: string;
  viewer?: string;
}

export function useRequestLog(log: Logger): Plugin {
  const requests = new WeakMap<Request, Seen>();
  const noteViewer = (ctx: WithRequest) => {
    const seen = ctx.request && requests.get(ctx.request);
    if (seen) seen.viewer = ctx.viewer?.kind;
  };
  return {
    onRequest({ request }) {
      requests.set(request, { id: requestId(request), started: performance.now() });
    },
    onParams({ params, request }) {
      const seen = requests.get(request);
      if (seen) seen.operation = params.operationName ?? undefined;
    },
    onExecute: ({ args }) => noteViewer(args.contextValue as WithRequest),
    onSubscribe: ({ args }) => noteViewer(args.contextValue as WithRequest),
    onResponse({ request, response }) {
      const seen = requests.get(request);
      // Answered before our onRequest ran (Yoga's own /health): an id all the same.
      response.headers.set("x-request-id", seen?.id ?? requestId(request));
      if (!seen) return;
      if (!log.isLevelEnabled("debug")) return;
      const url = new URL(request.url);
      if (PROBES.has(url.pathname)) return;
      log.debug(
        {
          requestId: seen.id,
          method: request.method,
          path: url.pathname,
          status: response.status,
          operation: seen.operation ?? null,
          viewer: seen.viewer ?? null,
          durationMs: Math.round((performance.now() - seen.started) * 100) / 100,
        },
        "request",
      );
    },
  };
}
