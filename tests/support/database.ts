// One PostgreSQL database per test file, cloned from the migrated template
// that the global setup prepared, so files run in parallel without sharing
// rows. CREATE DATABASE ... TEMPLATE copies files: ~100 ms, no migrations.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { databaseUrl, withClient } from "../../infra/services/postgres.js";
import { services } from "./services.js";

export interface TestDatabase {
  name: string;
  url: string;
  /** Drops the database, disconnecting whoever is still connected. */
  drop(): Promise<void>;
}

/** `empty: true` gives a database without the migrations (from template0). */
export async function createTestDatabase(opts: { empty?: boolean } = {}): Promise<TestDatabase> {
  const { postgresAdminUrl, templateDatabase } = services();
  const name = `t_${randomBytes(6).toString("hex")}`;
  const template = opts.empty ? "template0" : templateDatabase;
  await withClient(postgresAdminUrl, async (client) => {
    // The template must have no sessions while it is copied; PostgreSQL waits
    // 5 s for stragglers and then fails with 55006, so retry a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== "55006" || attempt >= 3) throw err;
      }
    }
  });
  return {
    name,
    url: databaseUrl(postgresAdminUrl, name),
    drop: () => withClient(postgresAdminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}

/**
 * A pool for a test's own SQL. pg-pool's end() resolves before its clients'
 * sockets have closed, so a DROP DATABASE ... WITH (FORCE) right after can
 * terminate a client that is still ending; its idle listener then re-emits
 * the 57P01 on the pool, which without a listener is an uncaught exception.
 * Query errors still reach the query's caller.
 */
export function sqlPool(url: string, max = 2): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on("error", () => {});
  return pool;
}
