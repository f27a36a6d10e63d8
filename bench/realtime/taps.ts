// Listeners in the bench process that time each event on its way: a Redis
// pattern subscriber (when did it reach pub/sub) for the whole run, and per
// scenario a second consumer of the Kafka stock topic (own group, the
// bridge's fetch settings: when was it produced and fetched).
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import { channelName } from "../../src/realtime/pubsub.js";
import type { StockChangedEvent } from "../../src/events/stock-changed.event.js";
import type { Harness } from "../lib/harness.js";
import { KEY_SPAN } from "../lib/subscribers.js";
import { wall } from "./phase.js";

/** Event key (product number * KEY_SPAN + version) -> when the tap first saw it. */
export type RedisTimes = Map<number, number>;

export async function redisTap(h: Harness, url: string, gidIndex: Map<string, number>): Promise<RedisTimes> {
  const times: RedisTimes = new Map();
  const tap = new Redis(url, { maxRetriesPerRequest: null });
  tap.on("error", () => {});
  h.onCleanup(async () => tap.disconnect());
  tap.on("pmessage", (_pattern: string, _channel: string, message: string) => {
    const t = wall();
    try {
      const e = JSON.parse(message) as StockChangedEvent;
      const p = gidIndex.get(e.productId);
      if (p === undefined) return;
      const key = p * KEY_SPAN + e.version;
      if (!times.has(key)) times.set(key, t);
    } catch {
      // not ours
    }
  });
  await tap.psubscribe(channelName("stock", "*"));
  return times;
}

export type KafkaTimes = Map<number, { created: number; received: number }>;

/** Returns the times and a stop function (also registered for cleanup). */
export async function kafkaTap(
  h: Harness,
  a: { brokers: string; topic: string; groupId: string; gidIndex: Map<string, number> },
): Promise<{ times: KafkaTimes; stop: () => Promise<void> }> {
  const times: KafkaTimes = new Map();
  const kafka = new Kafka({ clientId: `bench-tap-${h.runId}`, brokers: a.brokers.split(","), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: a.groupId, maxWaitTimeInMs: 100 });
  const stop = h.deferred(() => consumer.disconnect());
  await consumer.connect();
  await consumer.subscribe({ topics: [a.topic], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const t = wall();
      for (const m of batch.messages) {
        try {
          const e = JSON.parse(m.value?.toString() ?? "") as StockChangedEvent;
          const p = a.gidIndex.get(e.productId);
          if (p !== undefined) times.set(p * KEY_SPAN + e.version, { created: Number(m.timestamp), received: t });
        } catch {
          // not ours
        }
      }
    },
  });
  return { times, stop };
}
