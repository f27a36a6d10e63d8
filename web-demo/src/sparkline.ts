// A product's recent stock as a tiny uPlot line: one point per change the
// subscription delivered (x: the change's commit time, y: the count after it).
// uPlot draws on a canvas, so the card keeps a fixed size whatever the data.
import uPlot from "uplot";

const POINTS = 60;
export const SPARK_WIDTH = 96;
export const SPARK_HEIGHT = 28;

export interface Sparkline {
  root: HTMLElement;
  /** Adds a point (seconds since the epoch, count); older points drop off after 60. */
  push(at: number, stock: number): void;
  /** How many points it holds (the tests read it from data-points). */
  readonly size: number;
}

export function sparkline(label: string): Sparkline {
  const root = document.createElement("div");
  root.className = "spark";
  root.setAttribute("role", "img");
  root.setAttribute("aria-label", label);
  const xs: number[] = [];
  const ys: number[] = [];
  let plot: uPlot | undefined;
  const draw = () => {
    root.dataset.points = String(xs.length);
    const min = Math.min(...ys);
    const max = Math.max(...ys);
    // The last count holds until now: one more point at the present, so even a single count is a line.
    const now = Math.max(Date.now() / 1000, xs.at(-1)! + 1);
    const data: uPlot.AlignedData = [
      [...xs, now],
      [...ys, ys.at(-1)!],
    ];
    if (!plot) {
      plot = new uPlot(
        {
          width: SPARK_WIDTH,
          height: SPARK_HEIGHT,
          pxAlign: false,
          cursor: { show: false },
          legend: { show: false },
          select: { show: false, left: 0, top: 0, width: 0, height: 0 },
          axes: [{ show: false }, { show: false }],
          scales: {
            x: { time: false },
            y: { range: (_u, lo, hi) => [lo - Math.max(1, (hi - lo) * 0.15), hi + Math.max(1, (hi - lo) * 0.15)] },
          }, // the recent variation, with room
          series: [
            {},
            {
              stroke: "#1d4ed8",
              width: 1.5,
              points: { show: false },
              paths: uPlot.paths.stepped!({ align: 1 }),
            },
          ],
        },
        data,
        root,
      );
    } else {
      plot.setData(data);
    }
    root.dataset.min = String(min);
    root.dataset.max = String(max);
  };
  return {
    root,
    push(at, stock) {
      xs.push(Math.max(at, xs.at(-1) ?? at)); // x must not go back (the browser's and the server's clocks differ)
      ys.push(stock);
      if (xs.length > POINTS) {
        xs.shift();
        ys.shift();
      }
      draw();
    },
    get size() {
      return xs.length;
    },
  };
}
