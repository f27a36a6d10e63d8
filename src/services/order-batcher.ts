// Group commit for placeOrder: orders that arrive while batches are in the
// database gather into the next batch, which goes out as one statement
// (placeOrdersBatch) as soon as one of them is back. An idle process sends an
// order on the next turn of the event loop (setImmediate, no timer), so
// batching costs nothing when there is nothing to batch. A hot product is
// then locked once per batch instead of once per order.
//
// Two batches in flight by default (ORDER_BATCH_IN_FLIGHT): while one holds a
// hot product's row lock and commits, the next is already in the database,
// queued on that lock, so the row never waits for a round trip to this
// process; orders on other products run beside it (against one in flight:
// BENCHMARKS.md, "Figures behind the code"). Batches lock products in id order,
// so two in flight cannot deadlock over products (nor could two processes').
//
// DataLoader does the gathering, the size cap and the per-key outcomes (a
// value or an Error each); the one piece of our own is its schedule.
//
// With PostgreSQL's breaker not closed (it stopped answering), an order that
// would wait for a slot behind batches still out is refused at once, and those
// waiting when the breaker opens are refused then (BackendUnavailableError:
// nothing sent, NOT_APPLIED): they would only have waited out the request's
// deadline behind batches that hang. With a slot free, the batch goes out and
// the pool's breaker decides (refused at once, or the probe).
import DataLoader from "dataloader";
import type { RawQuery } from "../db/raw-sql.js";
import { isDeadlock, isForeignKeyViolation, isOutOfRange, isUniqueViolation } from "../db/errors.js";
import { placeOrdersBatch, type BatchOrder, type PlaceOrderResult } from "../db/order.sql.js";
import { DeadlineExceededError } from "../errors/service-unavailable.js";
import { BackendUnavailableError, type BreakerState } from "../observability/breakers.js";
import { activeTraceCarrier, linkTo, tracer, tracingEnabled, withSpan } from "../observability/trace-context.js";

export interface OrderBatchStats {
  /** Batch statements sent (not counting the one-by-one fallback). */
  batches: number;
  /** Orders that went out in those batches. */
  batchedOrders: number;
  /** Batch size -> how many batches had that size. */
  sizes: Record<number, number>;
  /** Orders whose (customer, idempotency key) repeated one earlier in the same batch: sent in the next batch, where they replay. */
  deferred: number;
  /** Batches that hit a conflict only one order can explain (a duplicate key committed meanwhile by another process, a missing customer, a total out of range, a deadlock over such keys) and were placed one by one instead. */
  fallbacks: number;
  /** Batches that failed as a whole: every order in them got the error. */
  failed: number;
  /** Orders whose request's deadline passed while they waited for a batch: never sent. */
  expired: number;
  /** Orders waiting for the next batch right now. */
  waiting: number;
  /** Batches sent (or about to be) and not back yet: at most ORDER_BATCH_IN_FLIGHT. */
  inFlight: number;
  /** Orders refused unsent because PostgreSQL's breaker was not closed while every slot was taken. */
  refused: number;
}

/** PostgreSQL's circuit breaker as the batcher sees it. */
export interface BatcherCircuit {
  state(): BreakerState;
  /** Calls `listener` each time the breaker opens. */
  onOpen(listener: () => void): void;
}

export class OrderBatcher {
  readonly stats: OrderBatchStats = {
    batches: 0,
    batchedOrders: 0,
    sizes: {},
    deferred: 0,
    fallbacks: 0,
    failed: 0,
    expired: 0,
    waiting: 0,
    inFlight: 0,
    refused: 0,
  };
  private readonly ready: (() => void)[] = [];
  private readonly loader: DataLoader<BatchOrder, PlaceOrderResult>;

  /** Orders gathered and not sent yet, with how to refuse each (with a circuit only). */
  private readonly unsent = new Map<BatchOrder, (err: Error) => void>();
  /** Orders refused while they waited: left out when their batch is dispatched. */
  private readonly refusedOrders = new WeakSet<BatchOrder>();

  constructor(
    private readonly sql: RawQuery,
    maxBatch: number,
    private readonly maxInFlight = 1,
    private readonly circuit?: BatcherCircuit,
  ) {
    circuit?.onOpen(() => {
      for (const [o, refuse] of this.unsent) {
        this.refusedOrders.add(o);
        this.stats.refused++;
        refuse(new BackendUnavailableError("postgres"));
      }
      this.unsent.clear();
    });
    this.loader = new DataLoader((orders) => this.run(orders), {
      cache: false,
      maxBatchSize: maxBatch,
      batchScheduleFn: (dispatch) => {
        this.ready.push(dispatch);
        this.next();
      },
    });
  }

  /** Places the order in the next batch. Rejects with the database error if its batch failed as a whole. */
  place(order: BatchOrder): Promise<PlaceOrderResult> {
    const circuit = this.circuit;
    if (circuit && this.stats.inFlight >= this.maxInFlight && circuit.state() !== "closed") {
      this.stats.refused++;
      return Promise.reject(new BackendUnavailableError("postgres"));
    }
    this.stats.waiting++;
    // The batch runs in whichever caller's context scheduled it: each order keeps its own (for its outbox rows).
    const o = tracingEnabled() && !order.traceContext ? { ...order, traceContext: activeTraceCarrier() } : order;
    const placed = this.loader.load(o);
    if (!circuit) return placed;
    return new Promise((resolve, reject) => {
      this.unsent.set(o, reject);
      placed.then(resolve, reject);
    });
  }

  /**
   * Sends the oldest gathered batch if fewer than maxInFlight are out. A batch
   * that starts a quiet spell waits for the next turn of the event loop, so
   * whatever arrived in this one joins it. One that gathered behind a full
   * pipeline (`backlog`) goes now, while the batch that freed the slot is still
   * being answered: at a turn's end it would wait for all those responses to
   * be written, and a hot row's lock would sit idle meanwhile.
   */
  private next(backlog = false) {
    if (this.stats.inFlight >= this.maxInFlight || this.ready.length === 0) return;
    this.stats.inFlight++;
    // Taken off the queue now: a batch returning before setImmediate fires may schedule the one after.
    const dispatch = this.ready.shift()!;
    if (backlog) dispatch();
    else setImmediate(dispatch);
  }

  private async run(orders: readonly BatchOrder[]): Promise<(PlaceOrderResult | Error)[]> {
    this.stats.waiting -= orders.length;
    try {
      // A key repeated in one batch would conflict with itself: the repeat
      // goes into the next batch and replays the order this one placed.
      // An order whose request was answered at its deadline (told NOT_APPLIED) is left out: it must not commit now.
      const seen = new Set<string>();
      const batch: BatchOrder[] = [];
      const repeat = orders.map((o) => {
        this.unsent.delete(o);
        // Refused while it waited (its caller has the error already): never sent.
        if (this.refusedOrders.has(o)) return true;
        if (o.deadline?.expired) return true;
        const id = `${o.customerId}\n${o.idempotencyKey}`;
        if (seen.has(id)) return true;
        seen.add(id);
        batch.push(o);
        if (o.deadline) o.deadline.sent = true;
        return false;
      });
      const results = batch.length ? await this.send(batch) : [];
      let j = 0;
      return orders.map((o, i) => {
        if (!repeat[i]) return results[j++]!;
        if (this.refusedOrders.has(o)) return new BackendUnavailableError("postgres");
        if (o.deadline?.expired) {
          this.stats.expired++;
          return new DeadlineExceededError("database", "NOT_APPLIED");
        }
        this.stats.deferred++;
        // Resolving with a promise adopts it: this caller gets the next batch's outcome.
        return this.place(o) as unknown as PlaceOrderResult;
      });
    } finally {
      this.stats.inFlight--;
      this.next(true);
    }
  }

  private send(batch: BatchOrder[]): Promise<(PlaceOrderResult | Error)[]> {
    if (!tracingEnabled()) return this.sendBatch(batch);
    // One statement for many orders, each in a trace of its own: the batch is a span of its own that links
    // them all (one parent is impossible), so their database spans are not filed under the first order's trace.
    const links = batch.flatMap((o) => linkTo(o.traceContext) ?? []);
    const span = tracer().startSpan("placeOrders batch", { root: true, links, attributes: { "stockwire.orders": batch.length } });
    return withSpan(span, () => this.sendBatch(batch)).finally(() => span.end());
  }

  private async sendBatch(batch: BatchOrder[]): Promise<(PlaceOrderResult | Error)[]> {
    this.stats.batches++;
    this.stats.batchedOrders += batch.length;
    this.stats.sizes[batch.length] = (this.stats.sizes[batch.length] ?? 0) + 1;
    try {
      return await placeOrdersBatch(this.sql, batch);
    } catch (err) {
      // A deadlock too: products are locked in id order, but two processes'
      // batches racing over the same idempotency keys in opposite orders wait
      // on each other's order rows; PostgreSQL aborts one, which then goes one by one.
      if (!(isUniqueViolation(err) || isForeignKeyViolation(err) || isOutOfRange(err) || isDeadlock(err))) {
        this.stats.failed++;
        throw err;
      }
    }
    // One order's conflict failed the statement; nothing was written. Place
    // them one by one, in batch order, so only that order sees its error.
    this.stats.fallbacks++;
    const results: (PlaceOrderResult | Error)[] = [];
    for (const o of batch) {
      results.push(
        await placeOrdersBatch(this.sql, [o]).then(
          ([r]) => r!,
          (err: Error) => err,
        ),
      );
    }
    return results;
  }
}
