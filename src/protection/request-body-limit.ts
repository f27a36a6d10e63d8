// The HTTP body limit (413), in place of Yoga's maxRequestBodySize. Yoga's
// wraps every body in a TransformStream and a new Request to count its bytes,
// which showed in a profile of the order path (BENCHMARKS.md, "Figures behind
// the code"). A request that came over Node's HTTP server with a
// Content-Length needs no counting, because Node's parser reads exactly that
// many bytes as the body; only bodies without one (chunked, or built in
// process) are counted as Yoga does.
// Hand-rolled because Yoga has no option to skip its wrapper.
import type { IncomingMessage } from "node:http";
import { createGraphQLError } from "graphql-yoga";
import type { Plugin } from "graphql-yoga";
import { Kind, parse, type DocumentNode } from "graphql";

const tooLarge = () =>
  createGraphQLError("Request body too large", { extensions: { http: { status: 413 }, code: "REQUEST_ENTITY_TOO_LARGE" } });
const badLength = () =>
  createGraphQLError("Content-Length header is invalid.", { extensions: { http: { status: 400 }, code: "BAD_REQUEST" } });

/**
 * Multipart requests (the GraphQL multipart request spec) from whoever `multipart.allowed` accepts (an
 * admin's verified token) carry a file for startBulkImport: they may be as large as `multipart.limit`, and
 * are refused (400) for any other operation, so every other request stays within `limit`.
 */
export function useRequestBodyLimit(
  limit: number,
  multipart?: { limit: number; operations: readonly string[]; allowed(authorization: string): Promise<boolean> },
): Plugin {
  const uploads = new WeakSet<Request>();
  return {
    onRequestParse({ request, requestParser, setRequestParser, serverContext, fetchAPI }) {
      const payload = { request, requestParser, setRequestParser, serverContext, fetchAPI };
      const authorization = request.headers.get("authorization");
      const multipartBody = multipart !== undefined && /^multipart\/form-data\b/i.test(request.headers.get("content-type") ?? "");
      if (!multipartBody || !authorization) return parseWithin(limit, payload);
      // Only with an admin's token, verified before the body is read (a forged one gets no more room than anyone).
      return multipart.allowed(authorization).then(
        (ok) => {
          if (ok) uploads.add(request);
          return parseWithin(ok ? multipart.limit : limit, payload);
        },
        () => parseWithin(limit, payload),
      );
    },
    onParams({ request, params }) {
      if (multipart && uploads.has(request) && !onlyRootFields(params.query, multipart.operations)) {
        throw createGraphQLError(`Multipart requests are accepted for ${multipart.operations.join(", ")} only`, {
          extensions: { http: { status: 400 }, code: "BAD_REQUEST" },
        });
      }
    },
  };
}

/** Whether the document's operations select no root fields but these (and __typename). */
function onlyRootFields(query: string | undefined, names: readonly string[]): boolean {
  if (!query) return false;
  let doc: DocumentNode;
  try {
    doc = parse(query, { maxTokens: 2_000 });
  } catch {
    return false;
  }
  return doc.definitions.every(
    (d) =>
      d.kind === Kind.OPERATION_DEFINITION &&
      d.operation === "mutation" &&
      d.selectionSet.selections.every((s) => s.kind === Kind.FIELD && (names.includes(s.name.value) || s.name.value === "__typename")),
  );
}

type ParsePayload = Parameters<NonNullable<Plugin["onRequestParse"]>>[0];

function parseWithin(
  limit: number,
  {
    request,
    requestParser,
    setRequestParser,
    serverContext,
    fetchAPI,
  }: Pick<ParsePayload, "request" | "requestParser" | "setRequestParser" | "serverContext" | "fetchAPI">,
) {
  const length = request.headers.get("content-length");
  if (length != null) {
    // One non-negative integer only (a comma-joined list is a smuggling attempt).
    if (!/^\d+$/.test(length)) throw badLength();
    if (Number(length) > limit) throw tooLarge();
    // Node's parser holds a body to its Content-Length; an in-process request's header proves nothing.
    if ((serverContext as { req?: IncomingMessage }).req) return;
  }
  if (!requestParser || !request.body) return;
  const parseBody = requestParser;
  setRequestParser((req) => parseBody(counted(req, limit, fetchAPI)));
}

/** The same request with a body that errors with 413 once it passes `limit` bytes. */
function counted(request: Request, limit: number, fetchAPI: { Request: typeof Request; TransformStream: typeof TransformStream }) {
  // A native stream cannot pipe through the ponyfill's TransformStream (graphql-yoga#4583).
  const Transform = request.body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
  let read = 0;
  const body = request.body!.pipeThrough(
    new Transform<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        read += chunk.byteLength;
        if (read > limit) controller.error(tooLarge());
        else controller.enqueue(chunk);
      },
    }),
  );
  return new fetchAPI.Request(request.url, {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    body,
    duplex: "half",
  } as RequestInit);
}

/**
 * A 413 is sent before the body was read (the rest of it is still on the wire):
 * `Connection: close`, so the client does not send its next request on that
 * socket, which Node would otherwise keep waiting on and then reset.
 */
export function useCloseAfterTooLarge(): Plugin {
  return {
    onResponse({ response }) {
      if (response.status === 413) response.headers.set("connection", "close");
    },
  };
}
