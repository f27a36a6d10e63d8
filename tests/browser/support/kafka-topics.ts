// Creates a test file's Kafka topics before its Stockwire instance starts, and
// waits until every partition has a leader in the broker's metadata, as the
// app does (createTopicsAndWait: kafkajs' own wait gave up on "This server does
// not host this topic-partition" while the broker was still creating them).
import { Kafka, logLevel } from "kafkajs";
import { loadConfig } from "../../../src/config/config.js";
import { createTopicsAndWait } from "../../../src/realtime/stream.js";

// As many partitions as the instance would create (KAFKA_PARTITIONS' default).
const kafkaDefaults = loadConfig({ KAFKA_BROKERS: "localhost:9092" }).kafka;
const TOPIC_PARTITIONS = kafkaDefaults.kind === "kafka" ? kafkaDefaults.partitions : 1;

export async function prepareTopics(brokers: string[], topics: string[]): Promise<void> {
  const admin = new Kafka({ clientId: "stockwire-browser-tests", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await createTopicsAndWait(admin, topics, TOPIC_PARTITIONS);
  } finally {
    await admin.disconnect();
  }
}
