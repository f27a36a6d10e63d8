// The in-process stream (the embedded default's stand-in for Kafka) keeps
// Kafka's contract as the relay and bridge rely on it: a consumer group reads
// from the start of the log, its committed offset survives a restart of the
// consumer, a handler that throws gets the same batch again, and each group
// sees every message. It keeps what a group has not committed and a bounded tail before that.
import { afterEach, describe, expect, it } from "vitest";
import { createStream, memoryStream, type StreamBackend, type StreamMessage } from "../../src/realtime/stream.js";

const msg = (topic: string, n: number): StreamMessage => ({ topic, key: `k${n % 3}`, value: String(n) });
const values = (ms: StreamMessage[]) => ms.map((m) => m.value);

let stream: StreamBackend;
afterEach(() => stream?.close());

/** A consumer that records every batch it was handed; `fail(n)` makes its next n calls throw. */
async function consumer(groupId: string, topics: string[]) {
  const batches: StreamMessage[][] = [];
  let failures = 0;
  let wake = () => {};
  const handle = await stream.consume({
    groupId,
    topics,
    async onBatch(messages) {
      batches.push(messages);
      wake();
      if (failures > 0) {
        failures--;
        throw new Error("handler failed");
      }
    },
  });
  const handled = () => batches.flat();
  return {
    batches,
    handled,
    fail: (n: number) => (failures = n),
    /** Resolves once `count` messages were handed over in total (including repeats). */
    received: (count: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${handled().length} of ${count} messages within 5s`)), 5_000);
        wake = () => {
          if (handled().length >= count) {
            clearTimeout(timer);
            resolve();
          }
        };
        wake();
      }),
    stop: () => handle.stop(),
  };
}

describe("in-process stream", () => {
  it("is the memory kind without Kafka", () => {
    stream = createStream({ kind: "memory" });
    expect(stream.kind).toBe("memory");
  });

  it("a new group consumes from the start of the log, in order, then what is published later", async () => {
    stream = createStream({ kind: "memory" });
    await stream.publish([1, 2, 3].map((n) => msg("t", n)));
    const c = await consumer("g", ["t"]);
    await c.received(3);
    expect(values(c.handled())).toEqual(["1", "2", "3"]);
    await stream.publish([msg("t", 4), msg("t", 5)]);
    await c.received(5);
    expect(values(c.handled())).toEqual(["1", "2", "3", "4", "5"]);
    expect(c.handled()[0]).toEqual({ topic: "t", key: "k1", value: "1" });
  });

  it("only hands a consumer the topics it subscribed to", async () => {
    stream = createStream({ kind: "memory" });
    await stream.publish([msg("a", 1), msg("b", 2), msg("a", 3), msg("c", 4)]);
    const c = await consumer("g", ["a", "b"]);
    await c.received(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(values(c.handled()).sort()).toEqual(["1", "2", "3"]);
    expect(values(c.handled().filter((m) => m.topic === "a"))).toEqual(["1", "3"]);
  });

  it("keeps each group's offset: a restarted consumer resumes after what it handled", async () => {
    stream = createStream({ kind: "memory" });
    await stream.publish([1, 2].map((n) => msg("t", n)));
    const first = await consumer("g", ["t"]);
    await first.received(2);
    await first.stop();
    await stream.publish([3, 4].map((n) => msg("t", n)));
    const again = await consumer("g", ["t"]);
    await again.received(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(values(again.handled())).toEqual(["3", "4"]);
    // Another group still starts at the beginning.
    const other = await consumer("h", ["t"]);
    await other.received(4);
    expect(values(other.handled())).toEqual(["1", "2", "3", "4"]);
  });

  it("hands the same batch again after the handler threw, and moves on once it succeeds", async () => {
    stream = createStream({ kind: "memory" });
    const c = await consumer("g", ["t"]);
    c.fail(2);
    await stream.publish([1, 2, 3].map((n) => msg("t", n)));
    await c.received(9);
    expect(c.batches.map(values)).toEqual([
      ["1", "2", "3"],
      ["1", "2", "3"],
      ["1", "2", "3"],
    ]);
    await stream.publish([msg("t", 4)]);
    await c.received(10);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.batches.map(values).at(-1)).toEqual(["4"]);
    expect(c.batches).toHaveLength(4);
  });

  it("does not commit a failed batch: a consumer that stops while failing leaves it for the next one", async () => {
    stream = createStream({ kind: "memory" });
    const c = await consumer("g", ["t"]);
    c.fail(Infinity);
    await stream.publish([msg("t", 1)]);
    await c.received(1);
    await c.stop();
    const next = await consumer("g", ["t"]);
    await next.received(1);
    expect(values(next.handled())).toEqual(["1"]);
  });

  it("two groups each see every message, also while messages keep coming", async () => {
    stream = createStream({ kind: "memory" });
    const a = await consumer("a", ["t"]);
    const b = await consumer("b", ["t"]);
    for (let n = 1; n <= 50; n++) await stream.publish([msg("t", n)]);
    await Promise.all([a.received(50), b.received(50)]);
    const all = Array.from({ length: 50 }, (_, i) => String(i + 1));
    expect(values(a.handled())).toEqual(all);
    expect(values(b.handled())).toEqual(all);
  });

  it("drops what every group committed but for the last `retain` messages; a later group starts there", async () => {
    stream = memoryStream(2);
    const g = await consumer("g", ["t"]);
    await stream.publish([1, 2, 3, 4, 5, 6, 7, 8].map((n) => msg("t", n)));
    await g.received(8);
    const committedAll = () => expect.poll(async () => (await stream.consumerLag("g", ["t"]))[0]!.lag).toBe(0);
    await committedAll();
    // Committed 8, retained 2 before that: 1..6 are gone.
    const late = await consumer("late", ["t"]);
    await late.received(2);
    await stream.publish([9].map((n) => msg("t", n)));
    await late.received(3);
    await g.received(9);
    expect(values(late.handled())).toEqual(["7", "8", "9"]);
    expect(values(g.handled())).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    // What a group has not committed is never dropped: "late" stopped before 10..13, and still gets them.
    await late.stop();
    await stream.publish([10, 11, 12, 13].map((n) => msg("t", n)));
    await g.received(13);
    await committedAll();
    const back = await consumer("late", ["t"]);
    await back.received(4);
    expect(values(back.handled())).toEqual(["10", "11", "12", "13"]);
    expect(await stream.consumerLag("g", ["t"])).toEqual([{ topic: "t", partition: 0, lag: 0 }]);
  });

  it("stop() waits for the batch in hand and delivers nothing after", async () => {
    stream = createStream({ kind: "memory" });
    let release = () => {};
    const seen: string[] = [];
    let started = () => {};
    const inHandler = new Promise<void>((r) => (started = r));
    const handle = await stream.consume({
      groupId: "g",
      topics: ["t"],
      onBatch: async (ms) => {
        seen.push(...values(ms));
        started();
        await new Promise<void>((r) => (release = r));
      },
    });
    await stream.publish([msg("t", 1)]);
    await inHandler;
    let stopped = false;
    const stopping = handle.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(stopped).toBe(false);
    release();
    await stopping;
    await stream.publish([msg("t", 2)]);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual(["1"]);
  });
});
