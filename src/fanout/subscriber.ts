// One stockChanged subscriber of the shared fan-out: what it was sent per
// product (versions only grow), what is held back while its socket is backed
// up or its rate does not allow a message yet (only the newest per product),
// and where its messages go (a Target: a graphql-ws socket or an SSE stream).
import type { ExecutionResult } from "graphql";
import type { StockWatchRequest } from "../services/live.service.js";

/** A result rendered once for many subscribers. */
export interface Delivery {
  json: string;
  result: ExecutionResult;
}

export interface Target {
  /** For log lines: who this is (address, subscription id). */
  describe: string;
  send(delivery: Delivery): void;
  /** Bytes written but not yet taken by the client (0 where that cannot be seen). */
  backlog(): number;
  /** Closes the connection of a subscriber that stopped reading. */
  closeSlow(): void;
}

/** Above this many unsent bytes a subscriber's updates are held back (and conflated). */
const HIGH_WATER_BYTES = 128 * 1024;

interface Hooks {
  onHeld(sub: Subscriber): void;
  onDelivered(): void;
  onConflated(): void;
}

export class Subscriber {
  /** Highest version sent per product. */
  private readonly sent = new Map<string, number>();
  /** Newest update held back per product. */
  private held: Map<string, { version: number; delivery: Delivery }> | undefined;
  /** When each product may next be sent (rate-limited subscribers only). */
  private readonly nextAt: Map<string, number> | undefined;
  private readonly interval: number;
  private started = false;
  private closed = false;
  /** Since when the backlog has been above the high-water mark (0: it is not). */
  stalledSince = 0;

  constructor(
    readonly shape: unknown,
    readonly target: Target,
    request: StockWatchRequest,
    private readonly hooks: Hooks,
  ) {
    this.interval = request.maxUpdatesPerSecond ? 1000 / request.maxUpdatesPerSecond : 0;
    if (this.interval) this.nextAt = new Map();
  }

  /** Sends the CURRENT snapshot, then whatever newer arrived while it was read. */
  start(snapshot: { productId: string; version: number; rendered: Delivery }[]) {
    this.started = true;
    const now = Date.now();
    for (const s of snapshot) this.write(s.productId, s.version, s.rendered, now);
    if (this.flush(now) !== "done") this.hooks.onHeld(this);
  }

  offer(productId: string, version: number, delivery: Delivery, now = Date.now()) {
    if (this.closed || version <= (this.sent.get(productId) ?? -1)) return;
    if (
      this.started &&
      !this.held?.has(productId) &&
      now >= (this.nextAt?.get(productId) ?? 0) &&
      this.target.backlog() < HIGH_WATER_BYTES
    ) {
      this.write(productId, version, delivery, now);
      return;
    }
    this.held ??= new Map();
    const previous = this.held.get(productId);
    if (previous && previous.version >= version) return;
    if (previous) this.hooks.onConflated();
    this.held.set(productId, { version, delivery });
    if (this.started) this.hooks.onHeld(this);
  }

  /** Sends what may be sent now; "done" when nothing is held any more. */
  flush(now: number): "done" | "waiting" | "stalled" {
    if (this.closed || !this.held?.size) return "done";
    if (this.target.backlog() >= HIGH_WATER_BYTES) {
      this.stalledSince ||= now;
      return "stalled";
    }
    this.stalledSince = 0;
    for (const [productId, h] of this.held) {
      if (now < (this.nextAt?.get(productId) ?? 0)) continue;
      this.held.delete(productId);
      this.write(productId, h.version, h.delivery, now);
    }
    return this.held.size ? "waiting" : "done";
  }

  close() {
    this.closed = true;
    this.held = undefined;
  }

  private write(productId: string, version: number, delivery: Delivery, now: number) {
    if (version <= (this.sent.get(productId) ?? -1)) return;
    this.sent.set(productId, version);
    this.nextAt?.set(productId, now + this.interval);
    this.target.send(delivery);
    this.hooks.onDelivered();
  }
}
