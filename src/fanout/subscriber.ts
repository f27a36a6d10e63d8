// One stockChanged subscriber of the shared fan-out: where its messages go (a
// Target: a graphql-ws socket or an SSE stream), and per product it watches a
// Watch: what it was sent (versions only grow) and what is held back while its
// socket is backed up or its rate does not allow a message yet (only the
// newest). A product's stream keeps the Watch objects of its subscribers, so
// delivering a change to one costs no lookup by product.
import type { ExecutionResult } from "graphql";
import type { StockWatchRequest } from "../services/live.service.js";

/** A result rendered once for many subscribers. */
export class Delivery {
  private utf8: Buffer | undefined = undefined;

  constructor(
    readonly json: string,
    readonly result: ExecutionResult,
  ) {}

  /** The JSON's UTF-8, encoded on first use (SSE never needs it), then written as is to every socket. */
  get bytes(): Buffer {
    return (this.utf8 ??= Buffer.from(this.json));
  }
}

export interface Target {
  /** For log lines: who this is (address, subscription id). */
  readonly describe: string;
  send(delivery: Delivery): void;
  /** Bytes written but not yet taken by the client (0 where that cannot be seen). */
  backlog(): number;
  /** Closes the connection of a subscriber that stopped reading. */
  closeSlow(): void;
}

/** Above this many unsent bytes a subscriber's updates are held back (and conflated). */
export const HIGH_WATER_BYTES = 128 * 1024;

/** The fan-out's counters this subscriber adds to, and where it reports being held back. */
export interface SubscriberHost {
  stats: { deliveries: number; conflated: number };
  hold(sub: Subscriber): void;
}

/** One subscriber's view of one product. */
export class Watch {
  /** Highest version sent. */
  sent = -1;
  /** When the next update may be sent (rate-limited subscribers only). */
  nextAt = 0;
  /** The newest update held back. */
  held: { version: number; delivery: Delivery } | undefined = undefined;

  constructor(
    readonly sub: Subscriber,
    readonly productId: string,
  ) {}
}

export class Subscriber {
  readonly watches: Watch[] = [];
  private readonly interval: number;
  private started = false;
  private closed = false;
  /** Since when the backlog has been above the high-water mark (0: it is not). */
  stalledSince = 0;

  constructor(
    readonly shape: unknown,
    readonly target: Target,
    request: StockWatchRequest,
    private readonly host: SubscriberHost,
  ) {
    this.interval = request.maxUpdatesPerSecond ? 1000 / request.maxUpdatesPerSecond : 0;
  }

  watch(productId: string): Watch {
    const w = new Watch(this, productId);
    this.watches.push(w);
    return w;
  }

  /** Sends the CURRENT snapshot, then whatever newer arrived while it was read. */
  start(snapshot: { watch: Watch; version: number; rendered: Delivery }[]) {
    this.started = true;
    const now = Date.now();
    for (const s of snapshot) this.write(s.watch, s.version, s.rendered, now);
    if (this.flush(now) !== "done") this.host.hold(this);
  }

  offer(w: Watch, version: number, delivery: Delivery, now: number) {
    if (this.closed || version <= w.sent) return;
    if (this.started && !w.held && now >= w.nextAt && this.target.backlog() < HIGH_WATER_BYTES) {
      this.write(w, version, delivery, now);
      return;
    }
    const previous = w.held;
    if (previous && previous.version >= version) return;
    if (previous) this.host.stats.conflated++;
    w.held = { version, delivery };
    if (this.started) this.host.hold(this);
  }

  /** Sends what may be sent now; "done" when nothing is held any more. */
  flush(now: number): "done" | "waiting" | "stalled" {
    if (this.closed || !this.watches.some((w) => w.held)) return "done";
    if (this.target.backlog() >= HIGH_WATER_BYTES) {
      this.stalledSince ||= now;
      return "stalled";
    }
    this.stalledSince = 0;
    let waiting = false;
    for (const w of this.watches) {
      const h = w.held;
      if (!h) continue;
      if (now < w.nextAt) {
        waiting = true;
        continue;
      }
      w.held = undefined;
      this.write(w, h.version, h.delivery, now);
    }
    return waiting ? "waiting" : "done";
  }

  close() {
    this.closed = true;
    for (const w of this.watches) w.held = undefined;
  }

  private write(w: Watch, version: number, delivery: Delivery, now: number) {
    if (version <= w.sent) return;
    w.sent = version;
    if (this.interval) w.nextAt = now + this.interval;
    this.target.send(delivery);
    this.host.stats.deliveries++;
  }
}
