// The flash sale: many orders for one product at once, straight from the
// page, so they really race on the server. They come from a crowd: the seeded
// demo shoppers (GET /demo/session), each on a WebSocket of its own, taking
// turns, so the sale does not flood the demo customer's "Your orders".
//
// The big counter shows the lower of two truths: the live stream's count,
// and what the sale's own answers prove (the count at the start less the
// units won so far, less any refusal's `available`). Whichever arrives first
// moves it, so it is never behind the tally; it falls to zero and never below.
import { uniqueKey } from "./dom";
import { createLive, type Live } from "./live";
import type { Catalogue } from "./catalogue";
import { PlaceOrderMutation, StockChangedSubscription } from "./operations";
import { bindProductPicker, type ProductPicker } from "./product-select";
import { STOCK_LABEL, stockLevel } from "./format";
import type { DemoShopper } from "./session";
import type { OpsPanel } from "./ops-panel";

export const MAX_ORDERS = 500;

export interface FlashSaleElements {
  form: HTMLFormElement;
  search: HTMLInputElement;
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

interface Watched {
  id: string;
  name: string;
  /** The live stream's count of what can be bought (available) and version (undefined until its first event). */
  available?: number;
  version: number;
  /** What the running or last sale's answers prove the count is at most. */
  bound: number;
  unsubscribe: () => void;
}

export class FlashSale {
  private running = false;
  /** The lowest count shown since the last sale started. */
  private lowest = Infinity;
  private saleProductId: string | undefined;
  private readonly picker: ProductPicker;
  private watched: Watched | undefined;

  constructor(
    private readonly els: FlashSaleElements,
    catalogue: Catalogue,
    private readonly live: Live,
    private readonly shoppers: DemoShopper[],
    private readonly ops: OpsPanel,
    private readonly afterSale: () => void,
  ) {
    this.picker = bindProductPicker({ search: els.search, select: els.product }, catalogue, () => this.watch());
    live.onState((state) => {
      const submit = this.els.form.querySelector("button")!;
      submit.disabled = this.running || state.kind !== "connected";
    });
    els.form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.run();
    });
  }

  /** Follows the picked product's count on a subscription of its own (it may not be on screen). */
  private watch() {
    const product = this.picker.selected();
    if (product?.id === this.watched?.id) return;
    if (this.running) return; // the sale's product stays until it is over
    this.watched?.unsubscribe();
    this.watched = undefined;
    if (product) {
      const w: Watched = { id: product.id, name: product.name, version: -1, bound: Infinity, unsubscribe: () => {} };
      this.watched = w;
      w.unsubscribe = this.live.subscribe(StockChangedSubscription, { ids: [product.id] }, ({ stockChanged: c }) => {
        if (c.version <= w.version) return;
        // Available, not on hand: an order commits its units at once, while on hand drops only when it ships.
        if (w.available !== undefined && c.available > w.available) w.bound += c.available - w.available; // a restock or cancel raises it
        w.version = c.version;
        w.available = c.available;
        this.showCounter();
        requestAnimationFrame(() => this.ops.observe(c, Date.now()));
      });
    }
    this.showCounter();
  }

  /** What the counter shows: the lower of the live count and what the sale's answers prove. */
  private units(): number | undefined {
    const w = this.watched;
    if (w?.available === undefined) return undefined;
    return Math.max(0, Math.min(w.available, w.bound));
  }

  private showCounter() {
    const w = this.watched;
    const units = this.units();
    this.els.counter.textContent = units === undefined ? "–" : String(units);
    this.els.counterLabel.textContent = w
      ? units === undefined
        ? `${w.name}: connecting…`
        : `${w.name}: ${STOCK_LABEL[stockLevel(units)].toLowerCase()}`
      : "Pick a product";
    this.els.counter.dataset.level = units === undefined ? "" : stockLevel(units);
    if (w && units !== undefined && w.id === this.saleProductId) {
      this.lowest = Math.min(this.lowest, units);
      this.els.lowest.textContent = `Lowest count since the sale started: ${this.lowest}`;
      if (this.running) this.ops.salePoint(units);
    } else {
      this.els.lowest.textContent = "";
    }
  }

  private async run() {
    if (this.running) return;
    const w = this.watched;
    const start = this.units();
    const n = this.els.orders.valueAsNumber;
    if (!w || start === undefined) return this.say("Pick a product first.", false);
    if (!Number.isInteger(n) || n < 1 || n > MAX_ORDERS) return this.say(`Fire between 1 and ${MAX_ORDERS} orders.`, false);
    this.running = true;
    this.saleProductId = w.id;
    this.lowest = start;
    w.bound = start;
    this.ops.saleStarted(w.name, start);
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
      this.showCounter();
    };
    this.say(`Firing ${n} orders for ${w.name} at once from ${Math.min(n, this.shoppers.length) || 1} shoppers…`, true);
    this.els.form.closest("section")?.setAttribute("aria-busy", "true");
    // One socket per shopper (a connection carries one customer's token); the demo customer's own when there is no crowd.
    const crowd: Live[] = this.shoppers.slice(0, n).map((s) => createLive(s.token));
    const via = (i: number) => (crowd.length ? crowd[i % crowd.length]! : this.live);
    const started = performance.now();
    const key = uniqueKey("flash");
    const orders = Array.from({ length: n }, async (_, i) => {
      tally.fired++;
      try {
        const { placeOrder } = await via(i).execute(PlaceOrderMutation, {
          input: { idempotencyKey: `${key}-${i}`, items: [{ productId: w.id, quantity: 1 }] },
        });
        if (placeOrder.__typename === "PlaceOrderSuccess") {
          tally.won++;
          w.bound--;
        } else if (placeOrder.__typename === "InsufficientStockError") {
          tally.lost++;
          this.ops.refused();
          w.bound = Math.min(w.bound, placeOrder.available);
        } else {
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
    crowd.forEach((c) => c.dispose());
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    this.say(
      `${n} orders in ${seconds} s: ${tally.won} won a unit, ${tally.lost} were refused as sold out` +
        `${tally.failed ? `, ${tally.failed} failed (${firstError})` : ""}.`,
      tally.failed === 0,
    );
    this.els.form.closest("section")?.removeAttribute("aria-busy");
    this.els.result.dataset.done = "true";
    this.running = false;
    submit.disabled = false;
    this.ops.saleEnded();
    this.watch(); // the picker may have moved on meanwhile
    this.afterSale();
  }

  private say(message: string, ok: boolean) {
    this.els.result.textContent = message;
    this.els.result.className = `form-result ${ok ? "ok" : "error"}`;
    delete this.els.result.dataset.done;
  }
}
