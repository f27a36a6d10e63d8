// One product in the grid: name, price, the live stock badge and count, a
// sparkline of its recent changes, and (for the demo customer) a quantity and
// an Order button, each named with the product for screen readers.
//
// The count is what a shopper can buy now (`available`: on hand less other
// shoppers' holds), not what is on hand: a product whose units are all held
// reads "Sold out" with Order disabled, and a line above the order form says
// how many are held (its room is kept, so a hold moves no card).
//
// The order message sits over that line and the order form (position:
// absolute, below the count), so it never changes the card's height, moves the
// row or hides the count it talks about; it fades out on its own and has a
// dismiss button.
import { cue, h } from "./dom";
import { money, STOCK_LABEL, stockLevel } from "./format";
import { sparkline } from "./sparkline";

export interface Product {
  id: string;
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  stock: number;
  /** What can be ordered now: stock less unexpired holds. */
  available: number;
  /** Units set aside by holds (part of stock). */
  reserved: number;
  version: number;
}

export interface OrderOutcome {
  ok: boolean;
  message: string;
}

export type Counts = Pick<Product, "stock" | "available" | "reserved">;

export type PlaceOrder = (product: Product, quantity: number) => Promise<OrderOutcome>;

export interface ProductCard {
  root: HTMLLIElement;
  /** Shows new counts; `delta` (of available, from the previous) picks the visual cue; `at` (seconds) is the change's commit time. */
  setStock(counts: Counts, delta: number, at: number): void;
  /** Whether ordering is possible now (the page is live). */
  setOrderable(live: boolean): void;
  /** The list price, and the shopper's own unit price and quantity breaks (shown when lower than the list price). */
  setPrices(
    base: { amountCents: number; currency: string },
    price: { amountCents: number; currency: string },
    tiers: readonly { minQuantity: number; unitPriceCents: number }[],
  ): void;
}

/** How long an order message stays before it fades (a refusal stays longer). */
export const MESSAGE_MS = { ok: 6_000, error: 12_000 };

let cards = 0;

export function productCard(product: Product, placeOrder?: PlaceOrder, live = true): ProductCard {
  const n = ++cards;
  const priceEl = h("p", { class: "price", dataset: { testid: "price" }, text: money(product.priceCents, product.currency) });
  const priceBox = h("div", { class: "price-box" }, priceEl);
  const tierHint = h("p", { class: "tier-hint", dataset: { testid: "tier-hint" } });
  tierHint.hidden = true;
  const badge = h("span", { class: "badge" });
  const count = h("span", { class: "count", dataset: { testid: "stock-count" } });
  const spark = sparkline(`Recent stock of ${product.name}`);
  const stockLine = h(
    "p",
    { class: "stock" },
    badge,
    h("span", { class: "count-wrap" }, count, h("span", { class: "count-unit" }, " left")),
  );
  const held = h("p", { class: "held", dataset: { testid: "held" } });
  const text = h("span", { class: "order-result-text" });
  const dismiss = h("button", {
    class: "dismiss",
    attrs: { type: "button", "aria-label": `Dismiss the message about ${product.name}` },
  }); // its "×" is CSS, so the message's text is the message alone
  const result = h("div", { class: "order-result", attrs: { role: "status" } }, text, dismiss);
  result.hidden = true;
  let fade: ReturnType<typeof setTimeout> | undefined;
  const hideMessage = () => {
    clearTimeout(fade);
    result.hidden = true;
    result.className = "order-result";
  };
  dismiss.addEventListener("click", hideMessage);

  let button: HTMLButtonElement | undefined;
  let form: HTMLFormElement | undefined;
  let ordering = false;
  let orderable = live;
  const refreshButton = () => {
    if (!button) return;
    button.disabled = ordering || !orderable || product.available <= 0;
    button.title = orderable ? "" : "Offline: ordering waits until the page is live again";
  };
  if (placeOrder) {
    const quantity = h("input", {
      class: "qty",
      attrs: {
        id: `qty-${n}`,
        type: "number",
        inputmode: "numeric",
        min: 1,
        max: 1000,
        value: 1,
        required: true,
        "aria-label": `Quantity of ${product.name}`,
      },
    });
    button = h("button", {
      class: "button primary",
      attrs: { type: "submit", "aria-label": `Order ${product.name}` },
      text: "Order",
    });
    form = h("form", { class: "order-form" }, h("label", { attrs: { for: `qty-${n}` }, text: "Quantity" }), quantity, button);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const qty = quantity.valueAsNumber;
      if (!Number.isInteger(qty) || qty < 1) {
        show({ ok: false, message: "Choose a quantity of 1 or more." });
        return;
      }
      ordering = true;
      refreshButton();
      button!.textContent = "Ordering…";
      hideMessage();
      try {
        show(await placeOrder(product, qty));
      } finally {
        ordering = false;
        button!.textContent = "Order";
        refreshButton();
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
      h("div", { class: "price-row" }, priceBox, spark.root),
      tierHint,
      stockLine,
      h("div", { class: "order-area" }, held, form, result),
    ),
  );

  function show(outcome: OrderOutcome) {
    clearTimeout(fade);
    text.textContent = outcome.message;
    result.hidden = false;
    result.className = `order-result ${outcome.ok ? "ok" : "error"}`;
    result.setAttribute("role", outcome.ok ? "status" : "alert");
    fade = setTimeout(
      () => {
        result.classList.add("fading");
        fade = setTimeout(hideMessage, 600);
      },
      outcome.ok ? MESSAGE_MS.ok : MESSAGE_MS.error,
    );
  }

  function setStock({ stock, available, reserved }: Counts, delta: number, at: number) {
    Object.assign(product, { stock, available, reserved });
    const level = stockLevel(available);
    count.textContent = String(available);
    badge.textContent = STOCK_LABEL[level];
    badge.className = `badge badge-${level}`;
    root.dataset.level = level;
    // Not promised to orders yet (on hand less committed): what the shopper could get once holds lapse.
    const unpromised = available + reserved;
    held.textContent = reserved > 0 ? `${reserved} on hold · ${unpromised} in stock` : "";
    held.title = reserved > 0 ? `${reserved} of the ${unpromised} in stock are held by shoppers for a few minutes` : "";
    refreshButton();
    spark.push(at, available);
    if (delta !== 0) cue(stockLine, delta < 0 ? "cue-down" : "cue-up");
  }
  setStock(product, 0, Date.now() / 1000);
  return {
    root,
    setStock,
    setOrderable(live) {
      orderable = live;
      refreshButton();
    },
    setPrices(base, price, tiers) {
      const before = priceEl.textContent;
      product.priceCents = base.amountCents;
      const member = price.amountCents < base.amountCents;
      priceEl.textContent = money(member ? price.amountCents : base.amountCents, member ? price.currency : base.currency);
      priceEl.classList.toggle("member", member);
      priceBox.replaceChildren(
        priceEl,
        ...(member
          ? [
              h("s", { class: "list-price", dataset: { testid: "list-price" }, text: money(base.amountCents, base.currency) }),
              h("span", { class: "member-label", text: "Member price" }),
            ]
          : []),
      );
      if (before !== null && before !== priceEl.textContent) cue(priceEl, "cue-up");
      const tier = tiers[0];
      tierHint.hidden = !tier;
      tierHint.textContent = tier ? `${tier.minQuantity}+ for ${money(tier.unitPriceCents, price.currency).replace(/^[^\d]+/, "")}` : "";
    },
  };
}
