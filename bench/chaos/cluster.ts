// What a chaos run breaks: its OWN PostgreSQL, Redis and Kafka (never the
// ones in DATABASE_URL / REDIS_URL / KAFKA_BROKERS, which others may share),
// two API instances (every role each, fixed ports so a restarted one comes
// back where HAProxy looks for it) and HAProxy in front when installed.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { signToken } from "../../src/auth/tokens.js";
import { encodeGlobalId } from "../../src/ids/index.js";
import { startHaproxy } from "../../infra/services/haproxy.js";
import { startKafka } from "../../infra/services/kafka.js";
import { freePorts } from "../../infra/services/ports.js";
import { startPostgres } from "../../infra/services/postgres.js";
import type { StartedService } from "../../infra/services/process.js";
import { startRedis } from "../../infra/services/redis.js";
import { startApi, type ApiProcess } from "../lib/api.js";
import type { Harness } from "../lib/harness.js";
import type { KafkaClient } from "../lib/kafka-client.js";
import { freshDatabase } from "../lib/services.js";

export interface ApiInstance {
  url: string;
  current(): ApiProcess;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
}

export interface Cluster {
  postgres: StartedService;
  redis: StartedService;
  kafka: StartedService;
  apis: ApiInstance[];
  /** HAProxy's URL, or undefined when haproxy is not installed. */
  balancer?: string;
  /** A pool on the run's database, for the checks (short timeouts: it is used while faults run). */
  pool: pg.Pool;
  customers: string[];
  products: string[];
}

const CUSTOMERS = 20;
const PRODUCTS = 10;

export async function startCluster(h: Harness, a: { kafkaClient: KafkaClient }): Promise<Cluster> {
  const log = h.log;
  const own = async <T extends StartedService>(start: () => Promise<T>): Promise<T> => {
    const s = await start();
    h.onCleanup(() => s.stop());
    log(s.describe);
    return s;
  };
  log("starting PostgreSQL, Redis and Kafka of its own");
  const [postgres, redis, kafka] = await Promise.all([
    own(() => startPostgres({ log, maxConnections: 200 })),
    own(() => startRedis({ log })),
    own(() => startKafka({ log })),
  ]);
  const db = await freshDatabase(h, { url: postgres.url, describe: postgres.describe, given: false }, "stockwire_chaos");
  const pool = new pg.Pool({ connectionString: db.url, max: 4, connectionTimeoutMillis: 1_000, query_timeout: 1_000 });
  pool.on("error", () => {});
  h.onCleanup(() => pool.end());
  const seeded = await seed(pool);
  const jwtSecret = randomBytes(32).toString("hex");
  const customers = await Promise.all(
    seeded.customers.map(async (id) => `Bearer ${await signToken({ role: "customer", sub: encodeGlobalId("Customer", id) }, jwtSecret)}`),
  );
  const ports = await freePorts(2);
  const prefix = `chaos.${h.runId}`;
  const env = (port: number) => ({
    PORT: String(port),
    REDIS_URL: redis.url,
    KAFKA_BROKERS: kafka.url,
    KAFKA_TOPIC_STOCK: `${prefix}.stock-changed`,
    KAFKA_TOPIC_ORDER_STATUS: `${prefix}.order-status-changed`,
    KAFKA_BRIDGE_GROUP: `${prefix}.bridge`,
    KAFKA_CLIENT: a.kafkaClient,
    // A killed instance's partitions move to the other one soon.
    KAFKA_SESSION_TIMEOUT_MS: "2000",
    STOCKWIRE_ROLES: "api,relay,bridge",
    TRUST_PROXY: "1",
  });
  const apis: ApiInstance[] = [];
  for (const port of ports) {
    let proc: ApiProcess | undefined;
    const launch = async () => {
      await proc?.stop(); // a killed one: only its temp dir is left to remove
      proc = await startApi({ databaseUrl: db.url, poolSize: 10, jwtSecret, env: env(port) });
      log(`API ${proc.url} (pid ${proc.pid})`);
    };
    await launch();
    h.onCleanup(() => proc!.stop());
    apis.push({ url: `http://127.0.0.1:${port}`, current: () => proc!, restart: launch });
  }
  let balancer: string | undefined;
  try {
    const haproxy = await startHaproxy({ servers: apis.map((a) => a.url), log });
    h.onCleanup(() => haproxy.stop());
    balancer = haproxy.url;
    log(haproxy.describe);
  } catch (err) {
    log(`no HAProxy (${(err as Error).message.split("\n")[0]}): the load client takes the two instances in turn`);
  }
  const products = seeded.products.map((id) => encodeGlobalId("Product", id));
  return { postgres, redis, kafka, apis, balancer, pool, customers, products };
}

async function seed(pool: pg.Pool): Promise<{ customers: string[]; products: string[] }> {
  await pool.query(
    `INSERT INTO customer (email, name) SELECT 'chaos-' || g || '@example.test', 'Chaos customer ' || g FROM generate_series(1, $1::int) g`,
    [CUSTOMERS],
  );
  await pool.query(
    `INSERT INTO product (sku, name, price_cents, currency, stock)
     SELECT 'CHAOS-' || lpad(g::text, 2, '0'), 'Chaos product ' || g, 1000 + g, 'EUR', 1000000000 FROM generate_series(1, $1::int) g`,
    [PRODUCTS],
  );
  const customers = (await pool.query<{ id: string }>("SELECT id FROM customer ORDER BY email")).rows.map((r) => r.id);
  const products = (await pool.query<{ id: string }>("SELECT id FROM product WHERE sku LIKE 'CHAOS-%' ORDER BY sku")).rows.map((r) => r.id);
  return { customers, products };
}

/** The database's version of every product of the run (gid -> version); undefined while it cannot answer. */
export async function dbVersions(pool: pg.Pool): Promise<Map<string, number> | undefined> {
  try {
    const rows = (await pool.query<{ id: string; version: number }>("SELECT id, version FROM product WHERE sku LIKE 'CHAOS-%'")).rows;
    return new Map(rows.map((r) => [encodeGlobalId("Product", r.id), r.version]));
  } catch {
    return undefined;
  }
}
