// KAFKA_CLIENT can be switched one bridge at a time: a bridge on kafkajs and
// one on @platformatic/kafka share the consumer group (the group admits only
// members with a protocol in common), split the partitions between them, and
// every message is handled, with its offset committed.
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { createStream, type StreamBackend, type StreamMessage } from "../../src/realtime/stream.js";
import { kafkaBrokers } from "../support/services.js";
import { eventually } from "../support/stockwire.js";

const streams: StreamBackend[] = [];
afterAll(async () => {
  await Promise.allSettled(streams.map((s) => s.close()));
});
const streamOn = (client: "kafkajs" | "platformatic") => {
  const stream = createStream({ kind: "kafka", client, brokers: kafkaBrokers(), partitions: 6, sessionTimeoutMs: 6_000 });
  streams.push(stream);
  return stream;
};

describe("kafkajs and @platformatic/kafka in one consumer group", () => {
  it("share the partitions and handle every message once the group is stable", async () => {
    const topic = `test.clients-${randomUUID()}`;
    const groupId = `test.clients-${randomUUID()}`;
    const got = { kafkajs: [] as StreamMessage[], platformatic: [] as StreamMessage[] };
    const kafkajs = streamOn("kafkajs");
    const platformatic = streamOn("platformatic");
    const errors: unknown[] = [];
    for (const [client, stream] of [
      ["kafkajs", kafkajs],
      ["platformatic", platformatic],
    ] as const) {
      await stream.consume({
        groupId,
        topics: [topic],
        onBatch: async (messages) => void got[client].push(...messages),
        onError: (err) => errors.push(err),
      });
    }
    // Rounds of messages on many keys until both members handled some (the group settles on two members meanwhile).
    const published = new Set<string>();
    await eventually(
      "both members handling messages",
      async () => {
        const keys = Array.from({ length: 24 }, () => `product-${randomUUID()}`);
        await kafkajs.publish(keys.map((key) => ({ topic, key, value: key })));
        keys.forEach((k) => published.add(k));
        await new Promise((r) => setTimeout(r, 300));
        return got.kafkajs.length > 0 && got.platformatic.length > 0;
      },
      45_000,
    );
    await eventually("every message handled", async () => {
      const handled = new Set([...got.kafkajs, ...got.platformatic].map((m) => m.key));
      return [...published].every((k) => handled.has(k));
    });
    await eventually("offsets committed", async () => (await kafkajs.consumerLag(groupId, [topic])).every((p) => p.lag === 0), 30_000);
    // Both clients read the same committed offsets.
    const byPartition = (lag: { partition: number }[]) => lag.sort((a, b) => a.partition - b.partition);
    expect(byPartition(await platformatic.consumerLag(groupId, [topic]))).toEqual(byPartition(await kafkajs.consumerLag(groupId, [topic])));
  }, 120_000);
});
