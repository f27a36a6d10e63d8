// Execute once, send many: the stockChanged fan-out. Subscribers are grouped
// by the shape of their operation (document, operation name, the variables
// its selection uses, admin or not). For each stock change the selection set
// runs once per shape and is serialized once; each subscriber then costs its
// frame and a socket write. Per product and rate, a stream passes changes on
// (at most maxUpdatesPerSecond, the newest each time; with locationIds, only
// changes that touch one of them); per subscriber, only
// versions newer than what it was sent, its CURRENT snapshot first, and,
// while its socket is backed up, the newest state per product (conflation).
//
// Hand-rolled on purpose: no library shares execution across subscribers;
// graphql-ws and Yoga still own the protocol, parsing, validation, auth,
// limits and masking (see use-live-fanout.ts and ws-server.ts).
import type { ExecutionArgs, ExecutionResult } from "graphql";
import type { StockChange, StockHub } from "../services/stock-hub.js";
import type { StockWatchRequest } from "../services/live.service.js";
import { operationShape } from "./shape.js";
import { unpaced, type Pacing } from "./pacing.js";
import { Delivery, Subscriber, type SubscriberHost, type Target, type Watch } from "./subscriber.js";
import { SpanKind, continueTrace, withSpan } from "../observability/trace-context.js";
import type { Span } from "@opentelemetry/api";

export type Execute = (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult> | unknown;

export interface FanoutOptions {
  hub: StockHub;
  /** A fresh context for one shared execution: anonymous for public shapes, an admin for admin ones. */
  sharedContext(admin: boolean): unknown;
  /** The enveloped execute (Yoga's plugins, masked errors) shared executions run through. */
  execute: Execute;
  slowSubscriberCloseMs: number;
  log?: (line: string) => void;
  /** A change's age (s, from its occurredAt) when it was written to sockets: sampled once per change per stream. */
  deliveryLatency?: (seconds: number) => void;
  /** Stretches streams' intervals while the event loop lags (default: none). */
  pacing?: Pacing;
}

export interface FanoutStats {
  subscribers: number;
  shapes: number;
  /** Shared executions of a selection set (once per shape per change). */
  executions: number;
  /** Messages written to subscribers. */
  deliveries: number;
  /** Updates a subscriber did not get because a newer one replaced them (backlog or rate). */
  conflated: number;
  /** Subscribers closed for not reading. */
  slowClosed: number;
}

/** A shape's rendered result for one change: serialized once, shared by every subscriber of the shape. */
type Rendered = Delivery;

class Shape {
  readonly subscribers = new Set<Subscriber>();
  // The last change rendered, per product: every stream and CURRENT snapshot of that version shares it.
  private readonly last = new Map<string, { version: number; reason: string; rendered: Rendered | Promise<Rendered> }>();

  private readonly args: ExecutionArgs;

  constructor(
    readonly key: string,
    args: ExecutionArgs,
    readonly admin: boolean,
    private readonly fanout: LiveFanout,
  ) {
    // A copy: the transport lets go of its own execution arguments once the fan-out serves them.
    const { schema, document, operationName, variableValues } = args;
    this.args = { schema, document, operationName, variableValues };
  }

  render(productId: string, change: StockChange): Rendered | Promise<Rendered> {
    const hit = this.last.get(productId);
    if (hit && hit.version === change.version && hit.reason === change.reason) return hit.rendered;
    const rendered = this.fanout.execute({ ...this.args, rootValue: change, contextValue: this.fanout.sharedContext(this.admin) });
    const entry = { version: change.version, reason: change.reason, rendered };
    this.last.set(productId, entry);
    if (isPromise(rendered))
      void rendered.then(
        (r) => this.last.get(productId) === entry && (entry.rendered = r),
        () => this.last.delete(productId),
      );
    return rendered;
  }

  forget(productId: string) {
    this.last.delete(productId);
  }
}

/**
 * One product at one rate and location filter: passes changes to its subscribers, at most `rate` a second
 * when it has one, only those that touch one of `locations` when it has them. Each state carries all levels,
 * so a change held back and replaced by a newer one loses nothing.
 */
class Stream {
  /** Its subscribers' views of this product. */
  readonly watches = new Set<Watch>();
  private nextAt = 0;
  private held?: StockChange;
  private timer?: NodeJS.Timeout;
  // Deliveries whose rendering is asynchronous go out in change order.
  private tail?: Promise<void>;
  /** The interval its subscribers asked for (ms; 0: every change). */
  private readonly base: number;

  constructor(
    readonly productId: string,
    rate: number | null,
    private readonly locations: ReadonlySet<string> | null,
    private readonly fanout: LiveFanout,
  ) {
    this.base = rate ? 1000 / rate : 0;
  }

  offer(change: StockChange) {
    if (this.locations && change.touched && !change.touched.some((id) => this.locations!.has(id))) return;
    // The pacing stretches the interval while the event loop lags (fanout/pacing.ts); unrated streams
    // are paced then too. A held change always goes out at its slot, so the newest state arrives.
    const interval = this.fanout.pacing.interval(this.base);
    if (!interval && !this.timer) return this.emit(change);
    const now = Date.now();
    if (now >= this.nextAt && !this.timer) {
      this.nextAt = now + interval;
      return this.emit(change);
    }
    // The newest state goes out at the next slot; a change it replaces is one no subscriber of this stream gets.
    if (this.held) this.fanout.stats.conflated += this.watches.size;
    this.held = change;
    this.timer ??= setTimeout(
      () => {
        this.timer = undefined;
        const held = this.held!;
        this.held = undefined;
        this.nextAt = Date.now() + this.fanout.pacing.interval(this.base);
        this.emit(held);
      },
      Math.max(0, this.nextAt - now),
    );
  }

  private emit(change: StockChange) {
    // A change that travels in a trace (tracing on) is delivered in a span of that trace: one per change per
    // stream, whatever the number of subscribers (see traceDelivery).
    const span = change.traceContext && traceDelivery(this.productId, change);
    if (!span) return this.deliver(change);
    withSpan(span, () => this.deliver(change, span));
  }

  private deliver(change: StockChange, span?: Span) {
    // Render once per shape among this stream's subscribers.
    const renders = new Map<Shape, Rendered | Promise<Rendered>>();
    let pending = false;
    for (const w of this.watches) {
      const shape = w.sub.shape as Shape;
      if (renders.has(shape)) continue;
      const r = shape.render(this.productId, change);
      renders.set(shape, r);
      pending ||= isPromise(r);
    }
    // No per-subscriber allocation on the way to the sockets: one pass, one clock read, and no lookup
    // per subscriber when the stream has one shape (the common case).
    const deliver = (rendered: Map<Shape, Rendered | Promise<Rendered>>) => {
      const now = Date.now();
      const before = this.fanout.stats.deliveries;
      const { version } = change;
      const [only, onlyRendered] = rendered.size === 1 ? [...rendered][0]! : [undefined, undefined];
      for (const w of this.watches) {
        const shape = w.sub.shape;
        const r = shape === only ? onlyRendered : rendered.get(shape as Shape);
        if (r) w.sub.offer(w, version, r as Rendered, now);
      }
      if (this.fanout.stats.deliveries > before) this.fanout.sampleLatency(change, now);
      span?.setAttribute("stockwire.live.deliveries", this.fanout.stats.deliveries - before);
      span?.end();
    };
    if (!this.tail && !pending) return deliver(renders);
    // Subscribers that join meanwhile read a snapshot at least this new, so skipping them loses nothing.
    const ready = Promise.all([...renders].map(async ([shape, r]) => [shape, await r] as const)).then((entries) => new Map(entries));
    const failed = () => span?.end();
    const tail = (this.tail ?? Promise.resolve()).then(() => ready).then(deliver, failed);
    this.tail = tail;
    void tail.then(() => this.tail === tail && (this.tail = undefined));
  }

  stop() {
    clearTimeout(this.timer);
  }
}

interface Watched {
  /** By rate and location filter (streamKey). */
  streams: Map<string, Stream>;
  unwatch?: () => void;
  ready: Promise<void>;
}

export class LiveFanout implements SubscriberHost {
  readonly stats: FanoutStats = { subscribers: 0, shapes: 0, executions: 0, deliveries: 0, conflated: 0, slowClosed: 0 };
  private readonly shapes = new Map<string, Shape>();
  private readonly products = new Map<string, Watched>();
  // Subscribers with something held back (backlog or rate), checked on a short timer.
  private readonly held = new Set<Subscriber>();
  private flushTimer?: NodeJS.Timeout;
  readonly pacing: Pacing;

  constructor(private readonly opts: FanoutOptions) {
    this.pacing = opts.pacing ?? unpaced;
  }

  execute(args: ExecutionArgs): Rendered | Promise<Rendered> {
    this.stats.executions++;
    const result = this.opts.execute(args) as ExecutionResult | Promise<ExecutionResult>;
    return isPromise(result) ? result.then(serialize) : serialize(result);
  }

  sharedContext(admin: boolean) {
    return this.opts.sharedContext(admin);
  }

  /** One sample per change per stream, not per subscriber; CURRENT snapshots are not changes. */
  sampleLatency(change: StockChange, now: number) {
    if (this.opts.deliveryLatency && change.reason !== "CURRENT") this.opts.deliveryLatency((now - change.occurredAt.getTime()) / 1000);
  }

  /**
   * Serves `request` (a validated stockChanged request) to `target` from now on:
   * the CURRENT state of each product first, then newer versions. Resolves
   * with the function that detaches it.
   */
  async attach(request: StockWatchRequest, args: ExecutionArgs, admin: boolean, target: Target): Promise<() => void> {
    const key = operationShape(args, admin);
    let shape = this.shapes.get(key);
    if (!shape) this.shapes.set(key, (shape = new Shape(key, args, admin, this)));
    const sub = new Subscriber(shape, target, request, this);
    shape.subscribers.add(sub);
    this.stats.shapes = this.shapes.size;
    this.stats.subscribers++;
    const rate = request.maxUpdatesPerSecond ?? 0;
    const locations = request.locationIds?.length ? [...request.locationIds].sort() : null;
    const streamKey = `${rate}:${locations?.join(",") ?? ""}`;
    const streams: Stream[] = [];
    let detached = false;
    const detach = () => {
      if (detached) return;
      detached = true;
      this.stats.subscribers--;
      this.held.delete(sub);
      sub.close();
      shape!.subscribers.delete(sub);
      if (!shape!.subscribers.size) this.shapes.delete(key);
      this.stats.shapes = this.shapes.size;
      for (const [i, stream] of streams.entries()) {
        stream.watches.delete(sub.watches[i]!);
        if (stream.watches.size) continue;
        stream.stop();
        const w = this.products.get(stream.productId);
        w?.streams.delete(streamKey);
        if (w && !w.streams.size) {
          this.products.delete(stream.productId);
          w.unwatch?.();
          for (const s of this.shapes.values()) s.forget(stream.productId);
        }
      }
    };
    try {
      // Join each product's stream (watching it first), then read: what commits in between is held, not lost.
      await Promise.all(
        request.productIds.map(async (productId) => {
          const w = this.watch(productId);
          let stream = w.streams.get(streamKey);
          if (!stream) w.streams.set(streamKey, (stream = new Stream(productId, rate || null, locations && new Set(locations), this)));
          // streams[i] is the stream of sub.watches[i].
          stream.watches.add(sub.watch(productId));
          streams.push(stream);
          await w.ready;
        }),
      );
      const current = await this.opts.hub.current(request.productIds);
      const snapshot = await Promise.all(
        current.map(async (c, i) => {
          const productId = request.productIds[i]!;
          // Watches were made in request order, above.
          return c && { watch: sub.watches[i]!, version: c.version, rendered: await shape!.render(productId, c) };
        }),
      );
      if (!detached) sub.start(snapshot.flatMap((s) => (s ? [s] : [])));
    } catch (err) {
      detach();
      throw err;
    }
    return detach;
  }

  private watch(productId: string): Watched {
    const w = this.products.get(productId);
    if (w) return w;
    const entry: Watched = { streams: new Map(), ready: Promise.resolve() };
    entry.ready = this.opts.hub
      .watch(productId, (change) => entry.streams.forEach((s) => s.offer(change)))
      .then((unwatch) => {
        if (this.products.get(productId) === entry) entry.unwatch = unwatch;
        else unwatch(); // everyone left meanwhile
      });
    this.products.set(productId, entry);
    return entry;
  }

  /** Keeps `sub` (it holds updates back) on the list flushed every 20 ms. */
  hold(sub: Subscriber) {
    this.held.add(sub);
    this.flushTimer ??= setInterval(() => this.flushHeld(), 20);
  }

  private flushHeld() {
    const now = Date.now();
    for (const sub of this.held) {
      const state = sub.flush(now);
      if (state === "done") this.held.delete(sub);
      else if (state === "stalled" && now - sub.stalledSince > this.opts.slowSubscriberCloseMs) {
        this.held.delete(sub);
        this.stats.slowClosed++;
        this.opts.log?.(
          `live: closing a subscriber that read nothing for ${Math.round((now - sub.stalledSince) / 1000)} s (${sub.target.describe})`,
        );
        sub.target.closeSlow();
      }
    }
    if (!this.held.size) {
      clearInterval(this.flushTimer);
      this.flushTimer = undefined;
    }
  }

  stop() {
    clearInterval(this.flushTimer);
    for (const w of this.products.values()) {
      w.streams.forEach((s) => s.stop());
      w.unwatch?.();
    }
    this.products.clear();
  }
}

/**
 * The span of one change's delivery to a stream's sockets, a child of the
 * bridge's span (from the Redis payload): in the trace of the order that
 * caused the change. Its attribute stockwire.live.deliveries counts the frames
 * written; no span per subscriber. A change the hub conflated away (the
 * process fell behind) ends its trace at the bridge.
 */
function traceDelivery(productId: string, change: StockChange): Span | undefined {
  return continueTrace("deliver stockChanged", change.traceContext, {
    kind: SpanKind.INTERNAL,
    attributes: { "stockwire.product.id": productId, "stockwire.stock.version": change.version },
  });
}

function serialize(result: ExecutionResult): Rendered {
  return new Delivery(JSON.stringify(result), result);
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === "function";
}
