// GET /export/products.csv, /export/stock.csv and /export/ledger.csv?since=
// (admins): the CSV of services/export.service.ts, streamed. The body is a Node Readable, which Yoga's server adapter
// (@whatwg-node/server) pipes into the socket: pipe() waits for 'drain', so a
// slow client slows the page reads down, and the adapter destroys the body when
// the connection closes, which ends the reads (none after the one under way).
import { Readable } from "node:stream";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import { requireAdmin, type Viewer } from "../auth/viewer.js";
import { ForbiddenError, TooManyExportsError, UnauthenticatedError, ValidationError } from "../errors/domain-errors.js";
import type { Logger } from "../observability/log.js";
import { maskError } from "../schema/mask-error.js";
import type { CsvExport, ExportKind, ExportService } from "../services/export.service.js";

const PATHS: Record<string, ExportKind> = {
  "/export/products.csv": "products",
  "/export/stock.csv": "stock",
  "/export/ledger.csv": "ledger",
};
const PARAMETERS = new Set(["since"]);

export function useExports(deps: { readViewer(header: string | null): Promise<Viewer>; exports: ExportService; log: Logger }): Plugin {
  return {
    async onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
      const kind = PATHS[url.pathname];
      if (!kind) return;
      const answer = (status: number, body: string, headers: Record<string, string>) =>
        endResponse(new fetchAPI.Response(body, { status, headers }));
      if (request.method !== "GET") {
        return answer(405, errorBody("Exports are downloaded with GET", "METHOD_NOT_ALLOWED"), { ...JSON_TYPE, allow: "GET" });
      }
      let csv: CsvExport;
      try {
        const viewer = await deps.readViewer(request.headers.get("authorization"));
        // Who is asking first: nobody else learns what the parameters may be.
        requireAdmin({ viewer });
        const unknown = [...url.searchParams.keys()].find((k) => !PARAMETERS.has(k));
        if (unknown) throw new ValidationError(unknown, `Unknown parameter ${unknown}: exports take only since (the ledger)`);
        if (url.searchParams.getAll("since").length > 1) throw new ValidationError("since", "Give since once");
        csv = await deps.exports.open({ viewer }, kind, { since: url.searchParams.get("since") });
      } catch (err) {
        const { status, body, headers } = errorAnswer(err);
        if (status >= 500) deps.log.error({ err, path: url.pathname }, "export failed");
        return answer(status, body, { ...JSON_TYPE, ...headers });
      }
      const res = (serverContext as { res?: ServerResponse; req?: IncomingMessage }).res;
      const body = csvBody(csv, (err) => {
        // After the status line: all that is left is to cut the connection, so the client sees a broken download, not a short file.
        if (!request.signal.aborted) deps.log.error({ err, path: url.pathname }, "export failed after it started");
        res?.destroy(err);
      });
      // Gone before the body was piped (the adapter then never reads or destroys it).
      const stop = () => void csv.chunks.return();
      if (request.signal.aborted) stop();
      else request.signal.addEventListener("abort", stop, { once: true });
      endResponse(
        // A Readable is a body @whatwg-node/fetch takes as it is (and the server adapter pipes); the DOM's BodyInit type does not list it.
        new fetchAPI.Response(body as unknown as BodyInit, {
          status: 200,
          headers: {
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": `attachment; filename="${fileName(kind, new Date())}"`,
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
          },
        }),
      );
    },
  };
}

/** stockwire-products-20261207T061300Z.csv */
export const fileName = (kind: ExportKind, at: Date) =>
  `stockwire-${kind}-${at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}.csv`;

/**
 * The file's chunks (the header, then a page each, one socket write each). One chunk waits in the
 * stream at most (highWaterMark 1) while the next page is read; the reads stop when the stream is destroyed.
 */
function csvBody(csv: CsvExport, onError: (err: Error) => void): Readable {
  const body = Readable.from(csv.chunks, { objectMode: true, highWaterMark: 1 });
  body.once("error", onError);
  return body;
}

const JSON_TYPE = { "content-type": "application/json; charset=utf-8" };

const errorBody = (message: string, code: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ errors: [{ message, extensions: { code, ...extra } }] });

/** The API's error shape (as GraphQL answers carry it), with the HTTP status that goes with it; never a stack. */
function errorAnswer(err: unknown): { status: number; body: string; headers: Record<string, string> } {
  if (err instanceof UnauthenticatedError)
    return { status: 401, body: errorBody(err.message, "UNAUTHENTICATED"), headers: { "www-authenticate": "Bearer" } };
  if (err instanceof ForbiddenError) return { status: 403, body: errorBody(err.message, "FORBIDDEN"), headers: {} };
  if (err instanceof TooManyExportsError)
    return { status: 429, body: errorBody(err.message, "THROTTLED", { limit: err.limit }), headers: { "retry-after": "5" } };
  if (err instanceof ValidationError)
    return { status: 400, body: errorBody(err.message, "BAD_USER_INPUT", { field: err.field }), headers: {} };
  // A database that is down or slow: 503 with Retry-After, as for GraphQL; anything else "Unexpected error." (logged).
  const masked = maskError!(err, "Unexpected error.", false) as GraphQLError;
  const {
    http,
    code = "INTERNAL_SERVER_ERROR",
    service,
  } = masked.extensions as {
    http?: { status?: number; headers?: Record<string, string> };
    code?: string;
    service?: string;
  };
  return {
    status: http?.status ?? 500,
    body: errorBody(masked.message, code, service ? { service } : {}),
    headers: http?.headers ?? {},
  };
}
