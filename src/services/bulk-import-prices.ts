// A chunk's price rows: each sets a price list's price for a SKU (min_quantity
// 1) or one quantity tier of it, in file order on top of the entry there is.
// Only entries that end up different are written, each with a price_change
// ledger row, and their products get a new price version and a price-changed
// event (as setPriceListEntry's), so re-running a file changes nothing.
import type { DbTransaction } from "../db/database.js";
import {
  lockedEntries,
  priceListsByCode,
  productCurrencies,
  writeListPrices,
  type BulkOperationErrorRow,
  type ListPrice,
} from "../db/bulk-import.sql.js";
import { bumpPriceVersions } from "./price-list.service.js";
import { MAX_TIERS } from "./pricing/price-entry.js";
import type { ImportRow } from "./bulk-import-rows.js";

/** Writes the rows' prices; returns the rows refused (unknown list or SKU, another currency, a tier with no price, too many tiers). */
export async function applyListPrices(tx: DbTransaction, rows: readonly ImportRow[], actor: string): Promise<BulkOperationErrorRow[]> {
  if (!rows.length) return [];
  const lists = await priceListsByCode(tx, [...new Set(rows.map((r) => r.priceList!))]);
  const products = await productCurrencies(tx, [...new Set(rows.map((r) => r.sku))]);
  const errors: BulkOperationErrorRow[] = [];
  const targets: { row: ImportRow; listId: string; productId: string }[] = [];
  for (const r of rows) {
    const list = lists.get(r.priceList!.toLowerCase());
    const product = products.get(r.sku.toLowerCase());
    if (!list) errors.push({ row: r.row, column: "price_list", message: `No price list with code ${r.priceList}` });
    else if (!product) errors.push({ row: r.row, column: "sku", message: `No product with sku ${r.sku} (create it on an earlier row)` });
    else if (r.currency !== list.currency || product.currency !== list.currency)
      errors.push({
        row: r.row,
        column: "currency",
        message: `Price list ${r.priceList} is in ${list.currency}; the row is in ${r.currency}, the product in ${product.currency}`,
      });
    else targets.push({ row: r, listId: list.id, productId: product.id });
  }

  const key = (listId: string, productId: string) => `${listId}:${productId}`;
  const before = await lockedEntries(tx, [
    ...new Map(targets.map((t) => [key(t.listId, t.productId), { price_list_id: t.listId, product_id: t.productId }])).values(),
  ]);
  const after = new Map<string, ListPrice | null>();
  for (const { row, listId, productId } of targets) {
    const k = key(listId, productId);
    const current = after.has(k) ? after.get(k)! : (before.get(k) ?? null);
    if (row.minQuantity === 1) {
      after.set(k, { price_list_id: listId, product_id: productId, unit_price_cents: row.priceCents, tiers: current?.tiers ?? [] });
      continue;
    }
    if (!current) {
      errors.push({
        row: row.row,
        column: "min_quantity",
        message: `Price list ${row.priceList} has no price for ${row.sku} yet: give it one (a row without min_quantity) before its tiers`,
      });
      continue;
    }
    const tiers = [
      ...current.tiers.filter((t) => t.minQuantity !== row.minQuantity),
      { minQuantity: row.minQuantity!, unitPriceCents: row.priceCents },
    ].sort((a, b) => a.minQuantity - b.minQuantity);
    if (tiers.length > MAX_TIERS) {
      errors.push({ row: row.row, column: "min_quantity", message: `At most ${MAX_TIERS} tiers per price list and product` });
      continue;
    }
    after.set(k, { ...current, tiers });
  }

  const changed = [...after].flatMap(([k, entry]) => {
    const was = before.get(k) ?? null;
    const same = was && was.unit_price_cents === entry!.unit_price_cents && JSON.stringify(was.tiers) === JSON.stringify(entry!.tiers);
    return same
      ? []
      : [{ ...entry!, tiers: entry!.tiers.map(({ minQuantity, unitPriceCents }) => ({ minQuantity, unitPriceCents })), before: was }];
  });
  await writeListPrices(tx, changed, actor);
  const byList = new Map<string, string[]>();
  for (const c of changed) byList.set(c.price_list_id, [...(byList.get(c.price_list_id) ?? []), c.product_id]);
  for (const [listId, productIds] of byList) await bumpPriceVersions(tx, productIds, listId);
  return errors;
}
