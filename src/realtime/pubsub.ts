// Fan-out to subscribers on this instance. With REDIS_URL: Redis pub/sub via
// graphql-redis-subscriptions, so every API instance sees every event. Without:
// graphql-subscriptions' in-process PubSub (the embedded default). Both behind
// one typed interface: a channel kind decides the payload type, and a
// channel is named by the database id of its product or order.
import { EventEmitter } from "node:events";
import { Redis } from "ioredis";
import { PubSub, type PubSubEngine } from "graphql-subscriptions";
import { RedisPubSub } from "graphql-redis-subscriptions";
import type { Config } from "../config/config.js";
import type { StockChangedEvent } from "../events/stock-changed.event.js";
import type { OrderStatusChangedEvent } from "../events/order-status-changed.event.js";
import type { TraceCarrier } from "../observability/trace-context.js";
import type { Breaker } from "../observability/breakers.js";

/** An event on pub/sub: the public event, plus the trace context it travels in (when tracing is on). */
export type Traced<E> = E & { traceContext?: TraceCarrier };

/**
 * A change no stock event describes (a product's name or price, or a write the response cache has no
 * rule for): what cached results it makes old, as GraphQL typenames and global IDs; `all`: every one.
 */
export interface CatalogChangedMessage {
  entities: { typename: string; id?: string }[];
  all?: boolean;
}

/** What each kind of channel carries: one channel per product and one per order. */
export interface LiveChannels {
  stock: Traced<StockChangedEvent>;
  orderStatus: Traced<OrderStatusChangedEvent>;
  catalog: CatalogChangedMessage;
}
export type LiveChannel = keyof LiveChannels;

const prefixes: Record<LiveChannel, string> = { stock: "stock-changed.", orderStatus: "order-status.", catalog: "catalog-changed." };
/** The pub/sub channel name of one product's or order's events (`id` is the database id). */
export const channelName = (channel: LiveChannel, id: string) => prefixes[channel] + id;

export interface PubSubBackend {
  kind: "redis" | "memory";
  describe: string;
  /** The command connection to Redis (not the subscriber one), for others that keep state there (rate limits). */
  redis?: Redis;
  publish<C extends LiveChannel>(channel: C, id: string, payload: LiveChannels[C]): Promise<void>;
  /** Resolves, once subscribed, with the function that unsubscribes. */
  subscribe<C extends LiveChannel>(channel: C, id: string, onMessage: (payload: LiveChannels[C]) => void): Promise<() => void>;
  /** Every channel of a kind (Redis: a pattern subscription), e.g. every product's stock changes; resolves once subscribed. */
  subscribeAll<C extends LiveChannel>(channel: C, onMessage: (payload: LiveChannels[C]) => void): Promise<() => void>;
  /** Called when the connection that receives messages is lost (messages published from now on do not arrive until onResync). */
  onLost(listener: () => void): () => void;
  /**
   * Called after the connection to Redis came back: messages published while
   * it was down are lost to this instance, so subscribers re-read current state.
   */
  onResync(listener: () => void): () => void;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** How long a command or SUBSCRIBE waits for Redis when the config does not say (REDIS_COMMAND_TIMEOUT_MS). */
const DEFAULT_COMMAND_TIMEOUT_MS = 2_000;

/** Redis answered with an error (wrong type, a script's error): Redis working, not failing. */
const isRedisFailure = (err: unknown) => !(err instanceof Error && err.name === "ReplyError");

export function createPubSub(config: Config["redis"], breaker?: Breaker): PubSubBackend {
  if (config.kind === "memory") {
    // One listener per subscribed channel and process is normal here, not a leak.
    const eventEmitter = new EventEmitter();
    eventEmitter.setMaxListeners(0);
    return {
      kind: "memory",
      describe: "in-process",
      ...typed(new PubSub({ eventEmitter }), "memory"),
      onResync: () => () => {},
      onLost: () => () => {},
      ping: async () => {},
      close: async () => {},
    };
  }
  // ioredis reconnects on its own and re-subscribes its channels afterwards;
  // commands issued meanwhile wait in its offline queue: a publish or ping for
  // at most commandTimeout. Not on the subscriber connection: graphql-redis-
  // subscriptions fires its (UN)SUBSCRIBE commands without handling their
  // rejections, so a timed-out one would be an unhandled rejection; subscribe
  // is bounded below instead.
  const timeout = config.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const options = { maxRetriesPerRequest: null, retryStrategy: (n: number) => Math.min(n * 100, 1000), connectTimeout: timeout };
  const publisher = new Redis(config.url, { ...options, commandTimeout: timeout });
  const subscriber = new Redis(config.url, options);
  for (const client of [publisher, subscriber]) client.on("error", () => {});
  const listeners = new Set<() => void>();
  const lostListeners = new Set<() => void>();
  let lost = false;
  subscriber.on("close", () => {
    if (!lost) lostListeners.forEach((l) => l());
    lost = true;
  });
  subscriber.on("ready", () => {
    if (!lost) return;
    lost = false;
    // ioredis re-subscribes on "ready"; give it a moment before re-reading.
    setTimeout(() => listeners.forEach((l) => l()), 50);
  });
  const engine = new RedisPubSub({ publisher, subscriber });
  const where = new URL(config.url);
  // graphql-redis-subscriptions' unsubscribe fires its UNSUBSCRIBE commands
  // without handling their promises: once the connections are quitting, each
  // rejects with "Connection is closed" as an unhandled rejection. After
  // close() there is nothing to unsubscribe from anyway.
  let closed = false;
  const live = typed(engine, "redis", () => !closed, breaker, timeout);
  return {
    kind: "redis",
    describe: `${where.hostname}:${where.port || 6379}`,
    redis: publisher,
    ...live,
    onResync(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onLost(listener) {
      lostListeners.add(listener);
      return () => lostListeners.delete(listener);
    },
    async ping() {
      if (publisher.status !== "ready") throw new Error(`redis is ${publisher.status}`);
      await (breaker ? breaker.execute(() => publisher.ping(), isRedisFailure) : publisher.ping());
    },
    async close() {
      closed = true;
      await engine.close();
    },
  };
}

// subscribeAll: Redis matches a pattern itself (PSUBSCRIBE); in process, every message is also
// published once more on the kind's "*" name, which no single-id subscriber uses.
function typed(
  engine: PubSubEngine,
  kind: PubSubBackend["kind"],
  open: () => boolean = () => true,
  breaker?: Breaker,
  timeoutMs?: number,
): Pick<PubSubBackend, "publish" | "subscribe" | "subscribeAll"> {
  const guard = <T>(fn: () => Promise<T>) => (breaker ? breaker.execute(fn, isRedisFailure) : fn());
  // A SUBSCRIBE that Redis has not answered within timeoutMs fails ("Command timed out", as ioredis says it);
  // if it is answered later, it is undone.
  const bounded = (subscribing: Promise<number>) =>
    timeoutMs === undefined
      ? subscribing
      : new Promise<number>((resolve, reject) => {
          let late = false;
          const timer = setTimeout(() => {
            late = true;
            reject(new Error("Command timed out"));
          }, timeoutMs);
          subscribing.then(
            (id) => (clearTimeout(timer), late ? open() && engine.unsubscribe(id) : resolve(id)),
            (err: unknown) => (clearTimeout(timer), reject(err)),
          );
        });
  const subscribe = async (name: string, onMessage: (payload: never) => void, options: object) => {
    const subId = await guard(() => bounded(engine.subscribe(name, onMessage, options)));
    return () => {
      if (open()) engine.unsubscribe(subId);
    };
  };
  return {
    publish: async (channel, id, payload) => {
      await guard(() => engine.publish(channelName(channel, id), payload));
      if (kind === "memory") await engine.publish(channelName(channel, "*"), payload);
    },
    subscribe: (channel, id, onMessage) => subscribe(channelName(channel, id), onMessage, {}),
    subscribeAll: (channel, onMessage) => subscribe(channelName(channel, "*"), onMessage, kind === "redis" ? { pattern: true } : {}),
  };
}
