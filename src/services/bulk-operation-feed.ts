// subscription { bulkOperationChanged(id) }: the job as it is now, then as
// chunks commit, then its final state, and the stream ends. The runner and
// cancelBulkOperation publish only "job N changed" (pub/sub, so on every
// instance); the subscriber re-reads the row by its key when its throttle
// allows, so what it sends is always the database's and a burst of chunks
// costs one read. Snapshot-then-live, versions and resync as every feed
// (live-feed.ts).
import type { PubSubBackend } from "../realtime/pubsub.js";
import type { BulkOperationRow, BulkOperationStatus } from "../db/bulk-import.sql.js";
import { Repeater } from "@repeaterjs/repeater";
import { liveFeed } from "./live-feed.js";

/** Reads of the job per subscriber: at most one per this interval (4 a second). */
export const BULK_OPERATION_READ_INTERVAL_MS = 250;

const FINISHED: ReadonlySet<BulkOperationStatus> = new Set(["COMPLETED", "FAILED", "CANCELLED"]);
export const isFinished = (op: Pick<BulkOperationRow, "status">) => FINISHED.has(op.status);

/**
 * Runs `task` at most once per `intervalMs`: a request within the interval is put off to its end,
 * and the requests meanwhile are one run. Hand-rolled (lodash's throttle is not a dependency, and
 * it would not count the snapshot read, which does not go through it, as a run: `ran()` does).
 */
export class Throttle {
  private last = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => void,
  ) {}

  /** The task ran just now by other means: the next run waits its interval. */
  ran(): void {
    this.last = Date.now();
  }

  request(): void {
    if (this.timer || this.stopped) return;
    const wait = this.last + this.intervalMs - Date.now();
    if (wait <= 0) return this.run();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, wait);
  }

  /** For good: later requests are ignored (a read that fails after the feed ended asks for none). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run() {
    this.ran();
    this.task();
  }
}

export interface BulkOperationFeedSource {
  pubsub: Pick<PubSubBackend, "subscribe" | "onResync">;
  /** The job by its id (null once it is gone). */
  read(id: string): Promise<BulkOperationRow | null>;
  expiresAt?: number;
  intervalMs?: number;
}

/** A Repeater (not a generator), so a client that unsubscribes ends it at once (schema/mask-error.ts, withCodedErrors). */
export function bulkOperationFeed(id: string, source: BulkOperationFeedSource): AsyncIterableIterator<BulkOperationRow> {
  return new Repeater<BulkOperationRow>(async (push, stop) => {
    const change = (op: BulkOperationRow) => ({ ...op, key: op.id });
    let onChange: ((op: ReturnType<typeof change>) => void) | undefined;
    // A failed read is tried again at the next slot: it may have been the one that carries the final state.
    const throttle: Throttle = new Throttle(source.intervalMs ?? BULK_OPERATION_READ_INTERVAL_MS, () => {
      source.read(id).then(
        (op) => op && onChange?.(change(op)),
        () => throttle.request(),
      );
    });
    const feed = liveFeed({
      subscribe: (deliver) => {
        onChange = deliver;
        return source.pubsub.subscribe("bulkOperation", id, () => throttle.request());
      },
      current: async () => {
        throttle.ran();
        const op = await source.read(id);
        return op ? [change(op)] : [];
      },
      onResync: (listener) => source.pubsub.onResync(listener),
      expiresAt: source.expiresAt,
    });
    void stop.then(() => feed.return?.());
    try {
      for await (const op of feed) {
        await push(op);
        if (isFinished(op)) break;
      }
    } finally {
      throttle.stop();
      await feed.return?.();
    }
    stop();
  });
}
