// The order hot path's statements, and the outbox relay's, sent straight to
// the pg driver Prisma's adapter wraps. They are fixed raw SQL already; what
// Prisma's $queryRaw adds is its query pipeline around the same driver call,
// which cost more CPU per group-commit batch than the call itself
// (BENCHMARKS.md, "Figures behind the code"); its interactive transactions
// (the relay's, several a second under load, on the API's thread) cost more. Everything else keeps
// going through Prisma.
import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import type { Prisma } from "../generated/prisma/client.js";
import type { DbClient } from "./database.js";

export interface RawQuery {
  /** Runs one raw statement (autocommit outside a transaction) and resolves with its rows. */
  query<T>(sql: Prisma.Sql): Promise<T[]>;
}

export interface RawSql extends RawQuery {
  /** Runs fn's statements in one transaction on one connection: committed if fn resolves, rolled back if it throws. */
  transaction<T>(fn: (sql: RawQuery) => Promise<T>): Promise<T>;
  /**
   * PostgreSQL only: runs `COPY (...) TO STDOUT` (which takes no bind parameters) on a connection of
   * its own and resolves with everything it wrote, read as fast as the server writes it; the
   * connection goes back to the pool before the caller does anything with the bytes.
   */
  copyOut?(statement: string): Promise<Buffer>;
}

/**
 * Hot-path statements start with "-- prepare:<name>": those are prepared once
 * per connection instead of planned on every call (planning cost as much as
 * executing). Only fixed SQL texts opt in, as pg keeps every named statement.
 */
export const preparedName = (query: { sql: string }) => /^\s*-- prepare:([\w-]+)/.exec(query.sql)?.[1] as string;

/**
 * Over a pg pool. Rows come back with pg's own type parsing (timestamps as
 * Date, json parsed, int8 as string), so statements sent this way return no
 * int8 columns.
 */
export function rawSqlOverPg(pool: pg.Pool, onQuery?: (sql: string) => void): RawSql {
  const on = (client: pg.Pool | pg.PoolClient): RawQuery => ({
    async query<T>(sql: Prisma.Sql) {
      onQuery?.(sql.text);
      const result = await client.query({ name: preparedName(sql), text: sql.text, values: sql.values as unknown[] });
      return result.rows as T[];
    },
  });
  return {
    ...on(pool),
    async transaction(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query("BEGIN");
        const result = await fn(on(client));
        await client.query("COMMIT");
        return result;
      } catch (err) {
        // A connection that cannot even roll back is dropped, not returned to the pool.
        await client.query("ROLLBACK").catch((e: Error) => (broken = e));
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async copyOut(statement) {
      onQuery?.(statement);
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        const chunks: Buffer[] = [];
        for await (const chunk of client.query(copyTo(statement)) as AsyncIterable<Buffer>) chunks.push(chunk);
        return Buffer.concat(chunks);
      } catch (err) {
        // Mid-COPY the connection's protocol state is unknown: dropped, not reused.
        broken = err as Error;
        throw err;
      } finally {
        client.release(broken);
      }
    },
  };
}

/** Through Prisma (PGlite, where there is no pg pool to reach). */
export function rawSqlOverPrisma(prisma: DbClient): RawSql {
  const on = (client: Pick<DbClient, "$queryRaw">): RawQuery => ({ query: <T>(sql: Prisma.Sql) => client.$queryRaw<T[]>(sql) });
  return {
    ...on(prisma),
    // Long enough for a publish that waits out a Kafka outage (Prisma's default gives up after 5 s).
    transaction: (fn) => prisma.$transaction((tx) => fn(on(tx)), { timeout: 120_000, maxWait: 10_000 }),
  };
}
