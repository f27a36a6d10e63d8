// Input bounds shared by the services: what a storefront can reasonably ask
// for. Anything outside is a ValidationError before the database is touched.
import { ValidationError } from "../errors/domain-errors.js";
import { isUuid } from "../ids/index.js";

export const LIMITS = {
  maxOrderLines: 50,
  maxQuantityPerLine: 1_000,
  maxPriceCents: 100_000_000,
  maxStock: 1_000_000_000,
  maxStockDelta: 1_000_000,
  maxIdempotencyKeyLength: 128,
  maxNameLength: 200,
  maxDescriptionLength: 5_000,
  maxReasonLength: 200,
} as const;

export function requireInt(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `${field} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

export function requireText(field: string, value: string, min: number, max: number): string {
  const trimmed = value.trim();
  if (trimmed.length < min || trimmed.length > max) {
    throw new ValidationError(
      field,
      min > 0 ? `${field} must be ${min} to ${max} characters` : `${field} must be at most ${max} characters`,
    );
  }
  return trimmed;
}

export function requireMatch(field: string, value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new ValidationError(field, `${field} must be ${what}`);
  return value;
}

export function requireUuid(field: string, value: string): string {
  if (!isUuid(value)) throw new ValidationError(field, `${field} is not a valid ID`);
  return value;
}

/** ISO 4217 currency codes, from the ICU data Node ships (no list of our own to keep current). */
const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));

export function requireCurrency(field: string, value: string): string {
  if (!CURRENCY.test(value) || !CURRENCIES.has(value))
    throw new ValidationError(field, `${field} must be an ISO 4217 currency code such as EUR`);
  return value;
}

export const SKU = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const CURRENCY = /^[A-Z]{3}$/;
export const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}\.[^\s@]{2,}$/;
// Printable ASCII without spaces: safe to log, to put in headers, and to compare.
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
