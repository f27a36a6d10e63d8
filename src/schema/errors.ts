// The typed errors mutations return, each implementing `interface Error { message }`.
import * as E from "../errors/domain-errors.js";
import { builder } from "./builder.js";
import { toGlobalId } from "./ids.js";
import { OrderStatusEnum } from "./order-status.js";

export const ErrorInterface = builder.interfaceRef<Error>("Error").implement({
  description: "Implemented by every error a mutation can return",
  fields: (t) => ({ message: t.exposeString("message") }),
});

const error = <T extends E.DomainError>(cls: new (...args: never[]) => T, description: string) => ({
  name: cls.name,
  description,
  interfaces: [ErrorInterface],
  isTypeOf: (value: unknown) => value instanceof cls,
});

builder.objectType(E.ValidationError, {
  ...error(E.ValidationError, "The input was refused; nothing was changed"),
  fields: (t) => ({ field: t.exposeString("field", { description: "Which input field, e.g. items[2].quantity" }) }),
});

builder.objectType(E.NotFoundError, {
  ...error(E.NotFoundError, "No such object"),
  fields: (t) => ({ id: t.id({ resolve: (e) => toGlobalId(e.entity, e.id) }) }),
});

builder.objectType(E.VersionConflictError, {
  ...error(E.VersionConflictError, "Someone else changed the object first; re-read it and retry with currentVersion"),
  fields: (t) => ({
    id: t.id({ resolve: (e) => toGlobalId(e.entity, e.id) }),
    expectedVersion: t.exposeInt("expectedVersion"),
    currentVersion: t.exposeInt("currentVersion"),
  }),
});

builder.objectType(E.InsufficientStockError, {
  ...error(E.InsufficientStockError, "Not enough stock; nothing was written"),
  fields: (t) => ({
    productId: t.id({ resolve: (e) => toGlobalId("Product", e.productId) }),
    sku: t.exposeString("sku"),
    requested: t.exposeInt("requested"),
    available: t.exposeInt("available"),
  }),
});

builder.objectType(E.HoldNotActiveError, {
  ...error(E.HoldNotActiveError, "The hold was consumed, released or has expired; nothing was changed"),
  fields: (t) => ({
    holdId: t.id({ resolve: (e) => toGlobalId("Hold", e.holdId) }),
    status: t.exposeString("status", { description: "CONSUMED, RELEASED or EXPIRED" }),
  }),
});

builder.objectType(E.DuplicateSkuError, {
  ...error(E.DuplicateSkuError, "The SKU is taken"),
  fields: (t) => ({ sku: t.exposeString("sku") }),
});

builder.objectType(E.DuplicateEmailError, {
  ...error(E.DuplicateEmailError, "The email address is taken"),
  fields: (t) => ({ email: t.exposeString("email") }),
});

builder.objectType(E.InvalidTransitionError, {
  ...error(E.InvalidTransitionError, "The order's status cannot change that way"),
  fields: (t) => ({
    from: t.field({ type: OrderStatusEnum, resolve: (e) => e.from as never }),
    to: t.field({ type: OrderStatusEnum, resolve: (e) => e.to as never }),
  }),
});

builder.objectType(E.DuplicateLocationCodeError, {
  ...error(E.DuplicateLocationCodeError, "The location code is taken"),
  fields: (t) => ({ code: t.exposeString("code") }),
});

builder.objectType(E.LocationInUseError, {
  ...error(E.LocationInUseError, "The location still holds or expects units; nothing was changed"),
  fields: (t) => ({
    locationId: t.id({ resolve: (e) => toGlobalId("Location", e.locationId) }),
    onHand: t.int({ resolve: (e) => e.units.onHand }),
    committed: t.int({ resolve: (e) => e.units.committed }),
    reserved: t.int({ resolve: (e) => e.units.reserved }),
    incoming: t.int({ resolve: (e) => e.units.incoming }),
  }),
});

builder.objectType(E.TransferNotInTransitError, {
  ...error(E.TransferNotInTransitError, "Nothing of the transfer is on the way any more; nothing was changed"),
  fields: (t) => ({
    transferId: t.id({ resolve: (e) => toGlobalId("Transfer", e.transferId) }),
    status: t.exposeString("status", { description: "RECEIVED or CANCELLED" }),
  }),
});

builder.objectType(E.PriceChangedError, {
  ...error(E.PriceChangedError, "A line's unit price is no longer the expectedUnitPriceCents you sent; nothing was written"),
  fields: (t) => ({
    productId: t.id({ resolve: (e) => toGlobalId("Product", e.productId) }),
    expectedUnitPriceCents: t.exposeInt("expectedUnitPriceCents"),
    currentUnitPriceCents: t.exposeInt("currentUnitPriceCents", { description: "What the line would cost now (for its quantity)" }),
  }),
});

builder.objectType(E.DuplicatePriceListCodeError, {
  ...error(E.DuplicatePriceListCodeError, "The price list code is taken"),
  fields: (t) => ({ code: t.exposeString("code") }),
});

const BulkImportFileProblemEnum = builder.enumType("BulkImportFileProblem", {
  values: {
    UNKNOWN_COLUMNS: { description: "The header names columns the importer does not know (or one twice)" },
    MISSING_COLUMNS: { description: "sku, name, price_cents or currency is missing, or one of location and on_hand without the other" },
    EMPTY_FILE: { description: "No rows" },
    NOT_CSV_OR_JSONL: { description: "Neither CSV with a header row nor JSONL (one object per line)" },
    INVALID_UTF8: { description: "Not UTF-8 text" },
    TOO_LARGE: { description: "Larger than the server accepts (BULK_IMPORT_MAX_BYTES)" },
  } as const,
});

builder.objectType(E.BulkImportFileError, {
  ...error(E.BulkImportFileError, "The file was refused as a whole; nothing of it was written"),
  fields: (t) => ({
    problem: t.field({ type: BulkImportFileProblemEnum, resolve: (e) => e.problem }),
    columns: t.stringList({ description: "The columns concerned (UNKNOWN_COLUMNS, MISSING_COLUMNS)", resolve: (e) => [...e.columns] }),
  }),
});

/** Options for a mutation returning `<Name>Success { <dataField> } | <errors>`, named as the API documents. */
export function mutationResult<N extends string>(name: N, dataField: string, types: (new (...args: never[]) => E.DomainError)[]) {
  return {
    types: [E.ValidationError, ...types],
    result: { name: `${name}Success` },
    union: { name: `${name}Result` },
    dataField: { name: dataField },
  };
}
