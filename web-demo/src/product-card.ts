// One product in the grid: name, price, the live stock badge and count, and
// (for the demo customer) a quantity and an Order button.
import { cue, h } from "./dom";
import { money, STOCK_LABEL, stockLevel } from "./format";

export interface Product {
  id: string;
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  stock: number;
  version: number;
}

export interface OrderOutcome {
  ok: boolean;
  message: string;
}

export type PlaceOrder = (product: Product, quantity: number) => Promise<OrderOutcome>;

export interface ProductCard {
  root: HTMLLIElement;
  /** Shows a new count; `delta` (from the previous count) picks the visual cue. */
  setStock(stock: number, delta: number): void;
}

let cards = 0;

export function productCard(product: Product, placeOrder?: PlaceOrder): ProductCard {
  const n = ++cards;
  const badge = h("span", { class: "badge" });
  const count = h("span", { class: "count", dataset: { testid: "stock-count" } });
  const stockLine = h(
    "p",
    { class: "stock" },
    badge,
    h("span", { class: "count-wrap" }, count, h("span", { class: "count-unit" }, " left")),
  );
  const result = h("p", { class: "order-result", attrs: { role: "status" } });

  let form: HTMLFormElement | undefined;
  let button: HTMLButtonElement | undefined;
  if (placeOrder) {
    const quantity = h("input", {
      class: "qty",
      attrs: { id: `qty-${n}`, type: "number", inputmode: "numeric", min: 1, max: 1000, value: 1, required: true },
    });
    button = h("button", { class: "button primary", attrs: { type: "submit" }, text: "Order" });
    form = h("form", { class: "order-form" }, h("label", { attrs: { for: `qty-${n}` }, text: "Quantity" }), quantity, button);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const qty = quantity.valueAsNumber;
      if (!Number.isInteger(qty) || qty < 1) {
        show({ ok: false, message: "Choose a quantity of 1 or more." });
        return;
      }
      button!.disabled = true;
      button!.textContent = "Ordering…";
      result.textContent = "";
      try {
        show(await placeOrder(product, qty));
      } finally {
        button!.textContent = "Order";
        button!.disabled = product.stock <= 0;
      }
    });
  }

  const root = h(
    "li",
    { class: "card", dataset: { productId: product.id, sku: product.sku } },
    h(
      "article",
      { attrs: { "aria-labelledby": `name-${n}` } },
      h("h3", { class: "name", attrs: { id: `name-${n}` }, text: product.name }),
      h("p", { class: "sku", text: product.sku }),
      h("p", { class: "price", text: money(product.priceCents, product.currency) }),
      stockLine,
      form,
      result,
    ),
  );

  function show(outcome: OrderOutcome) {
    result.textContent = outcome.message;
    result.className = `order-result ${outcome.ok ? "ok" : "error"}`;
    result.setAttribute("role", outcome.ok ? "status" : "alert");
  }

  function setStock(stock: number, delta: number) {
    product.stock = stock;
    const level = stockLevel(stock);
    count.textContent = String(stock);
    badge.textContent = STOCK_LABEL[level];
    badge.className = `badge badge-${level}`;
    root.dataset.level = level;
    if (button && button.textContent === "Order") button.disabled = stock <= 0;
    if (delta !== 0) cue(stockLine, delta < 0 ? "cue-down" : "cue-up");
  }
  setStock(product.stock, 0);
  return { root, setStock };
}
