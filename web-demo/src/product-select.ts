// A product picker for the admin and the flash sale: a search box over the
// whole catalogue (the API's `products(search:)`) and a <select> of what it
// found. With the box empty it offers the products on screen.
import { h } from "./dom";
import { request } from "./http";
import { ProductsQuery } from "./operations";
import type { Catalogue } from "./catalogue";
import type { Product } from "./product-card";

export const PICKER_RESULTS = 20;

export interface ProductPicker {
  /** The chosen product as last read (its count may be older than the grid's). */
  selected(): Product | undefined;
}

export function bindProductPicker(
  els: { search: HTMLInputElement; select: HTMLSelectElement },
  catalogue: Catalogue,
  onSelect?: () => void,
): ProductPicker {
  const { search, select } = els;
  const found = new Map<string, Product>();
  let onScreen: Product[] = [];
  let asked = 0;

  const show = (products: Product[]) => {
    const selected = select.value;
    found.clear();
    for (const p of products) found.set(p.id, p);
    select.replaceChildren(...products.map((p) => h("option", { attrs: { value: p.id }, text: `${p.name} (${p.sku})` })));
    select.disabled = products.length === 0;
    if (products.length === 0) select.append(h("option", { attrs: { value: "" }, text: "No product matches" }));
    if (found.has(selected)) select.value = selected;
    onSelect?.();
  };

  catalogue.onList((products) => {
    onScreen = products;
    if (!search.value.trim()) show(products);
  });
  let debounce: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(async () => {
      const term = search.value.trim();
      const mine = ++asked;
      if (!term) return show(onScreen);
      try {
        const { products } = await request(ProductsQuery, { first: PICKER_RESULTS, after: null, search: term, inStock: null });
        if (mine === asked) show(products.edges.map((e) => ({ ...e.node })));
      } catch {
        // keep the previous list; the next keystroke tries again
      }
    }, 200);
  });
  if (onSelect) select.addEventListener("change", onSelect);
  // The grid's copy is the live one while the product is on screen.
  return { selected: () => catalogue.products.get(select.value)?.product ?? found.get(select.value) };
}
