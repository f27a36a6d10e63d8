// Identifiers at the bottom of every floor: UUID checks and the global-ID codec.
export { UUID, isUuid } from "./uuid.js";
export { decodeGlobalId, encodeGlobalId, idOfType, type DecodedGlobalId, type EntityType } from "./global-id.js";
