// The Kafka the tests get is a real broker: keyed messages produced by an
// idempotent producer come back through a consumer group, partitioned by key
// and in order per key.
import { randomUUID } from "node:crypto";
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { kafkaBrokers } from "../support/services.js";
import { createTopicsAndWait } from "../../src/realtime/stream.js";

const KEYS = ["sku-a", "sku-b", "sku-c", "sku-d", "sku-e", "sku-f"];
const PER_KEY = 10;

describe("Kafka", () => {
  // NOTHING: kafkajs logs retriable start-up answers ("coordinator is loading") at ERROR;
  // real failures still surface as rejected calls and failed assertions.
  const kafka = new Kafka({ clientId: "stockwire-test", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  afterAll(async () => {
    await Promise.allSettled([producer?.disconnect(), consumer?.disconnect(), admin.disconnect()]);
  });

  it("round-trips keyed messages: same key -> same partition, in order per key", async () => {
    const topic = `test.stock-${randomUUID()}`;
    await admin.connect();
    await expect(createTopicsAndWait(admin, [topic], 3)).resolves.toBe(true);
    const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    expect(meta!.partitions).toHaveLength(3);

    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    // Interleave keys so per-key order is not just arrival order of a batch per key.
    for (let seq = 0; seq < PER_KEY; seq++) {
      const records = await producer.send({
        topic,
        acks: -1,
        messages: KEYS.map((key) => ({ key, value: JSON.stringify({ key, seq }) })),
      });
      expect(records.every((r) => r.errorCode === 0)).toBe(true);
    }

    consumer = kafka.consumer({ groupId: `test-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { key: string; payloadKey: string; seq: number; partition: number }[] = [];
    const done = new Promise<void>((resolve) => {
      void consumer!.run({
        eachMessage: async ({ partition, message }) => {
          const { key: payloadKey, seq } = JSON.parse(message.value!.toString()) as { key: string; seq: number };
          received.push({ key: message.key!.toString(), payloadKey, seq, partition });
          if (received.length === KEYS.length * PER_KEY) resolve();
        },
      });
    });
    await Promise.race([
      done,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${received.length} messages consumed in 30s`)), 30_000)),
    ]);

    expect(received).toHaveLength(KEYS.length * PER_KEY);
    expect(received.every((m) => m.key === m.payloadKey)).toBe(true);
    for (const key of KEYS) {
      const mine = received.filter((m) => m.key === key);
      expect(new Set(mine.map((m) => m.partition)).size, `${key} on one partition`).toBe(1);
      expect(
        mine.map((m) => m.seq),
        `${key} in order`,
      ).toEqual([...Array(PER_KEY).keys()]);
    }
    // The keys do spread over several partitions, so the checks above are not trivially true.
    expect(new Set(received.map((m) => m.partition)).size).toBeGreaterThan(1);
  });
});
