// A test file's API: its own PostgreSQL database, the real app on it in
// process, and the shop helpers (tests/support/shop.ts) over yoga.fetch.
import pg from "pg";
import { createTestDatabase, sqlPool } from "./database.js";
import { startTestApp, type TestApp } from "./app.js";
import { JWT_SECRET, shop, type Shop } from "./shop.js";
import type { DatabaseOptions } from "../../src/db/database.js";

export interface Api extends TestApp, Shop {
  dbUrl: string;
  /** Direct SQL on this file's database, to check what was (not) written. */
  sql: pg.Pool;
}

export async function startApi(
  env: Record<string, string> = {},
  options: DatabaseOptions = {},
  deps: Parameters<typeof startTestApp>[2] = {},
): Promise<Api> {
  const database = await createTestDatabase();
  const t = await startTestApp({ DATABASE_URL: database.url, JWT_SECRET, DATABASE_POOL_SIZE: "30", ...env }, options, deps);
  const sql = sqlPool(database.url);
  return {
    ...t,
    ...(await shop(t.gql)),
    dbUrl: database.url,
    sql,
    async close() {
      await sql.end();
      await t.close();
      await database.drop();
    },
  };
}
