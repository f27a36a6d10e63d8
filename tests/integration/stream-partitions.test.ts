// KAFKA_PARTITIONS: the stream creates a missing topic with that many
// partitions, and leaves a topic that exists as it is (adding partitions
// would move keys to other partitions, and a product's events out of order).
import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { createStream, createTopicsAndWait, type StreamBackend } from "../../src/realtime/stream.js";
import { kafkaBrokers } from "../support/services.js";
import { partitionOf, testKafkaClient } from "../support/stockwire.js";

const admin = new Kafka({ clientId: "stockwire-test", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
const streams: StreamBackend[] = [];
afterAll(async () => {
  await Promise.allSettled(streams.map((s) => s.close()));
  await admin.disconnect();
});

const partitionsOf = async (topic: string) => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length;
const streamWith = (partitions: number) => {
  const stream = createStream({ kind: "kafka", client: testKafkaClient(), brokers: kafkaBrokers(), partitions, sessionTimeoutMs: 6_000 });
  streams.push(stream);
  return stream;
};

describe("topic partitions", () => {
  it("creates a missing topic with KAFKA_PARTITIONS partitions", async () => {
    const topic = `test.partitions-${randomUUID()}`;
    await streamWith(12).publish([{ topic, key: "k", value: "v" }]);
    await admin.connect();
    expect(await partitionsOf(topic)).toBe(12);
  });

  // Bridges that start together (a deploy, KEDA scaling out) all race to create
  // the topics; the broker answers "does not host this topic-partition" for a
  // moment after creating them, and that once failed a bridge's start. A race,
  // so many rounds: before the fix about one round in ten failed.
  it("consumers starting together on topics that do not exist yet all start", async () => {
    const failures: string[] = [];
    for (let round = 0; round < 25; round++) {
      const topics = [`test.race-${randomUUID()}`, `test.race-${randomUUID()}`];
      const groupId = `test.race-${randomUUID()}`;
      const racing = [streamWith(12), streamWith(12), streamWith(12)];
      const started = await Promise.allSettled(racing.map((s) => s.consume({ groupId, topics, onBatch: async () => {} })));
      for (const r of started) if (r.status === "rejected") failures.push(`round ${round}: ${(r.reason as Error).message}`);
      await Promise.all(racing.map((s) => s.close()));
    }
    expect(failures).toEqual([]);
  }, 240_000);

  it("leaves the partitions of a topic that exists", async () => {
    const topic = `test.partitions-${randomUUID()}`;
    await admin.connect();
    await createTopicsAndWait(admin, [topic], 3);
    await streamWith(12).publish([{ topic, key: "k", value: "v" }]);
    expect(await partitionsOf(topic)).toBe(3);
  });

  // The relay's keys are product ids: each must land where kafkajs (Java's
  // murmur2) puts it, whichever KAFKA_CLIENT publishes, or a switch of client
  // would move products to other partitions and reorder their events.
  it("puts each key on the partition kafkajs' default partitioner picks", async () => {
    const topic = `test.keys-${randomUUID()}`;
    const stream = streamWith(12);
    await admin.connect();
    await createTopicsAndWait(admin, [topic], 12);
    // A broker that just created the partitions answers "not the leader" for a moment.
    const highs = async (): Promise<{ partition: number; high: number }[]> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, high: Number(p.high) }));
        } catch (err) {
          if (attempt >= 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const keys = Array.from({ length: 40 }, (_, i) => (i % 2 ? String(1000 + i) : randomUUID()));
    const landed: Record<string, number> = {};
    for (const key of keys) {
      const before = await highs();
      await stream.publish([{ topic, key, value: "v" }]);
      const grown = (await highs()).find((p) => p.high > before.find((b) => b.partition === p.partition)!.high);
      landed[key] = grown?.partition ?? -1;
    }
    expect(landed).toEqual(Object.fromEntries(keys.map((k) => [k, partitionOf(k, 12)])));
  });
});
