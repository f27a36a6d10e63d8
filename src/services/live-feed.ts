// Snapshot-then-live, the one shape behind every subscription: subscribe to
// changes first, read the current state, send it, then pass on only changes
// newer than what was sent (per key), so at-least-once delivery never shows
// a client a duplicate or an older version. Changes that arrive while the
// snapshot is being read wait for it; after a pub/sub reconnect the state is
// read again. A subscriber that stops reading keeps only its newest items.
import { Repeater, SlidingBuffer } from "@repeaterjs/repeater";
import { UnauthenticatedError } from "../errors/domain-errors.js";

/** A subscription outlived the token it was opened with. */
export class TokenExpiredError extends UnauthenticatedError {
  constructor() {
    super("Your token expired: subscribe again with a fresh one");
  }
}

// What a subscriber that stops reading may have queued. Beyond it the oldest
// changes are dropped: each carries absolute state and versions only grow, so
// the newest is what matters. (An unbuffered Repeater throws after 1,024
// pending pushes, and that exception crashed the process.)
const QUEUE_PER_SUBSCRIPTION = 256;

export interface Versioned {
  key: string;
  version: number;
}

export interface LiveFeedSource<T extends Versioned> {
  /** Subscribes to changes; resolves with the unsubscribe function. */
  subscribe(onChange: (change: T) => void): Promise<() => void>;
  /** The current state of every key, as changes (one per key). */
  current(): Promise<T[]>;
  /** Registers a listener for "changes may have been missed"; returns its remover. */
  onResync?(listener: () => void): () => void;
  /** When the subscriber's credentials expire (ms since the epoch): the feed then ends with UnauthenticatedError. */
  expiresAt?: number;
}

export function liveFeed<T extends Versioned>(source: LiveFeedSource<T>): AsyncIterableIterator<T> {
  return new Repeater<T>(async (push, stop) => {
    const expiry =
      source.expiresAt === undefined
        ? undefined
        : setTimeout(() => stop(new TokenExpiredError()), Math.min(2 ** 31 - 1, Math.max(0, source.expiresAt - Date.now())));
    const delivered = new Map<string, number>();
    let early: T[] | undefined = [];
    const deliver = (change: T) => {
      if (change.version <= (delivered.get(change.key) ?? -1)) return;
      delivered.set(change.key, change.version);
      void push(change);
    };
    const readCurrent = async () => (await source.current()).forEach(deliver);
    const unsubscribe = await source.subscribe((change) => (early ? early.push(change) : deliver(change)));
    const offResync = source.onResync?.(() => void readCurrent().catch(() => {})) ?? (() => {});
    try {
      await readCurrent();
      const waiting = early;
      early = undefined;
      waiting.forEach(deliver);
      await stop;
    } finally {
      clearTimeout(expiry);
      offResync();
      unsubscribe();
    }
  }, new SlidingBuffer(QUEUE_PER_SUBSCRIPTION));
}
