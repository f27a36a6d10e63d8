// The services a benchmark needs: PostgreSQL, Redis and Kafka from
// DATABASE_URL / REDIS_URL / KAFKA_BROKERS when set, else throwaway ones
// started by scripts/services (own process groups on loopback), and a fresh,
// migrated database for the run. Everything is stopped or dropped at cleanup.
import { openDatabase } from "../../src/db/database.js";
import { databaseUrl, startPostgres, withClient, type PostgresOptions } from "../../infra/services/postgres.js";
import { startRedis } from "../../infra/services/redis.js";
import { startKafka } from "../../infra/services/kafka.js";
import type { StartedService } from "../../infra/services/process.js";
import type { Harness } from "./harness.js";

export interface BenchService {
  url: string;
  describe: string;
  /** For CPU accounting; undefined for a server given by URL. */
  pid?: number;
  /** Taken from the environment rather than started. */
  given: boolean;
}

export interface BenchServices {
  postgres: BenchService;
  redis?: BenchService;
  kafka?: BenchService;
}

export interface ServiceNeeds {
  postgres: PostgresOptions;
  redis?: boolean;
  kafka?: boolean;
}

const pidOf = (s: StartedService) =>
  "pid" in s && typeof s.pid === "number" ? s.pid : Number(/pid (\d+)/.exec(s.describe)?.[1]) || undefined;

/** Starts (or takes from the environment) what `needs` asks for, in parallel; stops them at cleanup. */
export async function startBenchServices(h: Harness, needs: ServiceNeeds): Promise<BenchServices> {
  const log = h.log;
  const one = async (name: string, variable: string, start: () => Promise<StartedService>): Promise<BenchService> => {
    const fromEnv = process.env[variable];
    if (fromEnv) {
      log(`${name}: using ${variable} from the environment`);
      return { url: fromEnv, describe: `${name} from ${variable}`, given: true };
    }
    const s = await start();
    h.onCleanup(() => s.stop());
    log(s.describe);
    return { url: s.url, describe: s.describe, pid: pidOf(s), given: false };
  };
  log(`starting ${["PostgreSQL", needs.redis && "Redis", needs.kafka && "Kafka"].filter(Boolean).join(", ")} (unless given)`);
  const started = await Promise.allSettled([
    one("PostgreSQL", "DATABASE_URL", () => startPostgres({ log, ...needs.postgres })),
    needs.redis ? one("Redis", "REDIS_URL", () => startRedis({ log })) : undefined,
    needs.kafka ? one("Kafka", "KAFKA_BROKERS", () => startKafka({ log })) : undefined,
  ]);
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const [postgres, redis, kafka] = started.map((s) => (s as PromiseFulfilledResult<BenchService | undefined>).value);
  return { postgres: postgres!, redis, kafka };
}

/**
 * A fresh database `<prefix>_<runId>` on the server, migrated; dropped at
 * cleanup when the server is not ours (a throwaway server goes away whole).
 */
export async function freshDatabase(h: Harness, server: BenchService, prefix: string): Promise<{ name: string; url: string }> {
  const name = `${prefix}_${h.runId}`;
  await withClient(server.url, (c) => c.query(`CREATE DATABASE "${name}"`));
  if (server.given) h.onCleanup(() => withClient(server.url, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)));
  const url = databaseUrl(server.url, name);
  const db = await openDatabase({ kind: "postgres", url, poolSize: 2 });
  try {
    const applied = await db.migrate();
    h.log(`database ${name}: migrated (${applied.length} migrations)`);
  } finally {
    await db.close();
  }
  return { name, url };
}
