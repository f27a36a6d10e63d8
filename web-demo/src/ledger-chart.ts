// For the admin's picked product: on-hand and reserved stock over time, rebuilt
// from its stock ledger (Product.stockMovements, admin only, newest first) and
// read again whenever the product's live stock changes (its own stockChanged
// subscription, so a product found by search but not on screen stays live too).
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { request } from "./http";
import type { Live } from "./live";
import { ProductLedgerQuery, StockChangedSubscription } from "./operations";
import { stockAfterEach, type LedgerPoint } from "./ledger";

/** The API's largest page; the chart shows the newest LEDGER_PAGES pages at most. */
export const LEDGER_PAGE = 100;
export const LEDGER_PAGES = 2;
const HEIGHT = 120;

export class LedgerChart {
  private productId = "";
  private generation = 0;
  private unsubscribe: (() => void) | undefined;
  private loading = false;
  private again = false;
  private plot: uPlot | undefined;
  private readonly figure: HTMLElement;

  constructor(
    private readonly els: { chart: HTMLElement; caption: HTMLElement },
    private readonly live: Live,
    private readonly token: string,
  ) {
    this.figure = els.chart.parentElement!;
    new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT })).observe(this.figure);
  }

  /** Follows another product ("" hides the chart); the same one again changes nothing. */
  show(productId: string): void {
    if (productId === this.productId) return;
    this.productId = productId;
    this.generation++;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.figure.hidden = !productId;
    delete this.els.chart.dataset.productId;
    if (!productId) return;
    // The first answer is the CURRENT count, then one per change: each one reads the ledger again.
    this.unsubscribe = this.live.subscribe(StockChangedSubscription, { ids: [productId] }, () => this.reload());
  }

  /** Coalesces changes that arrive during a read into one more read. */
  private reload() {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    const generation = this.generation;
    void this.load(generation)
      .catch((err) => {
        if (generation === this.generation) this.els.caption.textContent = `Could not read the ledger: ${(err as Error).message}`;
      })
      .finally(() => {
        this.loading = false;
        if (this.again) {
          this.again = false;
          this.reload();
        }
      });
  }

  private async load(generation: number) {
    const id = this.productId;
    const read = async () => {
      const first = await request(ProductLedgerQuery, { id, first: LEDGER_PAGE, after: null }, this.token);
      const product = first.product;
      if (!product?.stockMovements) throw new Error("no such product, or no ledger for this token");
      const movements = product.stockMovements.edges.map((e) => e.node);
      let page = product.stockMovements.pageInfo;
      for (let n = 1; n < LEDGER_PAGES && page.hasNextPage; n++) {
        const next = await request(ProductLedgerQuery, { id, first: LEDGER_PAGE, after: page.endCursor }, this.token);
        if (!next.product?.stockMovements) break;
        movements.push(...next.product.stockMovements.edges.map((e) => e.node));
        page = next.product.stockMovements.pageInfo;
      }
      return { product, movements, whole: !page.hasNextPage };
    };
    let ledger = await read();
    // The product is read before its ledger: a movement newer than the product's version
    // committed in between, so the counts would not match the ledger. Read both again.
    for (let tries = 0; tries < 3 && (ledger.movements[0]?.versionAfter ?? 0) > ledger.product.version; tries++) ledger = await read();
    if (generation !== this.generation) return;
    this.draw(ledger.product, stockAfterEach(ledger.movements, ledger.whole, ledger.product), ledger.whole);
  }

  private draw(product: { id: string; name: string; version: number }, points: LedgerPoint[], whole: boolean) {
    const { chart, caption } = this.els;
    const last = points.at(-1);
    caption.textContent = last
      ? `${product.name}: stock after each of ${whole ? "its" : "the newest"} ${points.length} ledger movements (now ${last.onHand} on hand, ${last.reserved} reserved)`
      : `${product.name}: no ledger movements yet`;
    chart.setAttribute("aria-label", caption.textContent);
    // For the tests (and the curious): what is plotted.
    chart.dataset.productId = product.id;
    chart.dataset.version = String(product.version);
    chart.dataset.points = String(points.length);
    chart.dataset.onHand = points.map((p) => p.onHand).join(",");
    chart.dataset.reserved = points.map((p) => p.reserved).join(",");
    // x must not go back: equal commit times within a second are spread by a millisecond each.
    const xs: number[] = [];
    for (const p of points) xs.push(Math.max(p.at, (xs.at(-1) ?? -Infinity) + 0.001));
    const onHand = points.map((p) => p.onHand);
    const reserved = points.map((p) => p.reserved);
    // The last counts hold until now: one more point at the present, so the newest step is visible.
    if (last) {
      xs.push(Math.max(Date.now() / 1000, xs.at(-1)! + 1));
      onHand.push(last.onHand);
      reserved.push(last.reserved);
    }
    const data: uPlot.AlignedData = [xs, onHand, reserved];
    if (this.plot) return this.plot.setData(data);
    const stepped = uPlot.paths.stepped!({ align: 1 });
    this.plot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        cursor: { show: false },
        legend: { show: true, live: false },
        scales: { y: { range: (_u, _lo, hi) => [0, Math.max(5, hi)] } },
        axes: [
          { size: 24, font: "11px system-ui" },
          { size: 34, font: "11px system-ui" },
        ],
        series: [
          {},
          { label: "On hand", stroke: "#1d4ed8", width: 1.5, fill: "rgb(29 78 216 / 10%)", paths: stepped, points: { show: false } },
          { label: "Reserved", stroke: "#b45309", width: 1.5, paths: stepped, points: { show: false } },
        ],
      },
      data,
      chart,
    );
  }

  private width() {
    return Math.max(200, this.figure.clientWidth || 300);
  }
}
