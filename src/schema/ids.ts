// Global IDs at the GraphQL boundary: the codec is ids/global-id.ts; this file
// only decides what a bad ID means for a query argument or a mutation input.
import { GraphQLError } from "graphql";
import { decodeGlobalId, encodeGlobalId, idOfType, type EntityType } from "../ids/index.js";

export const toGlobalId = (type: EntityType, id: string) => encodeGlobalId(type, id);

const badInput = (what: string, globalId: unknown) =>
  new GraphQLError(`Invalid ${what}: ${JSON.stringify(String(globalId).slice(0, 100))}`, { extensions: { code: "BAD_USER_INPUT" } });

/**
 * For mutation inputs. A malformed ID, or one of another type, becomes "",
 * which the service refuses as a ValidationError on that field, after its
 * permission checks: callers learn they may not act before they learn why
 * their input is wrong.
 */
export const fromGlobalId = (type: EntityType, globalId: string): string => idOfType(type, globalId) ?? "";

/** For query arguments and node(id): a client error, not a masked server error. */
export function decodeGlobalIdOrThrow(globalId: string): { typename: string; id: string } {
  const decoded = decodeGlobalId(globalId);
  if (!decoded) throw badInput("ID", globalId);
  return decoded;
}

/** For query and subscription arguments that must name one type. */
export function expectGlobalId(type: EntityType, globalId: string): string {
  const id = idOfType(type, globalId);
  if (id === null) throw badInput(`${type} ID`, globalId);
  return id;
}
