// Keeps a <select> in step with the products on screen (admin and flash sale).
import { h } from "./dom";
import type { Catalogue } from "./catalogue";

export function bindProductSelect(select: HTMLSelectElement, catalogue: Catalogue, onSelect?: () => void): void {
  catalogue.onList((products) => {
    const selected = select.value;
    select.replaceChildren(...products.map((p) => h("option", { attrs: { value: p.id }, text: `${p.name} (${p.sku})` })));
    select.disabled = products.length === 0;
    if (products.some((p) => p.id === selected)) select.value = selected;
    onSelect?.();
  });
  if (onSelect) select.addEventListener("change", onSelect);
}
