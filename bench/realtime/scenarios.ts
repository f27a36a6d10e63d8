// The scenarios of a bench/realtime run: which subscribers watch which
// products, how many events per second go to which products, and (flash
// sale) how much stock there is and what rate each subscriber asks for.
import type { RealtimeOptions } from "./options.js";

export interface Scenario {
  no: number;
  kind: "matrix" | "flash";
  name: string;
  subscribers: number;
  /** Events (orders, PUBLISHes) per second. */
  rate: number;
  /** Deliveries per second offered: rate x the average subscribers of a product events go to. */
  offered: number;
  topology: "single" | "split";
  /** Product numbers the events go to (uniformly at random). */
  targets: number[];
  /** Per subscriber, the product numbers of its one subscription. */
  assignments: number[][];
  /** Each subscription asks for at most this many updates per second (flash sale). */
  maxUpdatesPerSecond?: number;
  /** Stock of each target at the start of every phase (flash sale): events stop when it is sold out. */
  units?: number;
  /** Seed of this scenario's random choices. */
  seed: number;
}

/** mulberry32: a small seeded PRNG, so runs pick the same products. */
export function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` of `from`, a random subset per subscriber, sorted. */
function assign(subscribers: number, from: number[], count: number, random: () => number): number[][] {
  const out: number[][] = [];
  for (let s = 0; s < subscribers; s++) {
    const pick = [...from];
    for (let j = 0; j < count; j++) {
      const k = j + Math.floor(random() * (pick.length - j));
      [pick[j], pick[k]] = [pick[k]!, pick[j]!];
    }
    out.push(pick.slice(0, count).sort((a, b) => a - b));
  }
  return out;
}

/** Products 0..products-1 are the matrix's; product number `products` is the flash sale's. */
export function buildScenarios(opts: RealtimeOptions): Scenario[] {
  const scenarios: Scenario[] = [];
  const matrixProducts = Array.from({ length: opts.products }, (_, i) => i);
  const flashProduct = opts.products;
  const perProduct = (n: number) => (n * opts.perSubscriber) / opts.products;
  for (const topology of opts.topologies) {
    if (opts.scenarios.has("matrix")) {
      for (const n of opts.subscribers) {
        const rates = opts.rates ?? opts.deliveries.map((d) => Math.round((d / perProduct(n)) * 100) / 100);
        for (const rate of rates) {
          const no = scenarios.length + 1;
          const seed = opts.seed * 1000 + no;
          scenarios.push({
            no,
            kind: "matrix",
            name: `${n.toLocaleString("en-US")} subscribers, ${rate} events/s (${Math.round(rate * perProduct(n)).toLocaleString("en-US")} deliveries/s offered), ${topology}`,
            subscribers: n,
            rate,
            offered: rate * perProduct(n),
            topology,
            targets: matrixProducts,
            assignments: assign(n, matrixProducts, opts.perSubscriber, rng(seed)),
            seed,
          });
        }
      }
    }
    if (opts.scenarios.has("flash")) {
      const f = opts.flash;
      const no = scenarios.length + 1;
      const units = f.units ?? Math.max(1, Math.round(0.8 * f.rate * ((opts.warmupMs + opts.durationMs) / 1000)));
      scenarios.push({
        no,
        kind: "flash",
        name: `flash sale: ${f.subscribers.toLocaleString("en-US")} subscribers on one product, ${f.rate} orders/s, ${units} units, maxUpdatesPerSecond ${f.maxUpdatesPerSecond}, ${topology}`,
        subscribers: f.subscribers,
        rate: f.rate,
        offered: f.rate * f.subscribers,
        topology,
        targets: [flashProduct],
        assignments: Array.from({ length: f.subscribers }, () => [flashProduct]),
        maxUpdatesPerSecond: f.maxUpdatesPerSecond,
        units,
        seed: opts.seed * 1000 + no,
      });
    }
  }
  return scenarios;
}

/** Subscribers per product, index = product number. */
export function watchersOf(s: Scenario, products: number): number[] {
  const w = new Array<number>(products).fill(0);
  for (const a of s.assignments) for (const p of a) w[p]!++;
  return w;
}
