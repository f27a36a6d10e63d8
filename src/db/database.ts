// Database factory: Prisma over PostgreSQL (pg pool) or embedded PGlite.
// Nothing connects at import time; callers open and close explicitly.
import { mkdir } from "node:fs/promises";
import pg from "pg";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { lockDataDir } from "./data-dir-lock.js";
import type { SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import { PrismaClient } from "../generated/prisma/client.js";
import { POSTGRES_TIMEOUTS, type Config, type PostgresTimeouts } from "../config/config.js";
import type { Breaker } from "../observability/breakers.js";
import { isDatabaseFailure } from "./errors.js";
import { applyMigrations } from "./migrations.js";
import { primaryOnly, ReplicaRouter, type Reads, type ReplicaStatus } from "./replicas.js";
import { preparedName, rawSqlOverPg, rawSqlOverPrisma, type RawSql } from "./raw-sql.js";

/** The generated Prisma client, as this app opens it (named apart from the generated `Prisma` namespace). */
export type DbClient = InstanceType<typeof PrismaClient>;
/** The client handed to an interactive `$transaction` callback. */
export type DbTransaction = Parameters<Parameters<DbClient["$transaction"]>[0]>[0];

export interface Database {
  kind: "postgres" | "pglite";
  /** Where the data lives, for the start-up banner (no credentials). */
  describe: string;
  /** The primary: every write and transaction, and reads nobody routed elsewhere. */
  prisma: DbClient;
  /** The primary again, for the order statements and the outbox relay: straight to the driver, past Prisma (raw-sql.ts). */
  sql: RawSql;
  /** Where reads go: read replicas (DATABASE_REPLICA_URL) for read-only requests, else the primary. */
  reads: Reads;
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(): Promise<string[]>;
  ping(): Promise<void>;
  /** Calls onNotify for each NOTIFY on channel (reconnecting as needed); resolves with an unlisten function. */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  /** NOTIFY channel, in a transaction of its own. */
  notify(channel: string): Promise<void>;
  close(): Promise<void>;
}

// pg_advisory_lock key shared by every Stockwire process migrating one database.
const MIGRATION_LOCK = 0x5707_c001;

export interface DatabaseOptions {
  /** Called with every SQL statement Prisma sends (query logging, N+1 tests). */
  onQuery?: (sql: string) => void;
  /** A read replica changed state (ok, lagging, down, ...): for the log. */
  onReplicaState?: (replica: ReplicaStatus) => void;
  /** The primary's circuit breaker (PostgreSQL only): every pool acquire and pooled statement goes through it. */
  breaker?: Breaker;
}

export async function openDatabase(config: Config["database"], options: DatabaseOptions = {}): Promise<Database> {
  return config.kind === "postgres" ? openPostgres(config, options) : openPglite(config.dataDir, options);
}

function createClient(adapter: SqlDriverAdapterFactory, options: DatabaseOptions): DbClient {
  // Under a flash sale transactions queue for locks: wait rather than fail fast.
  const transactionOptions = { maxWait: 10_000, timeout: 20_000 };
  const { onQuery } = options;
  if (!onQuery) return new PrismaClient({ adapter, log: [], transactionOptions });
  const prisma = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }], transactionOptions });
  prisma.$on("query", (e) => onQuery(e.query));
  return prisma;
}

const describeUrl = (url: string) => {
  const where = new URL(url);
  return `${where.hostname}:${where.port || 5432}${where.pathname}`;
};

/** The client gives up on a statement this long after the server should have cancelled it (statement_timeout). */
const CLIENT_STATEMENT_GRACE_MS = 1_000;

/**
 * Bounded waits on every connection: pool acquire and connect (connectionTimeoutMillis), the
 * server's statement_timeout and idle_in_transaction_session_timeout, and a client-side bound
 * on each statement (query_timeout) for a server that does not answer at all (paused, partitioned),
 * where statement_timeout cannot fire.
 */
export function boundedPoolConfig(timeouts: PostgresTimeouts = POSTGRES_TIMEOUTS): pg.PoolConfig {
  return {
    connectionTimeoutMillis: timeouts.connectMs,
    statement_timeout: timeouts.statementMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
    query_timeout: timeouts.statementMs + CLIENT_STATEMENT_GRACE_MS,
  };
}

function openPool(url: string, poolSize: number, options: DatabaseOptions, extra: pg.PoolConfig = {}, breaker?: Breaker) {
  const pool = guarded(new pg.Pool({ connectionString: url, max: poolSize, ...extra }), breaker);
  // An idle client erroring (e.g. the server restarting) must not crash the process.
  pool.on("error", () => {});
  return { pool, prisma: createClient(new PrismaPg(pool, { statementNameGenerator: preparedName }), options) };
}

/**
 * Acquires and pooled statements through the breaker: Prisma's adapter and raw-sql.ts both call
 * pool.connect() (transactions) and pool.query() (everything else) without callbacks; pg-pool's
 * own query() acquires with a callback, which passes straight through so nothing counts twice.
 */
function guarded(pool: pg.Pool, breaker: Breaker | undefined): pg.Pool {
  if (!breaker) return pool;
  const connect = pool.connect.bind(pool) as (cb?: unknown) => Promise<pg.PoolClient> | undefined;
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown> | undefined;
  pool.connect = ((cb?: unknown) =>
    cb ? connect(cb) : breaker.execute(() => connect() as Promise<pg.PoolClient>, isDatabaseFailure)) as typeof pool.connect;
  pool.query = ((...args: unknown[]) =>
    typeof args.at(-1) === "function"
      ? query(...args)
      : breaker.execute(() => query(...args) as Promise<unknown>, isDatabaseFailure)) as typeof pool.query;
  return pool;
}

async function openPostgres(config: Extract<Config["database"], { kind: "postgres" }>, options: DatabaseOptions): Promise<Database> {
  const { url, poolSize } = config;
  const bounded = boundedPoolConfig(config.timeouts);
  const { pool, prisma } = openPool(url, poolSize, options, bounded, options.breaker);
  const sql = rawSqlOverPg(pool, options.onQuery);
  let reads: Reads = primaryOnly(prisma, sql);
  if (config.replicas) {
    const router = new ReplicaRouter({
      primary: prisma,
      primaryPool: pool,
      primarySql: sql,
      // A replica that stops answering fails its reads over to the primary within seconds, not at the OS timeout.
      replicas: config.replicas.urls.map((u) => {
        const replica = openPool(u, poolSize, options, { ...bounded, connectionTimeoutMillis: 3_000 });
        return { name: describeUrl(u), ...replica, sql: rawSqlOverPg(replica.pool, options.onQuery) };
      }),
      maxLagMs: config.replicas.maxLagMs,
      onStateChange: options.onReplicaState,
    });
    await router.start();
    reads = router;
  }
  return {
    kind: "postgres",
    describe: describeUrl(url) + (config.replicas ? ` (+${config.replicas.urls.length} read replica(s))` : ""),
    prisma,
    sql,
    reads,
    async migrate() {
      // Serialise concurrent migrators (several API instances starting at
      // once): the second waits, then finds nothing left to apply.
      const lock = new pg.Client({ connectionString: url });
      await lock.connect();
      try {
        await lock.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
        // A pool of our own, so an idle connection that errors (a dropped database, a restart) cannot crash the process.
        const migrationPool = new pg.Pool({ connectionString: url, max: 2 });
        migrationPool.on("error", () => {});
        try {
          return await applyMigrations(new PrismaPg(migrationPool));
        } finally {
          await migrationPool.end().catch(() => {});
        }
      } finally {
        await lock.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
        await lock.end();
      }
    },
    async ping() {
      await prisma.$queryRaw`SELECT 1`;
    },
    listen: (channel, onNotify) => listenPostgres(url, channel, onNotify, bounded.connectionTimeoutMillis),
    async notify(channel) {
      await pool.query("SELECT pg_notify($1, '')", [channel]);
    },
    async close() {
      await reads.close();
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

async function openPglite(dataDir: string, options: DatabaseOptions): Promise<Database> {
  // Before PGlite writes anything: a second process on this folder stops here.
  const lock = lockDataDir(dataDir);
  let pglite: PGlite;
  try {
    await mkdir(dataDir, { recursive: true });
    pglite = await PGlite.create(dataDir);
  } catch (err) {
    lock.release();
    throw err;
  }
  const prisma = createClient(new PrismaPGlite(pglite), options);
  const sql = rawSqlOverPrisma(prisma);
  return {
    kind: "pglite",
    describe: dataDir,
    prisma,
    sql,
    reads: primaryOnly(prisma, sql),
    // One process owns a PGlite data directory, so there is no one to race.
    migrate: () => applyMigrations(new PrismaPGlite(pglite)),
    async ping() {
      await prisma.$queryRaw`SELECT 1`;
    },
    async notify(channel) {
      await pglite.query("SELECT pg_notify($1, '')", [channel]);
    },
    async listen(channel, onNotify) {
      const unlisten = await pglite.listen(channel, onNotify);
      return async () => {
        if (!pglite.closed) await unlisten();
      };
    },
    async close() {
      try {
        await prisma.$disconnect();
        await pglite.close();
      } finally {
        lock.release();
      }
    },
  };
}

/**
 * LISTEN needs a connection of its own, outside the pool. When it drops
 * (e.g. a PostgreSQL restart) it reconnects, and fires onNotify once so the
 * listener catches up on anything it missed meanwhile.
 */
async function listenPostgres(url: string, channel: string, onNotify: () => void, connectTimeoutMs?: number): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
    c.on("notification", (n) => n.channel === channel && onNotify());
    c.on("error", () => {});
    try {
      await c.connect();
      await c.query(`LISTEN "${channel.replace(/"/g, "")}"`);
    } catch (err) {
      await c.end().catch(() => {});
      throw err;
    }
    client = c;
    c.on("end", () => {
      if (!stopped) retry = setTimeout(reconnect, 1000);
    });
  };
  const reconnect = () =>
    connect().then(onNotify, () => {
      if (!stopped) retry = setTimeout(reconnect, 1000);
    });
  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => {});
  };
}
