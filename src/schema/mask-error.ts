// What a client may see of an error that is not a typed mutation result.
// Known domain errors keep their message and get a code; anything else is
// masked by Yoga ("Unexpected error.") and only logged, so no stack trace,
// SQL or internal detail reaches a client.
import { GraphQLError, type ExecutionResult } from "graphql";
import { maskError as yogaMaskError, type YogaServerOptions } from "graphql-yoga";
import * as E from "../errors/domain-errors.js";
import { isDatabaseUnreachable } from "../db/errors.js";

const codes: [abstract new (...args: never[]) => Error, string][] = [
  [E.UnauthenticatedError, "UNAUTHENTICATED"],
  [E.ForbiddenError, "FORBIDDEN"],
  [E.ValidationError, "BAD_USER_INPUT"],
  [E.InvalidCursorError, "BAD_USER_INPUT"],
  [E.NotFoundError, "NOT_FOUND"],
  [E.DomainError, "BAD_REQUEST"],
];

export const maskError: NonNullable<Exclude<YogaServerOptions<object, object>["maskedErrors"], boolean>>["maskError"] = (
  error,
  message,
) => {
  const original = error instanceof GraphQLError ? error.originalError : undefined;
  if (isDatabaseUnreachable(original ?? error)) return databaseUnavailable(error instanceof GraphQLError ? error : undefined);
  const coded = original && error instanceof GraphQLError ? codedError(original, error) : undefined;
  // Never Yoga's development mode: it would put the original error (and its stack) in the response.
  return withCoercionCode(withoutOriginalError(coded ?? yogaMaskError(error, message, false)));
};

/**
 * PostgreSQL cannot be reached (down, restarting, out of connections): the
 * client may retry, so it is told so (503, Retry-After, a code naming the
 * database) instead of "Unexpected error." with 200. The cause is still logged.
 */
function databaseUnavailable(at?: GraphQLError): GraphQLError {
  return new GraphQLError("The database is unavailable; try again shortly.", {
    nodes: at?.nodes,
    path: at?.path,
    extensions: { code: "SERVICE_UNAVAILABLE", service: "database", http: { status: 503, headers: { "Retry-After": "5" } } },
  });
}

/**
 * graphql-js refuses a variable value it cannot coerce with an error without a
 * code (and Yoga does not mask it): it is bad user input. In place. Yoga's
 * executor marks it HTTP 400 for every media type; GraphQL over HTTP wants 200
 * under application/json (400 under graphql-response+json), which Yoga does
 * for errors marked `spec`, as it marks invalid JSON.
 */
export function withCoercionCode(error: Error): Error {
  if (error instanceof GraphQLError && !error.path && !error.extensions?.code && /^Variable "\$/.test(error.message)) {
    const extensions = error.extensions as Record<string, unknown>;
    extensions.code = "BAD_USER_INPUT";
    if (extensions.http) extensions.http = { ...(extensions.http as object), spec: true };
  }
  return error;
}

/**
 * Yoga copies some causes into `extensions.originalError` itself (invalid JSON:
 * the parser's message, with the start of the body): the client gets the message
 * and code only.
 */
function withoutOriginalError(error: Error): Error {
  // In place: a new object would count as masked, and Yoga logs every masked error (twice, here).
  if (error instanceof GraphQLError && error.extensions && "originalError" in error.extensions)
    delete (error.extensions as Record<string, unknown>).originalError;
  return error;
}

/** A known domain error as the GraphQL error a client may see (message and code); undefined for anything else. */
export function codedError(original: unknown, at?: GraphQLError): GraphQLError | undefined {
  const code = original instanceof Error ? codes.find(([cls]) => original instanceof cls)?.[1] : undefined;
  if (!code) return undefined;
  return new GraphQLError((original as Error).message, {
    nodes: at?.nodes,
    path: at?.path,
    extensions: { code, ...(original instanceof E.ValidationError && { field: original.field }) },
  });
}

/** Codes of errors the client caused (bad input, no or wrong credentials, limits): not server failures. */
const CLIENT_CODES = new Set([
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "NOT_FOUND",
  "THROTTLED",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "QUERY_TOO_COMPLEX",
  "QUERY_TOO_DEEP",
  "TOO_MANY_ALIASES",
  "TOO_MANY_DIRECTIVES",
  "TOO_MANY_SUBSCRIPTIONS",
  "REQUEST_ENTITY_TOO_LARGE",
]);

/** The code of an error the client caused, or undefined for anything that may be a server failure. */
export function clientErrorCode(error: unknown): string | undefined {
  if (!(error instanceof GraphQLError)) return undefined;
  const original = error.originalError;
  // graphql-jit's errors (compiled queries) may carry no extensions at all.
  const code = (original && codedError(original)?.extensions?.code) ?? error.extensions?.code;
  if (original && !(original instanceof GraphQLError) && !(original instanceof E.DomainError)) return undefined;
  const status = (error.extensions?.http as { status?: number } | undefined)?.status;
  if (typeof code === "string" && CLIENT_CODES.has(code)) return code;
  return status && status >= 400 && status < 500 ? String(code ?? status) : undefined;
}

/** An execution result with its errors masked as Yoga masks them (for executions outside Yoga: the shared fan-out's). */
export function maskResult(result: ExecutionResult | Promise<ExecutionResult>): ExecutionResult | Promise<ExecutionResult> {
  if ("then" in result) return result.then(maskResult);
  return result.errors
    ? { ...result, errors: result.errors.map((e) => maskError!(e, "Unexpected error.", false) as GraphQLError) }
    : result;
}
