// Buyers first: while the event loop lags (the process is short of CPU), live
// delivery yields to requests. A rated stream's interval between updates of a
// product is stretched by a factor that follows the lag: a subscriber that
// asked for 5 updates a second may get fewer. Each stream still sends the
// newest state when its slot comes (never an older one after a newer), so the
// final state arrives within the widest window: base interval x maxStretch.
// Subscribers that asked for every change are not paced here: they asked for
// exactly that, and the hub already conflates for them when the process falls
// behind (services/stock-hub.ts).
//
// The lag is measured by a timer's lateness (a sample every SAMPLE_MS), which
// sees a block of the loop as soon as the loop is free again; the stretch rises
// at once and falls back gradually, so one quick sample after a long block
// does not reopen the floodgates.

/** How often the lag is sampled (ms). */
export const SAMPLE_MS = 50;
/** Per sample, the stretch falls back at most to this share of itself. */
const DECAY = 0.8;

export interface PacingOptions {
  /** Lag (ms) up to which nothing is stretched; 0 turns pacing off. */
  lagThresholdMs: number;
  /** The widest stretch: an interval becomes at most this many times its base. */
  maxStretch: number;
}

/** The stretch after a sample of `lagMs`, from `previous`: pure, so the policy is testable on its own. */
export function nextStretch(previous: number, lagMs: number, opts: PacingOptions): number {
  if (!opts.lagThresholdMs) return 1;
  const wanted = lagMs <= opts.lagThresholdMs ? 1 : Math.min(opts.maxStretch, lagMs / opts.lagThresholdMs);
  return Math.max(1, wanted, previous * DECAY);
}

export interface Pacing {
  /** The current stretch: 1 when the loop keeps up. */
  readonly stretch: number;
  /** The interval (ms) between a stream's updates of one product, from its base (1000 / maxUpdatesPerSecond; 0: every change, never stretched). */
  interval(baseMs: number): number;
}

/** No pacing: every interval its base (the fan-out's default, and tests of the fan-out's own rules). */
export const unpaced: Pacing = { stretch: 1, interval: (baseMs) => baseMs };

export class LoopPacing implements Pacing {
  stretch = 1;
  /** Time spent stretched (s), for the metric. */
  stretchedSeconds = 0;
  private timer?: NodeJS.Timeout;
  private last = 0;

  constructor(private readonly opts: PacingOptions) {}

  interval(baseMs: number): number {
    return baseMs * this.stretch;
  }

  /** Feeds one sample of lag (ms); the timer calls it, tests may too. */
  sample(lagMs: number, elapsedMs: number) {
    if (this.stretch > 1) this.stretchedSeconds += elapsedMs / 1000;
    this.stretch = nextStretch(this.stretch, lagMs, this.opts);
  }

  start() {
    if (!this.opts.lagThresholdMs || this.timer) return;
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const elapsed = now - this.last;
      this.last = now;
      this.sample(Math.max(0, elapsed - SAMPLE_MS), elapsed);
    }, SAMPLE_MS);
    this.timer.unref();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stretch = 1;
  }
}
