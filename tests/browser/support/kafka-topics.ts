// Creates a test file's Kafka topics before its Stockwire instance starts, and
// waits until every partition has a leader in the broker's metadata. Starting
// an instance on brand-new topics while other test files create theirs
// sometimes failed in kafkajs with "This server does not host this
// topic-partition" (the broker's metadata lagging behind the creation).
import { Kafka, logLevel } from "kafkajs";
import { loadConfig } from "../../../src/config/config.js";
import { eventually } from "../../support/stockwire.js";

// As many partitions as the instance would create (KAFKA_PARTITIONS' default).
const kafkaDefaults = loadConfig({ KAFKA_BROKERS: "localhost:9092" }).kafka;
const TOPIC_PARTITIONS = kafkaDefaults.kind === "kafka" ? kafkaDefaults.partitions : 1;

export async function prepareTopics(brokers: string[], topics: string[]): Promise<void> {
  const admin = new Kafka({ clientId: "stockwire-browser-tests", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await eventually(
      `Kafka topics ${topics.join(", ")} with leaders`,
      async () => {
        await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: TOPIC_PARTITIONS })) });
        const { topics: meta } = await admin.fetchTopicMetadata({ topics });
        return (
          meta.length === topics.length &&
          meta.every((t) => t.partitions.length === TOPIC_PARTITIONS && t.partitions.every((p) => p.leader >= 0))
        );
      },
      60_000,
    );
  } finally {
    await admin.disconnect();
  }
}
