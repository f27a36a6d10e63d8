// What a client may see of an error that is not a typed mutation result.
// Known domain errors keep their message and get a code; anything else is
// masked by Yoga ("Unexpected error.") and only logged, so no stack trace,
// SQL or internal detail reaches a client.
import { GraphQLError } from "graphql";
import { maskError as yogaMaskError, type YogaServerOptions } from "graphql-yoga";
import * as E from "../errors/domain-errors.js";

const codes: [abstract new (...args: any[]) => Error, string][] = [
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
  const coded = original && error instanceof GraphQLError ? codedError(original, error) : undefined;
  // Never Yoga's development mode: it would put the original error (and its stack) in the response.
  return withoutOriginalError(coded ?? yogaMaskError(error, message, false));
};

/**
 * Yoga copies some causes into `extensions.originalError` itself (invalid JSON:
 * the parser's message, with the start of the body): the client gets the message
 * and code only.
 */
function withoutOriginalError(error: Error): Error {
  if (!(error instanceof GraphQLError) || !("originalError" in error.extensions)) return error;
  const { originalError: _dropped, ...extensions } = error.extensions;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions,
  });
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
