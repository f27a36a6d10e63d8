// The one global-ID codec: what clients see and send ("Product:<uuid>" in
// base64, Relay's convention), used by the schema, the stream events, the
// bridge and the tokens' `sub`. Pure: callers decide what a bad ID means.
import { isUuid } from "./uuid.js";

export type EntityType =
  "Product" | "Customer" | "Order" | "Hold" | "WaitlistEntry" | "Location" | "Transfer" | "PriceList" | "BulkOperation";

export interface DecodedGlobalId {
  typename: string;
  id: string;
}

export const encodeGlobalId = (typename: string, id: string): string => Buffer.from(`${typename}:${id}`, "utf8").toString("base64");

/** Null for anything that is not `<Type>:<uuid>` in base64. */
export function decodeGlobalId(globalId: unknown): DecodedGlobalId | null {
  if (typeof globalId !== "string" || globalId.length > 100 || !/^[A-Za-z0-9+/=_-]+$/.test(globalId)) return null;
  const [typename, id, ...rest] = Buffer.from(globalId, "base64").toString("utf8").split(":");
  if (!typename || !id || rest.length || !isUuid(id)) return null;
  return { typename, id };
}

/** The database id inside a global ID of `type`, or null. */
export function idOfType(type: EntityType, globalId: unknown): string | null {
  const decoded = decodeGlobalId(globalId);
  return decoded?.typename === type ? decoded.id : null;
}
