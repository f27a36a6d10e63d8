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
//   newer is passed on as CURRENT;
// - each state carries all of the product's levels: the snapshot's, with the
//   levels each event touched merged in (per location, the highest level
//   version wins), so skipping a change never loses a location's numbers.
import DataLoader from "dataloader";
import type { StockChangedEvent, StockChangedLevel, StockChangeReason } from "../events/stock-changed.event.js";
import type { LevelRow } from "../db/location.sql.js";
import { idOfType } from "../ids/index.js";
import type { PubSubBackend, Traced } from "../realtime/pubsub.js";
import type { TraceCarrier } from "../observability/trace-context.js";
import type { ProductRow, ProductService } from "./product.service.js";
import { heldNow } from "./hold-status.js";

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
  /** Every level of the product known after this change, in Product.stockLevels order as at the snapshot. */
  levels: readonly LevelRow[];
  /**
   * The locations whose levels this change (or the changes it stands for, when newer ones replaced older)
   * touched; null: any may have changed (a snapshot, or an event without levels).
   */
  touched: readonly string[] | null;
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

/** A product and its levels as read. */
interface Snapshot {
  product: ProductRow;
  levels: readonly LevelRow[];
}

/** Where the hub reads levels (LocationService); without one, states carry no levels. */
export interface LevelSource {
  levelsByProductIds(productIds: readonly string[]): Promise<LevelRow[][]>;
}

export class StockHub {
  private readonly watched = new Map<string, Watched>();
  private readonly dirty = new Set<string>();
  private flushScheduled = false;
  readonly stats: StockHubStats = { watchedProducts: 0, changes: 0, conflated: 0, snapshotQueries: 0, listenerErrors: 0 };
  // Everyone who needs current rows in the same tick shares one query.
  private readonly rows = new DataLoader<string, Snapshot | null>(
    async (ids) => {
      this.stats.snapshotQueries++;
      // The counts from the hold reading, taken after the row in one snapshot with its lapsed holds
      // (db/hold-times.sql.ts): as new as the row or newer, and never a sweep between the two.
      const rows = await this.products.byIds(ids);
      const readings = await this.products.holdReadings(ids);
      // Levels after the product rows: at least as new as them, so no event the product's version already
      // covers (and that would be dropped as old) holds a level newer than these. Merging keeps the newest per level.
      const levels = this.levels ? await this.levels.levelsByProductIds(ids) : ids.map(() => []);
      return rows.map((row, i) => {
        const r = readings[i];
        if (!row || !r) return null;
        const product = {
          ...row,
          stock: r.stock,
          committed: r.committed,
          reserved: r.reserved,
          version: r.version,
          lapsedReserved: r.lapsed,
        };
        return { product, levels: levels[i]! };
      });
    },
    { cache: false, maxBatchSize: SNAPSHOT_BATCH },
  );

  constructor(
    private readonly pubsub: PubSubBackend,
    private readonly products: ProductService,
    private readonly levels?: LevelSource,
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
          if (w.latest) return { ...w.latest, reason: "CURRENT" as const, delta: 0, orderId: null, holdId: null, touched: null };
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
    // The newest state known, queued or passed on: the levels this event did not touch are as there.
    const newest = w.queue.at(-1)?.change ?? w.latest!;
    const base = newest.product;
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
      levels: e.levels ? mergeLevels(newest.levels, productId, e.levels) : newest.levels,
      touched: e.levels ? e.levels.map((l) => idOfType("Location", l.locationId) ?? "") : null,
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
      const pass = behind ? [{ change: standingFor(queue.map((q) => q.change)) }] : queue;
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

function snapshot({ product: p, levels }: Snapshot): StockChange {
  const { reserved, available } = heldNow({ ...p, lapsed: p.lapsedReserved ?? 0 });
  return {
    product: p,
    stock: p.stock,
    available,
    reserved,
    version: p.version,
    delta: 0,
    reason: "CURRENT",
    orderId: null,
    holdId: null,
    occurredAt: p.updatedAt,
    levels,
    touched: null,
  };
}

/** `levels` with an event's levels merged in: per location the higher level version wins, a new location comes last. */
function mergeLevels(levels: readonly LevelRow[], productId: string, touched: readonly StockChangedLevel[]): readonly LevelRow[] {
  const merged = levels.slice();
  for (const l of touched) {
    const locationId = idOfType("Location", l.locationId);
    if (!locationId) continue;
    const { onHand, committed, reserved, incoming, version, fulfilsOrders: fulfils } = l;
    const row: LevelRow = { productId, locationId, onHand, committed, reserved, incoming, version, fulfils };
    const i = merged.findIndex((m) => m.locationId === locationId);
    if (i < 0) merged.push(row);
    else if (merged[i]!.version < version) merged[i] = row;
  }
  return merged;
}

/** The newest of `changes` (oldest first), standing for all of them: it touched what any of them touched. */
function standingFor(changes: StockChange[]): StockChange {
  const newest = changes.at(-1)!;
  if (changes.length === 1 || newest.touched === null) return newest;
  const touched = new Set<string>();
  for (const c of changes) {
    if (c.touched === null) return { ...newest, touched: null };
    c.touched.forEach((id) => touched.add(id));
  }
  return { ...newest, touched: [...touched] };
}
