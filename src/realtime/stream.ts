// The durable event stream between the outbox relay and the bridge. With
// KAFKA_BROKERS: Apache Kafka via kafkajs. Without: an in-process stand-in for
// the embedded default. The relay and bridge arrive with the live-stock work;
// this is the connection they share, and what /ready checks.
import { Kafka, logLevel } from "kafkajs";
import type { Config } from "../config/config.js";

export interface StreamBackend {
  kind: "kafka" | "memory";
  describe: string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createStream(config: Config["kafka"]): StreamBackend {
  if (config.kind === "memory") {
    return { kind: "memory", describe: "in-process", ping: async () => {}, close: async () => {} };
  }
  const kafka = new Kafka({ clientId: "stockwire", brokers: config.brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 1 } });
  const admin = kafka.admin();
  let connected: Promise<void> | undefined;
  return {
    kind: "kafka",
    describe: config.brokers.join(","),
    async ping() {
      connected ??= admin.connect().catch((e) => {
        connected = undefined;
        throw e;
      });
      await connected;
      await admin.describeCluster();
    },
    async close() {
      await admin.disconnect();
    },
  };
}
