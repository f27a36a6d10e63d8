// Relay global IDs ("Product:<uuid>", base64): what clients see and send.
import { GraphQLError } from "graphql";
import { encodeGlobalID } from "@pothos/plugin-relay";
import type { EntityType } from "../errors/domain-errors.js";
import { UUID } from "../services/cursor.js";

export const toGlobalId = (type: EntityType, id: string) => encodeGlobalID(type, id);

function parse(globalId: string): { typename: string; id: string } | null {
  if (typeof globalId !== "string" || globalId.length > 100 || !/^[A-Za-z0-9+/=_-]+$/.test(globalId)) return null;
  const [typename, id, ...rest] = Buffer.from(globalId, "base64").toString("utf8").split(":");
  if (!typename || !id || rest.length || !UUID.test(id)) return null;
  return { typename, id };
}

/**
 * For mutation inputs. A malformed ID, or one of another type, becomes "",
 * which the service refuses as a ValidationError on that field, after its
 * permission checks: callers learn they may not act before they learn why
 * their input is wrong.
 */
export function fromGlobalId(type: EntityType, globalId: string): string {
  const parsed = parse(globalId);
  return parsed && parsed.typename === type ? parsed.id : "";
}

/** For query arguments and node(id): a client error, not a masked server error. */
export function decodeGlobalIdOrThrow(globalId: string): { typename: string; id: string } {
  const parsed = parse(globalId);
  if (!parsed) throw new GraphQLError(`Invalid ID: ${JSON.stringify(String(globalId).slice(0, 100))}`, { extensions: { code: "BAD_USER_INPUT" } });
  return parsed;
}

/** For query and subscription arguments that must name one type. */
export function expectGlobalId(type: EntityType, globalId: string): string {
  const parsed = parse(globalId);
  if (!parsed || parsed.typename !== type) {
    throw new GraphQLError(`Invalid ${type} ID: ${JSON.stringify(String(globalId).slice(0, 100))}`, { extensions: { code: "BAD_USER_INPUT" } });
  }
  return parsed.id;
}
