// The envelop plugin that hands stockChanged subscriptions to the shared
// fan-out. Setting up a subscription still runs Yoga's whole pipeline (parse,
// validate with the limits, context and auth, complexity, the resolver that
// checks the products): the resolver hands its validated request to the
// context's `live` (a LiveHandoff, schema/context.ts) this plugin put there,
// then graphql-js' per-subscriber stream is dropped, before it starts, and
// the fan-out serves the subscriber instead.
// Over graphql-ws it writes frames to the socket itself, so the stream handed
// back to graphql-ws never yields and only ends; over SSE it yields the
// shared results.
import { GraphQLError, type ExecutionArgs, type ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { WebSocket } from "ws";
import { Repeater, SlidingBuffer } from "@repeaterjs/repeater";
import type { ServerResponse } from "node:http";
import type { GraphQLContext, LiveHandoff } from "../schema/context.js";
import type { StockWatchRequest } from "../services/live.service.js";
import type { LiveFanout } from "./live-fanout.js";
import { NextFrames } from "./shared-frames.js";
import { HIGH_WATER_BYTES, type Delivery, type Target } from "./subscriber.js";

/** Set on the context of an operation that arrived over graphql-ws. */
export interface LiveSocket {
  socket: WebSocket;
  /** The graphql-ws operation id. */
  id: string;
  address: string;
  /**
   * Set by the fan-out when it serves this operation: its own stream, which
   * graphql-ws can take instead of the plugin layers envelop wrapped around it
   * (those would only ever see it end, as it never yields, and cost memory per socket).
   */
  served?: FanoutSocketStream;
}

/** Over HTTP (SSE), Yoga's context carries Node's response (the node server context). */
type Context = GraphQLContext & { liveSocket?: LiveSocket; res?: ServerResponse };

export function useLiveFanout(fanout: LiveFanout): Plugin {
  return {
    onSubscribe({ subscribeFn, setSubscribeFn }) {
      setSubscribeFn(async (args) => {
        const ctx = args.contextValue as Context;
        const handoff = new Handoff();
        ctx.live = handoff;
        const result = await subscribeFn(args);
        const request = handoff.request;
        if (!request || !isAsyncIterable(result)) return result;
        // Never iterated (the hand-off's stream has no items of its own): nothing to undo.
        await (result as AsyncGenerator).return?.(undefined);
        const admin = ctx.viewer.kind === "admin";
        const liveSocket = ctx.liveSocket;
        const response = ctx.res;
        // The request context is not used again (shared executions have their own): keep no copy per
        // socket. Set to undefined, not deleted: deleting turns the object into a (larger) dictionary.
        for (const key of ["request", "params", "connectionParams", "loaders", "live"]) {
          (ctx as unknown as Record<string, unknown>)[key] = undefined;
        }
        if (liveSocket) return (liveSocket.served = await overSocket(fanout, request, args, admin, liveSocket));
        return overStream(fanout, request, args, admin, response);
      });
    },
  };
}

/** One subscription's hand-off: the stockChanged resolver leaves its request here. */
class Handoff implements LiveHandoff {
  request: StockWatchRequest | undefined = undefined;

  serve(request: StockWatchRequest): AsyncIterable<never> {
    this.request = request;
    return replaced;
  }
}

const replaced: AsyncIterable<never> = {
  [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error("a stockChanged stream the fan-out took over was iterated")) }),
};

const tokenExpired = () =>
  new GraphQLError("Your token expired: subscribe again with a fresh one", { extensions: { code: "UNAUTHENTICATED" } });

const expiryTimer = (expiresAt: number | undefined, onExpiry: () => void) =>
  expiresAt === undefined ? undefined : setTimeout(onExpiry, Math.min(2 ** 31 - 1, Math.max(0, expiresAt - Date.now())));

/** graphql-ws: frames go straight to the socket; the stream graphql-ws iterates only ends (complete, or an error). */
async function overSocket(fanout: LiveFanout, request: StockWatchRequest, args: ExecutionArgs, admin: boolean, live: LiveSocket) {
  const detach = await fanout.attach(request, args, admin, new SocketTarget(live));
  return new FanoutSocketStream(detach, request.expiresAt);
}

const done = { done: true, value: undefined } as IteratorResult<never>;

/**
 * The stream of a graphql-ws subscriber the fan-out serves. It never yields
 * (frames go to the socket); it ends when graphql-ws returns it (complete, the
 * socket closed) or fails when the token expires (graphql-ws sends that as the
 * operation's `error`, code kept). Plugins whose envelop onEnd it bypasses
 * register with onEnd.
 */
export class FanoutSocketStream implements AsyncIterableIterator<never> {
  private readonly ended: Promise<IteratorResult<never>>;
  private settle!: (r: IteratorResult<never>) => void;
  private fail!: (e: unknown) => void;
  private readonly expiry: NodeJS.Timeout | undefined;
  private hooks: (() => void)[] | undefined = [];

  constructor(
    private readonly detach: () => void,
    expiresAt: number | undefined,
  ) {
    this.ended = new Promise((resolve, reject) => ((this.settle = resolve), (this.fail = reject)));
    this.ended.catch(() => {}); // graphql-ws awaits it; this only keeps an early expiry from counting as unhandled
    this.expiry = expiryTimer(expiresAt, () => {
      this.finish();
      this.fail(tokenExpired());
    });
  }

  /** Runs `fn` once the stream has ended (at once if it has). */
  onEnd(fn: () => void) {
    if (this.hooks) this.hooks.push(fn);
    else fn();
  }

  next() {
    return this.ended;
  }

  async return() {
    this.finish();
    this.settle(done);
    return done;
  }

  async throw(err: unknown): Promise<IteratorResult<never>> {
    this.finish();
    this.settle(done);
    throw err;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  private finish() {
    clearTimeout(this.expiry);
    this.detach();
    const hooks = this.hooks;
    this.hooks = undefined;
    hooks?.forEach((hook) => hook());
  }
}

/**
 * A graphql-ws subscriber's socket. A class, not closures: one object per
 * subscriber, and the fan-out's call sites see one kind of target.
 */
class SocketTarget implements Target {
  private readonly socket: WebSocket;
  // The subscriber's `next` frames, around the shared result's bytes.
  private readonly frames: NextFrames;

  constructor(private readonly live: LiveSocket) {
    this.socket = live.socket;
    this.frames = new NextFrames(live.socket, live.id);
  }

  get describe() {
    return `${this.live.address} subscription ${this.live.id}`;
  }

  send(d: Delivery) {
    this.frames.send(d);
  }

  backlog() {
    return this.socket.bufferedAmount;
  }

  closeSlow() {
    this.socket.close(1008, "Subscriber too slow: it stopped reading");
  }
}

/**
 * SSE (and any transport without a socket of ours): the shared result objects, serialized by Yoga.
 * Yoga's Node adapter waits for 'drain' before it writes on, so a client that stopped reading shows
 * as a response that needs draining, not as bytes piling up: counted as a full backlog, so its
 * updates are held (conflated) and, still so after slowSubscriberCloseMs, it is closed as over WebSocket.
 */
function overStream(fanout: LiveFanout, request: StockWatchRequest, args: ExecutionArgs, admin: boolean, response?: ServerResponse) {
  return new Repeater<ExecutionResult>(async (push, stop) => {
    const detach = await fanout.attach(request, args, admin, {
      describe: `SSE subscriber ${response?.req?.socket?.remoteAddress ?? ""}`.trim(),
      send: (d) => void push(d.result),
      backlog: () => (response?.writableNeedDrain ? Math.max(HIGH_WATER_BYTES, response.writableLength) : (response?.writableLength ?? 0)),
      closeSlow: () => {
        stop();
        // Its buffered frames would never be read: let the connection go.
        response?.destroy();
      },
    });
    const expiry = expiryTimer(request.expiresAt, () => stop(tokenExpired()));
    try {
      await stop;
    } finally {
      clearTimeout(expiry);
      detach();
    }
  }, new SlidingBuffer(256));
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === "function";
}
