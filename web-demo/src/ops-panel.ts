// The operations panel: what this page sees of the live system.
// - Orders/s: ORDER_PLACED changes arriving on this page's subscriptions
//   (products on screen and the flash sale's), per second, with a 60 s chart.
// - Refusals: this page's orders the API refused (sold out, not enough stock).
// - Commit to screen: for each change, from its commit (`occurredAt`, the
//   database's clock) to the frame that showed it (this browser's clock), p50
//   and p99 of the last 500. On one machine the clocks agree; across machines
//   their offset is part of the number.
// - The connection state, and during a flash sale a chart of units left.
// Charts are uPlot (canvas; bundled by Vite with the demo).
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { StockChange } from "./catalogue";
import type { ConnectionState, Live } from "./live";

const WINDOW_S = 60;
const SAMPLES = 500;

export interface OpsElements {
  ordersPerSecond: HTMLElement;
  refusals: HTMLElement;
  p50: HTMLElement;
  p99: HTMLElement;
  samples: HTMLElement;
  connection: HTMLElement;
  ordersChart: HTMLElement;
  saleChart: HTMLElement;
  saleCaption: HTMLElement;
}

/** The q-quantile (0-1) of sorted numbers, nearest rank. */
export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * A y axis as wide as its longest label (uPlot's `size` callback, as in its
 * axis-autosize demo): a fixed width cut "200" down to nothing after a spike.
 */
export function fittedAxis(): uPlot.Axis {
  return {
    font: "11px system-ui",
    space: 20, // px between labels: three or more on a short chart
    size(self, values, axisIdx, cycleNum) {
      const axis = self.axes[axisIdx]!;
      // uPlot sizes axes in cycles until they settle: keep the first answer.
      if (cycleNum > 1) return (axis as { _size?: number })._size ?? 34;
      const longest = (values ?? []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), "");
      self.ctx.font = "11px system-ui";
      const text = longest ? self.ctx.measureText(longest).width : 0;
      return Math.ceil((axis.ticks?.size ?? 10) + (axis.gap ?? 5) + text + 4);
    },
  };
}

/** The top of the orders/s scale: a round number at or above the peak, never below 5. */
export function niceCeiling(peak: number): number {
  if (peak <= 5) return 5;
  const step = 10 ** Math.floor(Math.log10(peak));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= peak) return m * step;
  return 10 * step;
}

export class OpsPanel {
  private readonly latencies: number[] = [];
  private readonly seen = new Set<string>();
  /** ORDER_PLACED changes per whole second (epoch seconds -> count). */
  private readonly perSecond = new Map<number, number>();
  private refusalCount = 0;
  private readonly ordersPlot: uPlot;
  private salePlot: uPlot | undefined;
  private sale: { started: number; xs: number[]; ys: number[] } | undefined;

  constructor(
    private readonly els: OpsElements,
    live: Live,
  ) {
    this.ordersPlot = new uPlot(
      {
        width: this.width(els.ordersChart),
        height: 90,
        cursor: { show: false },
        legend: { show: false },
        scales: { x: { time: false }, y: { range: (_u, _lo, hi) => [0, niceCeiling(hi)] } },
        axes: [
          { size: 24, font: "11px system-ui", values: (_u, ticks) => ticks.map((t) => (t === WINDOW_S ? "now" : `${t - WINDOW_S}s`)) },
          {
            ...fittedAxis(),
            // The labels drawn, for the browser tests (a canvas has no text to read).
            values: (_u, ticks) => {
              const labels = ticks.map((t) => String(t));
              els.ordersChart.dataset.yLabels = labels.join(",");
              return labels;
            },
          },
        ],
        series: [{}, { label: "Orders/s", stroke: "#1d4ed8", width: 1.5, fill: "rgb(29 78 216 / 10%)", points: { show: false } }],
      },
      this.ordersData(),
      els.ordersChart,
    );
    live.onState((state) => this.showConnection(state));
    setInterval(() => this.tick(), 1000);
    new ResizeObserver(() => {
      this.ordersPlot.setSize({ width: this.width(els.ordersChart), height: 90 });
      this.salePlot?.setSize({ width: this.width(els.saleChart), height: 110 });
    }).observe(els.ordersChart);
  }

  private width(el: HTMLElement) {
    return Math.max(200, el.clientWidth || 300);
  }

  /** A change that reached the screen at `shownAt` (ms since the epoch); repeats (same product and version) count once. */
  observe(change: StockChange, shownAt: number): void {
    if (change.reason === "CURRENT") return;
    const key = `${change.product.id}:${change.version}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.seen.size > 5_000) this.seen.clear();
    const committed = Date.parse(change.occurredAt);
    this.latencies.push(Math.max(0, shownAt - committed));
    if (this.latencies.length > SAMPLES) this.latencies.shift();
    if (change.reason === "ORDER_PLACED") {
      const second = Math.floor(committed / 1000);
      this.perSecond.set(second, (this.perSecond.get(second) ?? 0) + 1);
    }
    this.render();
  }

  refused(): void {
    this.refusalCount++;
    this.render();
  }

  saleStarted(name: string, units: number): void {
    this.sale = { started: performance.now(), xs: [], ys: [] };
    this.els.saleCaption.textContent = `Flash sale: units of ${name} left, by seconds since it started`;
    this.els.saleChart.parentElement!.hidden = false;
    this.salePlot?.destroy();
    this.salePlot = new uPlot(
      {
        width: this.width(this.els.saleChart),
        height: 110,
        cursor: { show: false },
        legend: { show: false },
        scales: { x: { time: false }, y: { range: [0, Math.max(1, units)] } },
        axes: [{ size: 22, font: "11px system-ui", values: (_u, ticks) => ticks.map((t) => `${t.toFixed(1)}s`) }, fittedAxis()],
        series: [
          {},
          {
            label: "Units left",
            stroke: "#b91c1c",
            width: 2,
            fill: "rgb(185 28 28 / 10%)",
            points: { show: false },
            paths: uPlot.paths.stepped!({ align: 1 }),
          },
        ],
      },
      [[], []],
      this.els.saleChart,
    );
    this.salePoint(units);
  }

  salePoint(units: number): void {
    if (!this.sale || !this.salePlot) return;
    const { xs, ys } = this.sale;
    if (ys.at(-1) === units) return;
    xs.push((performance.now() - this.sale.started) / 1000);
    ys.push(units);
    this.salePlot.setData([xs, ys]);
    this.els.saleChart.dataset.points = String(xs.length);
    this.els.saleChart.dataset.last = String(units);
  }

  saleEnded(): void {
    this.sale = undefined; // the chart stays until the next sale
  }

  private showConnection(state: ConnectionState) {
    this.els.connection.textContent =
      state.kind === "connected" ? "Live" : state.kind === "connecting" ? "Connecting" : `Offline (retry ${state.attempt})`;
    this.els.connection.dataset.state = state.kind;
  }

  private ordersData(): uPlot.AlignedData {
    const now = Math.floor(Date.now() / 1000);
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = WINDOW_S; i >= 1; i--) {
      xs.push(WINDOW_S - i + 1);
      ys.push(this.perSecond.get(now - i) ?? 0);
    }
    return [xs, ys];
  }

  private tick() {
    const oldest = Math.floor(Date.now() / 1000) - WINDOW_S - 1;
    for (const s of this.perSecond.keys()) if (s < oldest) this.perSecond.delete(s);
    this.ordersPlot.setData(this.ordersData());
    this.render();
  }

  private render() {
    const now = Math.floor(Date.now() / 1000);
    // The last whole second, so the figure does not dip while the current one fills.
    this.els.ordersPerSecond.textContent = String(this.perSecond.get(now - 1) ?? 0);
    this.els.refusals.textContent = String(this.refusalCount);
    const sorted = [...this.latencies].sort((a, b) => a - b);
    this.els.p50.textContent = sorted.length ? `${quantile(sorted, 0.5)} ms` : "–";
    this.els.p99.textContent = sorted.length ? `${quantile(sorted, 0.99)} ms` : "–";
    this.els.samples.textContent = `of the last ${sorted.length} change${sorted.length === 1 ? "" : "s"}`;
    this.els.p50.dataset.ms = sorted.length ? String(quantile(sorted, 0.5)) : "";
    this.els.p99.dataset.ms = sorted.length ? String(quantile(sorted, 0.99)) : "";
  }
}
