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
  isDev,
) => {
  const original = error instanceof GraphQLError ? error.originalError : undefined;
  const code = original && codes.find(([cls]) => original instanceof cls)?.[1];
  if (original && code && error instanceof GraphQLError) {
    return new GraphQLError(original.message, {
      nodes: error.nodes,
      path: error.path,
      extensions: { code, ...(original instanceof E.ValidationError && { field: original.field }) },
    });
  }
  return yogaMaskError(error, message, isDev);
};
