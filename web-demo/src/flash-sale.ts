// The flash sale: many orders for one product at once, straight from the
// page, over the one WebSocket (so they really race on the server). The big
// counter follows the live stream: it falls to zero and never below, and the
// tally shows how many orders won a unit and how many were refused.
import { uniqueKey } from "./dom";
import type { Live } from "./live";
import type { Catalogue } from "./catalogue";
import { PlaceOrderMutation } from "./operations";
import { bindProductSelect } from "./product-select";
import { STOCK_LABEL, stockLevel } from "./format";

export const MAX_ORDERS = 500;

export interface FlashSaleElements {
  form: HTMLFormElement;
  product: HTMLSelectElement;
  orders: HTMLInputElement;
  counter: HTMLElement;
  counterLabel: HTMLElement;
  lowest: HTMLElement;
  fired: HTMLElement;
  won: HTMLElement;
  lost: HTMLElement;
  failed: HTMLElement;
  bar: HTMLElement;
  result: HTMLElement;
}

export class FlashSale {
  private running = false;
  /** The lowest count the live stream showed since the last sale started. */
  private lowest = Infinity;
  private saleProductId: string | undefined;

  constructor(
    private readonly els: FlashSaleElements,
    private readonly catalogue: Catalogue,
    private readonly live: Live,
    private readonly afterSale: () => void,
  ) {
    bindProductSelect(els.product, catalogue, () => this.showCounter());
    catalogue.onStock((product) => {
      if (product.id === els.product.value) this.showCounter();
    });
    els.form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.run();
    });
  }

  private showCounter() {
    const product = this.catalogue.products.get(this.els.product.value)?.product;
    this.els.counter.textContent = product ? String(product.stock) : "–";
    this.els.counterLabel.textContent = product
      ? `${product.name}: ${STOCK_LABEL[stockLevel(product.stock)].toLowerCase()}`
      : "Pick a product";
    this.els.counter.dataset.level = product ? stockLevel(product.stock) : "";
    if (product && product.id === this.saleProductId) {
      this.lowest = Math.min(this.lowest, product.stock);
      this.els.lowest.textContent = `Lowest count since the sale started: ${this.lowest}`;
    } else {
      this.els.lowest.textContent = "";
    }
  }

  private async run() {
    if (this.running) return;
    const product = this.catalogue.products.get(this.els.product.value)?.product;
    const n = this.els.orders.valueAsNumber;
    if (!product) return this.say("Pick a product first.", false);
    if (!Number.isInteger(n) || n < 1 || n > MAX_ORDERS) return this.say(`Fire between 1 and ${MAX_ORDERS} orders.`, false);
    this.running = true;
    this.saleProductId = product.id;
    this.lowest = product.stock;
    this.showCounter();
    const submit = this.els.form.querySelector("button")!;
    submit.disabled = true;
    const tally = { fired: 0, won: 0, lost: 0, failed: 0 };
    let firstError: string | undefined;
    const render = () => {
      this.els.fired.textContent = String(tally.fired);
      this.els.won.textContent = String(tally.won);
      this.els.lost.textContent = String(tally.lost);
      this.els.failed.textContent = String(tally.failed);
      this.els.bar.style.setProperty("--won", String(tally.won / n));
      this.els.bar.style.setProperty("--lost", String((tally.lost + tally.failed) / n));
    };
    this.say(`Firing ${n} orders for ${product.name} at once…`, true);
    this.els.form.closest("section")?.setAttribute("aria-busy", "true");
    const started = performance.now();
    const key = uniqueKey("flash");
    const orders = Array.from({ length: n }, async (_, i) => {
      tally.fired++;
      try {
        const { placeOrder } = await this.live.execute(PlaceOrderMutation, {
          input: { idempotencyKey: `${key}-${i}`, items: [{ productId: product.id, quantity: 1 }] },
        });
        if (placeOrder.__typename === "PlaceOrderSuccess") tally.won++;
        else if (placeOrder.__typename === "InsufficientStockError") tally.lost++;
        else {
          tally.failed++;
          firstError ??= placeOrder.message;
        }
      } catch (err) {
        tally.failed++;
        firstError ??= (err as Error).message;
      }
      render();
    });
    render();
    await Promise.all(orders);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    this.say(
      `${n} orders in ${seconds} s: ${tally.won} won a unit, ${tally.lost} were refused as sold out` +
        `${tally.failed ? `, ${tally.failed} failed (${firstError})` : ""}.`,
      tally.failed === 0,
    );
    this.els.form.closest("section")?.removeAttribute("aria-busy");
    this.els.result.dataset.done = "true";
    submit.disabled = false;
    this.running = false;
    this.afterSale();
  }

  private say(message: string, ok: boolean) {
    this.els.result.textContent = message;
    this.els.result.className = `form-result ${ok ? "ok" : "error"}`;
    delete this.els.result.dataset.done;
  }
}
