// Expected failures of the business rules. Services throw these; the schema
// maps each to a typed GraphQL error object (schema/errors.ts). No GraphQL here.
// Entity ids are the database's; the schema turns them into global IDs.
import type { EntityType } from "../ids/index.js";

export type { EntityType };

export abstract class DomainError extends Error {
  override name = this.constructor.name;
}

export class ValidationError extends DomainError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export class NotFoundError extends DomainError {
  constructor(
    readonly entity: EntityType,
    readonly id: string,
  ) {
    super(`${entity} not found`);
  }
}

export class VersionConflictError extends DomainError {
  constructor(
    readonly entity: EntityType,
    readonly id: string,
    readonly expectedVersion: number,
    readonly currentVersion: number,
  ) {
    super(`${entity} was changed by someone else: expected version ${expectedVersion}, current version ${currentVersion}`);
  }
}

export class InsufficientStockError extends DomainError {
  constructor(
    readonly productId: string,
    readonly sku: string,
    readonly requested: number,
    readonly available: number,
  ) {
    super(`Not enough stock for ${sku}: requested ${requested}, available ${available}`);
  }
}

export class DuplicateSkuError extends DomainError {
  constructor(readonly sku: string) {
    super(`A product with SKU ${sku} already exists`);
  }
}

export class DuplicateEmailError extends DomainError {
  constructor(readonly email: string) {
    super(`A customer with email ${email} already exists`);
  }
}

export class InvalidTransitionError extends DomainError {
  constructor(
    readonly from: string,
    readonly to: string,
  ) {
    super(`An order cannot go from ${from} to ${to}`);
  }
}

/** The hold is no longer ACTIVE (consumed, released, or past its expiry): nothing was changed. */
export class HoldNotActiveError extends DomainError {
  constructor(
    readonly holdId: string,
    readonly status: string,
  ) {
    super(`The hold is ${status.toLowerCase()}, no longer active`);
  }
}

export class DuplicateLocationCodeError extends DomainError {
  constructor(readonly code: string) {
    super(`A location with code ${code} already exists`);
  }
}

/** The location still holds or expects units (on hand, committed, held or incoming): nothing was changed. */
export class LocationInUseError extends DomainError {
  constructor(
    readonly locationId: string,
    readonly units: { onHand: number; committed: number; reserved: number; incoming: number },
  ) {
    super(
      `The location still has units: ${units.onHand} on hand, ${units.committed} committed, ${units.reserved} held, ${units.incoming} incoming`,
    );
  }
}

/** The transfer was received or cancelled in full already: nothing was changed. */
export class TransferNotInTransitError extends DomainError {
  constructor(
    readonly transferId: string,
    readonly status: string,
  ) {
    super(`The transfer is ${status.toLowerCase()}, nothing is on the way`);
  }
}

/** Not authenticated or not allowed: surfaced as a GraphQL error, never as data. */
export class ForbiddenError extends DomainError {
  constructor(message = "You are not allowed to do this") {
    super(message);
  }
}

/** No (valid) credentials where some are needed: a GraphQL error, never data. */
export class UnauthenticatedError extends DomainError {
  constructor(message = "Sign in to do this: send Authorization: Bearer <token>") {
    super(message);
  }
}

/** A page cursor this API did not hand out. */
export class InvalidCursorError extends DomainError {
  constructor() {
    super("Invalid cursor: pass a cursor returned by this API");
  }
}

/** As many exports as one process streams at once are running: try again once one has finished. */
export class TooManyExportsError extends DomainError {
  constructor(readonly limit: number) {
    super(`${limit} exports are running on this server already; try again when one has finished`);
  }
}

/** The unit price the rule gives now is not the one the shopper was shown (expectedUnitPriceCents). */
export class PriceChangedError extends DomainError {
  constructor(
    readonly productId: string,
    readonly expectedUnitPriceCents: number,
    readonly currentUnitPriceCents: number,
  ) {
    super(`The price changed: expected ${expectedUnitPriceCents}, now ${currentUnitPriceCents}`);
  }
}

export class DuplicatePriceListCodeError extends DomainError {
  constructor(readonly code: string) {
    super(`A price list with code ${code} already exists`);
  }
}

/** What is wrong with a bulk import file as a whole (nothing of it was written). */
export type BulkImportFileProblem =
  "UNKNOWN_COLUMNS" | "MISSING_COLUMNS" | "EMPTY_FILE" | "NOT_CSV_OR_JSONL" | "INVALID_UTF8" | "TOO_LARGE";

export class BulkImportFileError extends DomainError {
  constructor(
    readonly problem: BulkImportFileProblem,
    message: string,
    /** The columns concerned (UNKNOWN_COLUMNS, MISSING_COLUMNS) */
    readonly columns: readonly string[] = [],
  ) {
    super(message);
  }
}
