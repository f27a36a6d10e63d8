// One process-wide view of live stock: a single pub/sub subscription per
// watched product (not one per subscriber), the newest state each product is
// known to have, and snapshot reads batched across everyone who asks at once.
// Subscribers of every kind (the shared fan-out, per-subscriber feeds) take
// their changes from here, so what holds here holds for all of them:
// - versions only grow per product: duplicates and reordering from
//   at-least-once delivery stop here;
// - when the process falls behind (changes waited longer than LAG_BUDGET_MS
//   before it got to them), only the newest state per product is passed on:
//   every change carries absolute state, so skipping intermediate ones loses
//   nothing a shopper can see, and the final state always arrives;
// - after a pub/sub reconnect, watched products are re-read and anything
//   newer is passed on as CURRENT.
import DataLoader from "dataloader";
import type { StockChangedEvent, StockChangeReason } from "../events/stock-changed.event.js";
import type { PubSubBackend, Traced } from "../realtime/pubsub.js";
import type { TraceCarrier } from "../observability/trace-context.js";
import type { ProductRow, ProductService } from "./product.service.js";

export interface StockChange {
  /** The product as of this change: its row with this change's stock, reserved and version. */
  product: ProductRow;
  stock: number;
  /** Stock minus committed minus unexpired holds: what shoppers can still order or hold. */
  available: number;
  /** Units of unexpired holds. */
  reserved: number;
  version: number;
  delta: number;
  /** CURRENT for the state sent on subscribe and after a reconnect. */
  reason: StockChangeReason | "CURRENT";
  orderId: string | null;
  holdId: string | null;
  occurredAt: Date;
  /** The trace the change travels in (from the order or adjustment that made it), when tracing is on. */
  traceContext?: TraceCarrier;
}

export type StockListener = (change: StockChange) => void;

/** Changes that waited longer than this before the process got to them are conflated. */
const LAG_BUDGET_MS = 50;
/** Products per snapshot query when many subscribe at once. */
const SNAPSHOT_BATCH = 1000;

interface Watched {
  listeners: Set<StockListener>;
  /** Resolves once subscribed and read; the state is then known. */
  ready: Promise<void>;
  latest?: StockChange;
  unsubscribe?: () => void;
  /** Changes received but not yet passed on, oldest first, with when they arrived. */
  queue: { change: StockChange; at: number }[];
  /** Events that arrived before the first read finished: applied after it, if newer. */
  early?: Traced<StockChangedEvent>[];
}

export interface StockHubStats {
  watchedProducts: number;
  /** Changes from pub/sub that were passed on. */
  changes: number;
  /** Changes skipped because a newer one for the same product was passed on instead. */
  conflated: number;
  /** Snapshot queries run (each for up to SNAPSHOT_BATCH products). */
  snapshotQueries: number;
  /** Listeners that threw (a bug): counted, and the other listeners still got the change. */
  listenerErrors: number;
}

export class StockHub {
  private readonly watched = new Map<string, Watched>();
  private readonly dirty = new Set<string>();
  private flushScheduled = false;
  readonly stats: StockHubStats = { watchedProducts: 0, changes: 0, conflated: 0, snapshotQueries: 0, listenerErrors: 0 };
  // Everyone who needs current rows in the same tick shares one query.
  private readonly rows = new DataLoader<string, ProductRow | null>(
    async (ids) => {
      this.stats.snapshotQueries++;
      const [rows, lapsed] = await Promise.all([this.products.byIds(ids), this.products.lapsedReserved(ids)]);
      return rows.map((row, i) => row && { ...row, lapsedReserved: lapsed[i]! });
    },
    { cache: false, maxBatchSize: SNAPSHOT_BATCH },
  );

  constructor(
    private readonly pubsub: PubSubBackend,
    private readonly products: ProductService,
  ) {
    pubsub.onResync(() => void this.resync().catch(() => {}));
  }

  /**
   * Passes every newer state of `productId` to `listener` from now on;
   * resolves (with the function that stops it) once the product's state is
   * known, so current() answers from memory. Rejects if it does not exist.
   */
  async watch(productId: string, listener: StockListener): Promise<() => void> {
    let w = this.watched.get(productId);
    if (!w) {
      const entry: Watched = { listeners: new Set(), queue: [], early: [], ready: Promise.resolve() };
      entry.ready = this.start(productId, entry);
      this.watched.set(productId, (w = entry));
      this.stats.watchedProducts = this.watched.size;
    }
    w.listeners.add(listener);
    const entry = w;
    const stop = () => {
      entry.listeners.delete(listener);
      if (entry.listeners.size === 0 && this.watched.get(productId) === entry) {
        this.watched.delete(productId);
        this.stats.watchedProducts = this.watched.size;
        entry.unsubscribe?.();
      }
    };
    try {
      await entry.ready;
    } catch (err) {
      stop();
      throw err;
    }
    return stop;
  }

  /** The newest known state of watched products (from memory) and of others (one batched read); null if none exists. */
  async current(productIds: readonly string[]): Promise<(StockChange | null)[]> {
    return Promise.all(
      productIds.map(async (id) => {
        const w = this.watched.get(id);
        if (w) {
          await w.ready.catch(() => {});
          if (w.latest) return { ...w.latest, reason: "CURRENT" as const, delta: 0, orderId: null, holdId: null };
        }
        const row = await this.rows.load(id);
        return row && snapshot(row);
      }),
    );
  }

  /**
   * The newest state of a watched product that has been read (its stock and
   * version as committed), including changes not yet passed on; undefined if
   * it is not watched or not read yet. Synchronous: no I/O.
   */
  known(productId: string): StockChange | undefined {
    const w = this.watched.get(productId);
    return w && !w.early ? (w.queue.at(-1)?.change ?? w.latest) : undefined;
  }

  // Subscribe first, then read: nothing committed in between is missed.
  private async start(productId: string, w: Watched): Promise<void> {
    const unsubscribe = await this.pubsub.subscribe("stock", productId, (e) => this.receive(productId, e));
    if (this.watched.get(productId) !== w) return unsubscribe(); // everyone left meanwhile
    w.unsubscribe = unsubscribe;
    const row = await this.rows.load(productId);
    if (!row) throw new Error(`product ${productId} does not exist`);
    this.offer(productId, w, snapshot(row), true);
    const early = w.early ?? [];
    w.early = undefined;
    for (const e of early) this.receive(productId, e);
  }

  private receive(productId: string, e: Traced<StockChangedEvent>) {
    const w = this.watched.get(productId);
    if (!w) return;
    if (w.early) return void w.early.push(e); // the first read is still running
    const base = w.latest!.product;
    // Events from before holds existed carry neither: nothing was held then.
    const reserved = e.reserved ?? 0;
    const committed = e.committed ?? 0;
    const change: StockChange = {
      product: { ...base, stock: e.stock, committed, reserved, lapsedReserved: 0, version: e.version, updatedAt: new Date(e.occurredAt) },
      stock: e.stock,
      available: e.available ?? e.stock - committed - reserved,
      reserved,
      version: e.version,
      delta: e.delta,
      reason: e.reason,
      orderId: e.orderId,
      holdId: e.holdId ?? null,
      occurredAt: new Date(e.occurredAt),
    };
    if (e.traceContext) change.traceContext = e.traceContext;
    this.offer(productId, w, change, false);
  }

  /** Queues a change if it is newer than everything known; passes queued changes on after the current I/O. */
  private offer(productId: string, w: Watched, change: StockChange, silent: boolean) {
    const newest = w.queue.at(-1)?.change ?? w.latest;
    if (newest && change.version <= newest.version) return;
    if (silent) {
      w.latest = change; // the first read: what current() answers, not a change to announce
      return;
    }
    w.queue.push({ change, at: performance.now() });
    this.dirty.add(productId);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush() {
    this.flushScheduled = false;
    const now = performance.now();
    const products = [...this.dirty];
    this.dirty.clear();
    for (const productId of products) {
      const w = this.watched.get(productId);
      if (!w || !w.queue.length) continue;
      const queue = w.queue;
      w.queue = [];
      // Behind: hand on only the newest state. On time: every change, in order.
      const behind = now - queue[0]!.at > LAG_BUDGET_MS;
      const pass = behind ? [queue.at(-1)!] : queue;
      this.stats.conflated += queue.length - pass.length;
      for (const { change } of pass) {
        w.latest = change;
        this.stats.changes++;
        for (const listener of w.listeners) {
          // One failing listener must not keep the change from the others, nor throw out of this callback.
          try {
            listener(change);
          } catch {
            this.stats.listenerErrors++;
          }
        }
      }
    }
  }

  /** After a pub/sub reconnect: changes may have been missed, so read every watched product again. */
  private async resync() {
    const ids = [...this.watched.keys()];
    const rows = await Promise.all(ids.map((id) => this.rows.load(id)));
    rows.forEach((row, i) => {
      const w = this.watched.get(ids[i]!);
      if (row && w) this.offer(ids[i]!, w, snapshot(row), false);
    });
  }
}

function snapshot(p: ProductRow): StockChange {
  const reserved = p.reserved - (p.lapsedReserved ?? 0);
  return {
    product: p,
    stock: p.stock,
    available: p.stock - p.committed - reserved,
    reserved,
    version: p.version,
    delta: 0,
    reason: "CURRENT",
    orderId: null,
    holdId: null,
    occurredAt: p.updatedAt,
  };
}
