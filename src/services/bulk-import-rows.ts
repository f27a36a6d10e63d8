// One import row on its own: its values checked and converted, or the first
// thing wrong with it (column and message). What needs the database (unknown
// location or price list, CREATE_ONLY and an existing SKU) the runner checks
// per chunk. A row that names a price_list is a price row: it sets that list's
// price for the SKU (min_quantity empty or 1) or one of its quantity tiers, and
// nothing else.
import type { BulkOperationErrorRow, StagedRow } from "../db/bulk-import.sql.js";
import { ValidationError } from "../errors/domain-errors.js";
import { LIMITS, SKU, requireCurrency } from "./limits.js";

export interface ImportRow {
  row: number;
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  /** Both or neither: a row may set product fields only. */
  location: string | null;
  onHand: number | null;
  firstOfSku: number;
  /** A price row's list (its code) and quantity: 1 for the entry's own unit price, 2+ for a tier. Null: a product row. */
  priceList: string | null;
  minQuantity: number | null;
}

/** Columns a price row leaves empty: it sets a list's price, not the product. */
const PRODUCT_ONLY = ["name", "description", "location", "on_hand"];

const text = (v: unknown): string => (v === null || v === undefined ? "" : String(v));
const blank = (v: unknown) => text(v).trim() === "";

function int(column: string, v: unknown, max: number): number | BulkOperationErrorRow {
  const s = text(v).trim();
  if (!/^-?\d{1,15}$/.test(s))
    return { row: 0, column, message: `${column} must be a whole number, got ${JSON.stringify(s.slice(0, 40))}` };
  const n = Number(s);
  if (n < 0) return { row: 0, column, message: `${column} must not be negative, got ${n}` };
  if (n > max) return { row: 0, column, message: `${column} must be at most ${max}, got ${n}` };
  return n;
}

function currencyOf(row: number, data: StagedRow): string | BulkOperationErrorRow {
  try {
    return requireCurrency("currency", text(data.currency).trim());
  } catch (err) {
    if (err instanceof ValidationError) return { row, column: "currency", message: err.message };
    throw err;
  }
}

/** The row's values, or the first error in it. */
export function checkRow(row: number, data: StagedRow): ImportRow | BulkOperationErrorRow {
  const fail = (column: string, message: string) => ({ row, column, message });
  const sku = text(data.sku).trim();
  if (!SKU.test(sku)) return fail("sku", "sku must be 1-64 letters, digits, '.', '_' or '-'");
  if (data._duplicateOf !== undefined) {
    return fail(
      "sku",
      blank(data.price_list)
        ? `sku ${sku} at this location is already in row ${data._duplicateOf}`
        : `This price of sku ${sku} is already in row ${data._duplicateOf}`,
    );
  }
  if (!blank(data.price_list)) return checkPriceRow(row, sku, data);
  const name = text(data.name).trim();
  if (name.length < 1 || name.length > LIMITS.maxNameLength) return fail("name", `name must be 1-${LIMITS.maxNameLength} characters`);
  const description = text(data.description);
  if (description.length > LIMITS.maxDescriptionLength)
    return fail("description", `description must be at most ${LIMITS.maxDescriptionLength} characters`);
  const priceCents = int("price_cents", data.price_cents, LIMITS.maxPriceCents);
  if (typeof priceCents !== "number") return { ...priceCents, row };
  const currency = currencyOf(row, data);
  if (typeof currency !== "string") return currency;
  if (!blank(data.min_quantity)) return fail("min_quantity", "min_quantity applies to a price_list row only");
  const noStock = blank(data.location) && blank(data.on_hand);
  if (!noStock && blank(data.location)) return fail("location", "location is empty but on_hand is not");
  if (!noStock && blank(data.on_hand)) return fail("on_hand", "on_hand is empty but location is not");
  const onHand = noStock ? null : int("on_hand", data.on_hand, LIMITS.maxStock);
  if (onHand !== null && typeof onHand !== "number") return { ...onHand, row };
  return {
    row,
    sku,
    name,
    description,
    priceCents,
    currency,
    location: noStock ? null : text(data.location).trim(),
    onHand,
    firstOfSku: data._firstOfSku ?? row,
    priceList: null,
    minQuantity: null,
  };
}

function checkPriceRow(row: number, sku: string, data: StagedRow): ImportRow | BulkOperationErrorRow {
  const fail = (column: string, message: string) => ({ row, column, message });
  const filled = PRODUCT_ONLY.find((c) => !blank(data[c]));
  if (filled)
    return fail(
      filled,
      `A price_list row sets that list's price only: leave ${filled} empty (put product fields on a row without price_list)`,
    );
  const priceCents = int("price_cents", data.price_cents, LIMITS.maxPriceCents);
  if (typeof priceCents !== "number") return { ...priceCents, row };
  if (priceCents < 1) return fail("price_cents", "A list's price must be at least 1");
  const currency = currencyOf(row, data);
  if (typeof currency !== "string") return currency;
  const minQuantity = blank(data.min_quantity) ? 1 : int("min_quantity", data.min_quantity, LIMITS.maxQuantityPerLine);
  if (typeof minQuantity !== "number") return { ...minQuantity, row };
  if (minQuantity < 1) return fail("min_quantity", "min_quantity must be at least 1");
  return {
    row,
    sku,
    name: "",
    description: "",
    priceCents,
    currency,
    location: null,
    onHand: null,
    firstOfSku: data._firstOfSku ?? row,
    priceList: text(data.price_list).trim(),
    minQuantity,
  };
}

export const isError = (r: ImportRow | BulkOperationErrorRow): r is BulkOperationErrorRow => "message" in r;
