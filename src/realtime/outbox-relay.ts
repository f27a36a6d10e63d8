// Outbox relay: publishes unpublished outbox rows to the stream, oldest first,
// then marks them published. At-least-once: a crash between publishing and
// marking republishes those rows, which consumers drop by version.
//
// Woken right after commits (OutboxSignal: in-process, or NOTIFY from other
// processes), polling as a fallback; a burst of commits gathers into one batch.
// Several relays may run (one per API instance); a transaction-scoped
// advisory lock lets exactly one publish at a time, so events leave in commit
// order and are not published twice in normal operation. The others stand by.
// Scans start past what is known to be published (outbox-cursor.ts).
import type { Database } from "../db/database.js";
import { Prisma } from "../generated/prisma/client.js";
import type { StreamBackend } from "./stream.js";
import { OUTBOX_CHANNEL, type OutboxSignal } from "../events/outbox-signal.js";
import { toStreamMessage, type Topics } from "./stream-events.js";
import { noMetrics, type Metrics } from "../observability/metrics.js";
import type { TraceCarrier } from "../observability/trace-context.js";
import { publishTraced } from "./change-tracing.js";
import { createOutboxCursor, type OutboxCursorOptions } from "./outbox-cursor.js";

const RELAY_LOCK = 0x5707_0e1a;
const PURGE_BATCH = 10_000;

export interface RelayOptions {
  db: Database;
  stream: StreamBackend;
  /** This process's commits of outbox rows; other processes' arrive as NOTIFY. */
  outbox?: OutboxSignal;
  topics: Topics;
  batchSize?: number;
  /** Fallback poll when no signal arrives. */
  pollMs?: number;
  /**
   * After a wake-up, how long to let further commits gather into the same
   * batch. Default 0: under load batches form anyway (what commits while a
   * tick runs goes into the next), and an isolated commit should not wait.
   */
  gatherMs?: number;
  /** Where scans start (tests shorten its waits). */
  cursor?: OutboxCursorOptions;
  /**
   * Published rows older than `seconds` are deleted, every `everyMs`, by the
   * relay holding the lock (0 seconds: kept forever). The stock ledger is the
   * history; the outbox only has to hold what is not published yet.
   */
  retention?: { seconds: number; everyMs?: number };
  onError?: (err: unknown) => void;
  metrics?: Metrics;
}

export interface Relay {
  /** Publishes what is pending now; resolves with how many rows it published (0 if another relay holds the lock). */
  tick(): Promise<number>;
  stop(): Promise<void>;
}

export async function startOutboxRelay(opts: RelayOptions): Promise<Relay> {
  const { db, stream, outbox, topics, batchSize = 500, pollMs = 500, gatherMs = 0, onError = () => {}, metrics = noMetrics } = opts;
  let running = true;
  // A signal that arrives while the relay is busy (not asleep) must not be
  // lost: it is remembered, and the next sleep returns at once.
  let signalled = false;
  let wake: (() => void) | undefined;
  const signal = () => {
    signalled = true;
    wake?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (signalled || !running) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const cursor = createOutboxCursor(opts.cursor);
  let holdsLock = false; // after the last tick: whether this relay is the one publishing (and purging)
  // This process's commits send no NOTIFY while this relay hears them (outbox-signal.ts): when another
  // relay holds the lock, its scan may have started before them, and this relay's NOTIFY makes it scan
  // again. Only for commits of this process, so standby relays woken by a NOTIFY never answer with one.
  let localCommits = false;
  const tick = async () => {
    const ours = localCommits;
    localCommits = false;
    try {
      const published = await scan();
      // Only a committed scan moves the cursor; while another relay holds the lock, ours knows nothing.
      holdsLock = published !== undefined;
      if (published) {
        cursor.scanned(published.horizon, performance.now());
        return published.count;
      }
      cursor.reset();
      if (ours) await db.notify(OUTBOX_CHANNEL);
      return 0;
    } catch (err) {
      // Neither published nor passed on: the next tick answers for these commits.
      localCommits ||= ours;
      throw err;
    }
  };
  // Over the pg driver, not a Prisma interactive transaction (raw-sql.ts): under an order burst
  // this runs back to back on the API's thread. Ids come as text: pg and Prisma parse int8 apart.
  const scan = () =>
    db.sql.transaction(async (tx) => {
      const [lock] = await tx.query<{ locked: boolean }>(Prisma.sql`SELECT pg_try_advisory_xact_lock(${RELAY_LOCK}) AS locked`);
      if (!lock?.locked) return undefined;
      // The table's max id comes from the same snapshot as the rows: the horizon of a drained scan.
      const rows = await tx.query<{
        id: string | null;
        topic: string;
        key: string;
        payload: Record<string, unknown>;
        trace_context: TraceCarrier | null;
        max_id: string | null;
      }>(Prisma.sql`
        SELECT e.id::text, e.topic, e.key, e.payload, e.trace_context, top.max_id::text
        FROM (SELECT max(id) AS max_id FROM outbox_event) top
        LEFT JOIN LATERAL (
          SELECT id, topic, key, payload, trace_context FROM outbox_event
          WHERE published_at IS NULL AND id > ${cursor.after(performance.now())} ORDER BY id LIMIT ${batchSize}
        ) e ON true`);
      const pending = rows.flatMap((r) => (r.id === null ? [] : [{ ...r, id: BigInt(r.id) }]));
      const horizon = pending.length === batchSize ? pending[pending.length - 1]!.id : BigInt(rows[0]?.max_id ?? 0);
      if (!pending.length) return { count: 0, horizon };
      // Publish inside the transaction: if Kafka refuses, nothing is marked
      // and the rows are retried; the lock keeps other relays off meanwhile.
      const started = performance.now();
      await publishTraced(
        pending.map((r) => toStreamMessage(r, topics)),
        (messages) => stream.publish(messages),
      );
      metrics.relayPublished((performance.now() - started) / 1000);
      await tx.query(
        Prisma.sql`UPDATE outbox_event SET published_at = now() WHERE id = ANY(${pending.map((r) => r.id.toString())}::bigint[])`,
      );
      return { count: pending.length, horizon };
    });

  const unlisten = await db.listen(OUTBOX_CHANNEL, signal);
  const offSignal =
    outbox?.relayHere(() => {
      localCommits = true;
      signal();
    }) ?? (() => {});

  // Retention: a loop of its own, so deleting a sale's millions of rows never
  // delays publishing; bounded statements (an index range on published_at), so
  // it never becomes one long transaction either.
  const { seconds: retentionSeconds = 0, everyMs: purgeEveryMs = 60_000 } = opts.retention ?? {};
  let stopPurge = () => {};
  const purgeLoop = (async () => {
    while (retentionSeconds && running) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, purgeEveryMs);
        stopPurge = () => (clearTimeout(timer), resolve());
      });
      let deleted = PURGE_BATCH;
      while (holdsLock && running && deleted === PURGE_BATCH) {
        deleted = await db.prisma.$executeRaw`
          DELETE FROM outbox_event WHERE id IN (
            SELECT id FROM outbox_event WHERE published_at < now() - make_interval(secs => ${retentionSeconds}) LIMIT ${PURGE_BATCH})`.catch(
          (err: unknown) => (onError(err), 0),
        );
      }
    }
  })();

  const loop = (async () => {
    let backoff = 100;
    while (running) {
      try {
        signalled = false; // this tick sees every commit signalled so far
        const published = await tick();
        backoff = 100;
        if (published === batchSize) continue; // busy: drain without waiting
        await sleep(pollMs);
        if (gatherMs) await new Promise((r) => setTimeout(r, gatherMs));
      } catch (err) {
        onError(err);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1_000); // Kafka back: publishing again within a second
      }
    }
  })();

  return {
    tick,
    async stop() {
      running = false;
      offSignal();
      wake?.();
      stopPurge();
      await Promise.all([loop, purgeLoop]);
      await unlisten();
    },
  };
}

/** The outbox backlog, for monitoring: rows not yet published and the age of the oldest (one index range scan). */
export async function outboxBacklog(db: Database): Promise<{ pending: number; oldestAgeSeconds: number }> {
  const [row] = await db.prisma.$queryRaw<{ pending: number; age: number }[]>`
    SELECT count(*)::int AS pending, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS age
    FROM outbox_event WHERE published_at IS NULL`;
  return { pending: row?.pending ?? 0, oldestAgeSeconds: Math.max(0, row?.age ?? 0) };
}
