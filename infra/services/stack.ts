// PostgreSQL + Redis + Kafka for tests, benchmarks and manual runs: each one
// taken from the environment when its variable is set (DATABASE_URL,
// REDIS_URL, KAFKA_BROKERS), otherwise started here as a throwaway process.
import { startKafka } from "./kafka.js";
import { startPostgres } from "./postgres.js";
import type { StartedService } from "./process.js";
import { startRedis } from "./redis.js";

export interface Services {
  databaseUrl: string;
  redisUrl: string;
  /** host:port list. */
  kafkaBrokers: string[];
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** One line per service goes here. */
  log?: (line: string) => void;
}

export async function startServices(opts: StartOptions = {}): Promise<Services> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => console.log(line));

  const provide = async (name: string, variable: string, start: () => Promise<StartedService>): Promise<StartedService> => {
    const given = env[variable];
    if (given) {
      log(`[services] ${name}: using ${variable} from the environment: ${redact(given)}`);
      return { url: given, describe: "from env", stop: async () => {} };
    }
    const t0 = Date.now();
    const service = await start();
    log(`[services] ${name}: started ${service.describe} at ${service.url} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return service;
  };

  // In parallel: Kafka (JVM) dominates, the others are ready long before it.
  const results = await Promise.allSettled([
    provide("postgres", "DATABASE_URL", () => startPostgres({ log })),
    provide("redis", "REDIS_URL", () => startRedis({ log })),
    provide("kafka", "KAFKA_BROKERS", () => startKafka({ log })),
  ]);
  const started = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
  if (failures.length) {
    await stop();
    throw failures.length === 1 ? failures[0] : new AggregateError(failures, failures.map((e) => e.message).join("\n\n"));
  }
  const [postgres, redis, kafka] = started as [StartedService, StartedService, StartedService];
  return {
    databaseUrl: postgres.url,
    redisUrl: redis.url,
    kafkaBrokers: kafka.url
      .split(",")
      .map((b) => b.trim())
      .filter(Boolean),
    stop,
  };
}

/** The URL without its password, for logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url; // e.g. a KAFKA_BROKERS host:port list
  }
}
