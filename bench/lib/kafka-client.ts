// Which Kafka client (KAFKA_CLIENT) the API processes a benchmark starts run
// on: the one asked for, else the environment's, else the config default.
import { DEFAULT_KAFKA_CLIENT, KAFKA_CLIENTS, type KafkaClient } from "../../src/config/config.js";

export { KAFKA_CLIENTS, type KafkaClient };

export function isKafkaClient(name: string): name is KafkaClient {
  return (KAFKA_CLIENTS as readonly string[]).includes(name);
}

/** KAFKA_CLIENT of this process's environment (what an API started with it would use), or the config default. */
export function configuredKafkaClient(env: NodeJS.ProcessEnv = process.env): KafkaClient {
  const v = env.KAFKA_CLIENT;
  return v && isKafkaClient(v) ? v : DEFAULT_KAFKA_CLIENT;
}
