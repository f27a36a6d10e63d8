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
import type { PriceChangedEvent } from "../events/price-changed.event.js";
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

/** A customer's group changed (setCustomerGroup): the prices they see on other instances are old. */
export interface CustomerGroupChangedMessage {
  /** The customer's database id. */
  customerId: string;
}

/**
 * A bulk import job's row changed (a chunk committed, or its status moved): only a signal, so
 * subscribers re-read the row and what they send is always the database's.
 */
export interface BulkOperationChangedMessage {
  id: string;
}

/** What each kind of channel carries: one channel per product, order and bulk import job. */
export interface LiveChannels {
  stock: Traced<StockChangedEvent>;
  orderStatus: Traced<OrderStatusChangedEvent>;
  catalog: CatalogChangedMessage;
  price: PriceChangedEvent;
  customerGroup: CustomerGroupChangedMessage;
  bulkOperation: BulkOperationChangedMessage;
}
export type LiveChannel = keyof LiveChannels;

const prefixes: Record<LiveChannel, string> = {
  stock: "stock-changed.",
  orderStatus: "order-status.",
  catalog: "catalog-changed.",
  price: "price-changed.",
  customerGroup: "customer-group-changed.",
  bulkOperation: "bulk-operation.",
};
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
  /** Delivers to this process's subscribers only (a message a pipeline thread could not pass through Redis). */
  deliverLocally?<C extends LiveChannel>(channel: C, id: string, payload: LiveChannels[C]): Promise<void>;
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

// One listener per subscribed channel and process is normal here, not a leak.
function unlimitedEmitter() {
  const eventEmitter = new EventEmitter();
  eventEmitter.setMaxListeners(0);
  return eventEmitter;
}

export interface PubSubOptions {
  /** Counts Redis' failures and timeouts; open, publishes are refused at once. */
  breaker?: Breaker;
  /**
   * While Redis is unreachable (withLocalFallback): "local" delivers to this process's subscribers (API
   * processes); a function hands each message to whoever has them (a pipeline thread: its API thread).
   */
  fallback?: "local" | HandOff;
}

export type HandOff = (channel: LiveChannel, id: string, payload: LiveChannels[LiveChannel]) => void;

export function createPubSub(config: Config["redis"], options_: PubSubOptions = {}): PubSubBackend {
  const { breaker } = options_;
  if (config.kind === "memory") {
    return {
      kind: "memory",
      describe: "in-process",
      ...typed(new PubSub({ eventEmitter: unlimitedEmitter() }), "memory"),
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
  // rejections, so a timed-out one would be an unhandled rejection; the wait
  // for a SUBSCRIBE is bounded in withLocalFallback instead.
  const timeout = config.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const options = { maxRetriesPerRequest: null, retryStrategy: (n: number) => Math.min(n * 100, 1000), connectTimeout: timeout };
  const publisher = new Redis(config.url, { ...options, commandTimeout: timeout });
  // The subscriber sends no CLIENT SETINFO: a SUBSCRIBE issued while connecting can go out before
  // ioredis' handshake commands, and Redis refuses them then (ioredis #2037, fixed in 6). It keeps its
  // ready check: after a Redis restart that waits out LOADING before it re-subscribes.
  const subscriber = new Redis(config.url, { ...options, disableClientInfo: true });
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
  const redisLive = typed(engine, "redis", () => !closed, breaker);
  const local = typed(new PubSub({ eventEmitter: unlimitedEmitter() }), "memory");
  const { fallback } = options_;
  const live = fallback
    ? withLocalFallback(
        redisLive,
        local,
        { publisher: () => publisher.status === "ready", subscriber: () => subscriber.status === "ready" },
        timeout,
        fallback === "local" ? undefined : fallback,
      )
    : redisLive;
  return {
    kind: "redis",
    describe: `${where.hostname}:${where.port || 6379}`,
    redis: publisher,
    ...live,
    ...(fallback && { deliverLocally: local.publish }),
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
function typed(engine: PubSubEngine, kind: PubSubBackend["kind"], open: () => boolean = () => true, breaker?: Breaker): Live {
  const subscribe = async (name: string, onMessage: (payload: never) => void, options: object) => {
    const subId = await engine.subscribe(name, onMessage, options);
    return () => {
      if (open()) engine.unsubscribe(subId);
    };
  };
  const publish = async (name: string, payload: unknown) => {
    await (breaker ? breaker.execute(() => engine.publish(name, payload), isRedisFailure) : engine.publish(name, payload));
  };
  return {
    publish: async (channel, id, payload) => {
      await publish(channelName(channel, id), payload);
      if (kind === "memory") await publish(channelName(channel, "*"), payload);
    },
    subscribe: (channel, id, onMessage) => subscribe(channelName(channel, id), onMessage, {}),
    subscribeAll: (channel, onMessage) => subscribe(channelName(channel, "*"), onMessage, kind === "redis" ? { pattern: true } : {}),
  };
}

type Live = Pick<PubSubBackend, "publish" | "subscribe" | "subscribeAll">;

/**
 * Degraded, not down (API processes): while Redis is unreachable, what this
 * process publishes (its bridge's share of the stream) reaches this process's
 * subscribers in process, so they keep receiving this instance's own stream;
 * the other instances' events resume when Redis is back (and every subscriber
 * re-reads current state then: onResync). Subscribers listen on both. A
 * publish goes to Redis, and in process too when our own subscriber connection
 * is down or Redis refused it (breaker open, no answer within its timeout).
 * On a pipeline thread (no subscribers of its own) `handOff` passes the
 * message to the API thread instead (deliverLocally there).
 * A SUBSCRIBE is waited for at most `subscribeWaitMs`: one Redis has not
 * answered by then stays queued in ioredis and takes effect when it returns.
 */
function withLocalFallback(
  redis: Live,
  local: Live,
  status: { publisher: () => boolean; subscriber: () => boolean },
  subscribeWaitMs: number,
  handOff?: HandOff,
): Live {
  const both = (subscribeRedis: () => Promise<() => void>, subscribeLocal: () => Promise<() => void>) => async () => {
    const offLocal = await subscribeLocal();
    let offRedis: (() => void) | undefined;
    let stopped = false;
    const subscribing = subscribeRedis().then(
      (off) => (stopped ? off() : (offRedis = off)),
      () => {},
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([subscribing, new Promise((resolve) => (timer = setTimeout(resolve, subscribeWaitMs)))]);
    clearTimeout(timer);
    return () => {
      stopped = true;
      offLocal();
      offRedis?.();
    };
  };
  return {
    async publish(channel, id, payload) {
      let delivered = false;
      if (status.publisher())
        delivered = await redis.publish(channel, id, payload).then(
          () => true,
          () => false,
        );
      if (delivered && status.subscriber()) return;
      if (handOff) handOff(channel, id, payload);
      else await local.publish(channel, id, payload);
    },
    subscribe: (channel, id, onMessage) =>
      both(
        () => redis.subscribe(channel, id, onMessage),
        () => local.subscribe(channel, id, onMessage),
      )(),
    subscribeAll: (channel, onMessage) =>
      both(
        () => redis.subscribeAll(channel, onMessage),
        () => local.subscribeAll(channel, onMessage),
      )(),
  };
}
