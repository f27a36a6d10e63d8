// The relay's scans start past what it knows is published (outbox-cursor.ts),
// yet an event whose transaction took its id before a later one was published,
// and committed after, is still published: soon when it commits within the
// cursor's lag, at the next full scan when later. And a process whose relay
// cannot publish (another holds the lock) still has its commits published at
// once, through the NOTIFY its relay then sends (outbox-signal.ts).
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.js";
import { STOCK_CHANGED } from "../../src/events/stock-changed.event.js";
import { createOutboxSignal, OUTBOX_CHANNEL } from "../../src/events/outbox-signal.js";
import { startOutboxRelay, type Relay } from "../../src/realtime/outbox-relay.js";
import { createStream, type StreamBackend } from "../../src/realtime/stream.js";
import { createTestDatabase, sqlPool, type TestDatabase } from "../support/database.js";
import { eventually } from "../support/stockwire.js";

const topics = { stockChanged: "test.stock-changed", orderStatusChanged: "test.order-status-changed", priceChanged: "test.price-changed" };
const INSERT = `INSERT INTO outbox_event (topic, key, payload) VALUES ($1, $2, $3) RETURNING id::text`;
const payload = () => {
  const productId = randomUUID();
  const p = { productId, sku: "S", stock: 1, version: 1, delta: 1, reason: "RESTOCK", orderId: null, occurredAt: new Date().toISOString() };
  return [STOCK_CHANGED, productId, JSON.stringify(p)];
};

let database: TestDatabase;
let db: Database;
let sql: pg.Pool;
let stream: StreamBackend;
const published = new Set<string>(); // outbox ids (the events' eventId)

beforeAll(async () => {
  database = await createTestDatabase();
  db = await openDatabase({ kind: "postgres", url: database.url, poolSize: 4 });
  sql = sqlPool(database.url, 4);
  stream = createStream({ kind: "memory" });
  await stream.consume({
    groupId: "test",
    topics: [topics.stockChanged],
    onBatch: async (messages) => messages.forEach((m) => published.add((JSON.parse(m.value) as { eventId: string }).eventId)),
  });
});
afterAll(async () => {
  await stream?.close();
  await sql?.end();
  await db?.close();
  await database?.drop();
});

/** An outbox row inserted in a transaction left open; commit() commits it. */
async function openTransactionWithEvent(): Promise<{ id: string; commit(): Promise<void> }> {
  const client = await sql.connect();
  await client.query("BEGIN");
  const { rows } = await client.query<{ id: string }>(INSERT, payload());
  return {
    id: rows[0]!.id,
    async commit() {
      await client.query("COMMIT");
      client.release();
    },
  };
}

async function withRelay(
  cursor: { lagMs: number; fullScanMs: number },
  body: (relay: Relay) => Promise<void>,
  retention?: { seconds: number; everyMs: number },
) {
  const relay = await startOutboxRelay({ db, stream, topics, cursor, retention, pollMs: 50 });
  try {
    await body(relay);
  } finally {
    await relay.stop();
  }
}

describe("outbox relay scans", () => {
  it("publishes an event that commits after a later one was published, within the cursor's lag", async () => {
    await withRelay({ lagMs: 5_000, fullScanMs: 600_000 }, async () => {
      const early = await openTransactionWithEvent();
      const { rows } = await sql.query<{ id: string }>(INSERT, payload());
      const later = rows[0]!.id;
      expect(BigInt(later)).toBeGreaterThan(BigInt(early.id));
      await eventually("the later event published", async () => published.has(later), 10_000);
      await early.commit();
      // No full scan comes in this test: only a cursor that has not passed the early id finds it.
      await eventually("the early event published", async () => published.has(early.id), 10_000);
    });
  });

  it("publishes one that commits after the cursor passed its id, at the next full scan", async () => {
    await withRelay({ lagMs: 100, fullScanMs: 2_000 }, async () => {
      const early = await openTransactionWithEvent();
      const { rows } = await sql.query<{ id: string }>(INSERT, payload());
      await eventually("the later event published", async () => published.has(rows[0]!.id), 10_000);
      await new Promise((r) => setTimeout(r, 500)); // several scans: the cursor is past both ids now
      await early.commit();
      await eventually("the early event published", async () => published.has(early.id), 10_000);
      // Marked in the relay's transaction, which commits just after the stream has the event.
      const unpublished = async () => (await sql.query(`SELECT id FROM outbox_event WHERE published_at IS NULL`)).rows;
      await eventually("every row marked published", async () => (await unpublished()).length === 0, 10_000);
    });
  });

  it("deletes published rows past OUTBOX_RETENTION_SECONDS (more than one delete statement's worth) and keeps the rest", async () => {
    const insert = (publishedAgo: string | null, n = 1) =>
      sql.query<{ id: string }>(
        `INSERT INTO outbox_event (topic, key, payload, created_at, published_at)
         SELECT $1, $2, $3, now() - interval '3 hours', ${publishedAgo === null ? "NULL" : `now() - interval '${publishedAgo}'`}
         FROM generate_series(1, ${n}) RETURNING id::text`,
        payload(),
      );
    const old = await insert("2 hours", 25_000); // more than one delete statement's worth
    const recent = (await insert("10 minutes")).rows[0]!.id;
    const unpublished = (await insert(null)).rows[0]!.id; // old, but not published yet: the relay publishes it now
    await withRelay(
      { lagMs: 1_000, fullScanMs: 10_000 },
      async () => {
        await eventually(
          "the rows published 2 hours ago deleted",
          async () =>
            Number(
              (await sql.query(`SELECT count(*) FROM outbox_event WHERE id = ANY($1::bigint[])`, [old.rows.map((r) => r.id)])).rows[0]
                .count,
            ) === 0,
          30_000,
        );
      },
      { seconds: 3_600, everyMs: 100 },
    );
    const { rows } = await sql.query<{ id: string; published: boolean }>(
      `SELECT id::text, published_at IS NOT NULL AS published FROM outbox_event WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [[recent, unpublished]],
    );
    expect(rows).toEqual([
      { id: recent, published: true },
      { id: unpublished, published: true },
    ]);
    expect(published.has(unpublished)).toBe(true);
  });
});

describe("outbox relay signals", () => {
  it("a relay that finds the lock taken NOTIFYs for its process's commits, and the holder publishes them at once", async () => {
    // Relay A publishes through a gate the test opens, so it holds the lock as long as the test wants;
    // it hears no commits in process and polls once a minute: only a NOTIFY can make it scan again soon.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let publishing = false;
    const gated: StreamBackend = Object.assign(Object.create(stream) as StreamBackend, {
      publish: async (messages: Parameters<StreamBackend["publish"]>[0]) => {
        publishing = true;
        await gate;
        return stream.publish(messages);
      },
    });
    // A's first scan, as it starts, finds `first`: it publishes it and waits at the gate, holding the lock.
    const first = (await sql.query<{ id: string }>(INSERT, payload())).rows[0]!.id;
    const a = await startOutboxRelay({ db, stream: gated, topics, pollMs: 60_000 });
    let b: Relay | undefined;
    try {
      await eventually("relay A publishing (and holding the lock)", async () => publishing, 10_000);
      // Relay B, in "another process": its own signal, which sends no NOTIFY while B listens.
      const notify = vi.fn(() => db.notify(OUTBOX_CHANNEL));
      const signal = createOutboxSignal(notify);
      b = await startOutboxRelay({ db, stream, topics, outbox: signal, pollMs: 60_000 });

      const second = (await sql.query<{ id: string }>(INSERT, payload())).rows[0]!.id;
      signal.committed(); // B's process committed `second`: B scans, finds the lock taken, NOTIFYs
      expect(notify).not.toHaveBeenCalled(); // the commit itself sends none: B speaks for it
      await new Promise((r) => setTimeout(r, 500)); // B's tick: it cannot take the lock while A publishes
      open();
      // A's scan began before `second` committed; without B's NOTIFY it would wait for A's next poll.
      await eventually("the second event published", async () => published.has(second), 10_000);
      expect(published.has(first)).toBe(true);
    } finally {
      open();
      await b?.stop();
      await a.stop();
    }
  });
});
