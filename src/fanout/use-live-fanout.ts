// The envelop plugin that hands stockChanged subscriptions to the shared
// fan-out. Setting up a subscription still runs Yoga's whole pipeline (parse,
// validate with the limits, context and auth, complexity, the resolver that
// checks the products): only then is graphql-js' per-subscriber stream
// dropped, before it starts, and the fan-out serves the subscriber instead.
// Over graphql-ws it writes frames to the socket itself, so the stream handed
// back to graphql-ws never yields and only ends; over SSE it yields the
// shared results.
import { GraphQLError, type ExecutionArgs, type ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { WebSocket } from "ws";
import { Repeater, SlidingBuffer } from "@repeaterjs/repeater";
import type { GraphQLContext } from "../schema/context.js";
import type { StockFeed } from "../services/live.service.js";
import type { LiveFanout } from "./live-fanout.js";
import type { Target } from "./subscriber.js";

/** Set on the context of an operation that arrived over graphql-ws. */
export interface LiveSocket {
  socket: WebSocket;
  /** The graphql-ws operation id. */
  id: string;
  address: string;
}

type Context = GraphQLContext & { liveSocket?: LiveSocket };

export function useLiveFanout(fanout: LiveFanout): Plugin {
  return {
    onSubscribe({ subscribeFn, setSubscribeFn }) {
      setSubscribeFn(async (args) => {
        const result = await subscribeFn(args);
        const ctx = args.contextValue as Context;
        const feed = ctx.stockFeed;
        if (!feed || !isAsyncIterable(result)) return result;
        ctx.stockFeed = undefined;
        // Never iterated, so the per-subscriber feed never started: nothing to undo.
        await (result as AsyncGenerator).return?.(undefined);
        const admin = ctx.viewer.kind === "admin";
        const liveSocket = ctx.liveSocket;
        // The request context is not used again (shared executions have their own): keep no copy per socket.
        for (const key of ["request", "params", "connectionParams", "liveSocket"]) delete (ctx as unknown as Record<string, unknown>)[key];
        served.add(ctx);
        return liveSocket ? overSocket(fanout, feed, args, admin, liveSocket) : overStream(fanout, feed, args, admin);
      });
    },
  };
}

const served = new WeakSet<object>();

/** True for the context of an operation the fan-out serves (its per-operation state is no longer needed). */
export const servedByFanout = (contextValue: unknown): boolean =>
  typeof contextValue === "object" && contextValue !== null && served.has(contextValue);

const tokenExpired = () =>
  new GraphQLError("Your token expired: subscribe again with a fresh one", { extensions: { code: "UNAUTHENTICATED" } });

const expiryTimer = (expiresAt: number | undefined, onExpiry: () => void) =>
  expiresAt === undefined ? undefined : setTimeout(onExpiry, Math.min(2 ** 31 - 1, Math.max(0, expiresAt - Date.now())));

/** graphql-ws: frames go straight to the socket; the stream graphql-ws iterates only ends (complete, or an error). */
async function overSocket(fanout: LiveFanout, feed: StockFeed, args: ExecutionArgs, admin: boolean, live: LiveSocket) {
  const { socket } = live;
  const prefix = `{"id":${JSON.stringify(live.id)},"type":"next","payload":`;
  const target: Target = {
    describe: `${live.address} subscription ${live.id}`,
    send: (d) => socket.send(prefix + d.json + "}"),
    backlog: () => socket.bufferedAmount,
    closeSlow: () => socket.close(1008, "Subscriber too slow: it stopped reading"),
  };
  const detach = await fanout.attach(feed, args, admin, target);
  let settle!: (r: IteratorResult<never>) => void;
  let fail!: (e: unknown) => void;
  const ended = new Promise<IteratorResult<never>>((resolve, reject) => ((settle = resolve), (fail = reject)));
  ended.catch(() => {}); // graphql-ws awaits it; this only keeps an early expiry from counting as unhandled
  const finish = () => {
    clearTimeout(expiry);
    detach();
  };
  // graphql-ws sends an expired subscription's error as its `error` message (code kept).
  const expiry = expiryTimer(feed.request.expiresAt, () => {
    finish();
    fail(tokenExpired());
  });
  const done = { done: true, value: undefined } as IteratorResult<never>;
  const iterator: AsyncGenerator<never> = {
    next: () => ended,
    async return() {
      finish();
      settle(done);
      return done;
    },
    async throw(err) {
      finish();
      settle(done);
      throw err;
    },
    [Symbol.asyncIterator]: () => iterator,
  } as AsyncGenerator<never>;
  return iterator;
}

/** SSE (and any transport without a socket of ours): the shared result objects, serialized by Yoga. */
function overStream(fanout: LiveFanout, feed: StockFeed, args: ExecutionArgs, admin: boolean) {
  return new Repeater<ExecutionResult>(async (push, stop) => {
    const detach = await fanout.attach(feed, args, admin, {
      describe: "SSE subscriber",
      send: (d) => void push(d.result),
      backlog: () => 0,
      closeSlow: () => stop(),
    });
    const expiry = expiryTimer(feed.request.expiresAt, () => stop(tokenExpired()));
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
