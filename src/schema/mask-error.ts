// What a client may see of an error that is not a typed mutation result.
// Known domain errors keep their message and get a code; anything else is
// masked by Yoga ("Unexpected error.") and only logged, so no stack trace,
// SQL or internal detail reaches a client.
import { GraphQLError, type ExecutionResult } from "graphql";
import { Repeater } from "@repeaterjs/repeater";
import { maskError as yogaMaskError, type YogaServerOptions } from "graphql-yoga";
import * as E from "../errors/domain-errors.js";
import { isDatabaseUnreachable, isStatementTimeout } from "../db/errors.js";
import { DeadlineExceededError, type Service, type WriteOutcome } from "../errors/service-unavailable.js";
import { BackendUnavailableError, type Backend } from "../observability/breakers.js";

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
  const at = error instanceof GraphQLError ? error : undefined;
  const unavailable = unavailableCause(original ?? error);
  if (unavailable) return serviceUnavailable(unavailable, at);
  if (isDatabaseUnreachable(original ?? error)) return databaseUnavailable(at);
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

const SERVICE_OF: Record<Backend, Service> = { postgres: "database", redis: "pubsub", kafka: "stream" };

export interface Unavailable {
  service: Service;
  /** DEADLINE_EXCEEDED: no answer in time (REQUEST_DEADLINE_MS, or the backend's own timeout); CIRCUIT_OPEN: not even tried. */
  reason: "DEADLINE_EXCEEDED" | "CIRCUIT_OPEN";
  outcome?: WriteOutcome;
}

/** A deadline or an open breaker behind an error, wherever Prisma or a driver put it (cause, driver adapter error). */
function unavailableCause(err: unknown, depth = 0): Unavailable | undefined {
  if (!err || typeof err !== "object" || depth > 8) return undefined;
  if (err instanceof DeadlineExceededError) return { service: err.service, reason: "DEADLINE_EXCEEDED", outcome: err.outcome };
  if (err instanceof BackendUnavailableError) return { service: SERVICE_OF[err.backend], reason: "CIRCUIT_OPEN", outcome: "NOT_APPLIED" };
  if (isStatementTimeout(err) || /Query read timeout/.test(String((err as Error).message)))
    return { service: "database", reason: "DEADLINE_EXCEEDED" };
  // ioredis' commandTimeout (REDIS_COMMAND_TIMEOUT_MS): a SUBSCRIBE that got no answer.
  if ((err as Error).message === "Command timed out") return { service: "pubsub", reason: "DEADLINE_EXCEEDED" };
  const e = err as { cause?: unknown; meta?: { driverAdapterError?: { cause?: unknown } } };
  return (
    unavailableCause(e.meta?.driverAdapterError?.cause ?? e.meta?.driverAdapterError, depth + 1) ?? unavailableCause(e.cause, depth + 1)
  );
}

const MESSAGES: Record<Service, string> = {
  database: "The database did not answer in time",
  pubsub: "Live updates (pub/sub) did not answer in time",
  stream: "The event stream did not answer in time",
};

/**
 * A backend that did not answer within the request's deadline, or whose
 * circuit breaker is open: 503 with Retry-After (the breaker probes again
 * after BREAKER_HALF_OPEN_AFTER_MS, 1 s by default) and, for a write, what
 * became of it (extensions.outcome, README "Unknown outcome").
 */
export function serviceUnavailable(u: Unavailable, at?: GraphQLError): GraphQLError {
  const what = u.reason === "CIRCUIT_OPEN" ? MESSAGES[u.service].replace(/did not answer in time/, "is unavailable") : MESSAGES[u.service];
  const outcome = u.outcome === "UNKNOWN" ? " Your change may or may not have been applied: retry with the same idempotency key." : "";
  return new GraphQLError(`${what}; try again shortly.${outcome}`, {
    nodes: at?.nodes,
    path: at?.path,
    extensions: {
      code: "SERVICE_UNAVAILABLE",
      service: u.service,
      reason: u.reason,
      ...(u.outcome && { outcome: u.outcome }),
      http: { status: 503, headers: { "Retry-After": "1" } },
    },
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

/**
 * A stream that ends with a domain error (an expired token) ends with that error's message and code.
 * A Repeater, not an async generator: a generator's return() waits for the next() in flight, so a
 * client that unsubscribed would keep its source (and its pub/sub subscription) until the next change.
 */
export function withCodedErrors<T>(source: AsyncIterable<T>): AsyncIterableIterator<T> {
  return new Repeater<T>(async (push, stop) => {
    const it = source[Symbol.asyncIterator]();
    const stopped = stop.then(() => ({ done: true as const, value: undefined }));
    try {
      for (;;) {
        const next = await Promise.race([it.next(), stopped]);
        if (next.done) break;
        await push(next.value);
      }
    } catch (err) {
      throw codedError(err) ?? err;
    } finally {
      await it.return?.();
    }
    stop();
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
