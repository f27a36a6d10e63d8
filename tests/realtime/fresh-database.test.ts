// Two instances starting at once on an empty PostgreSQL database, as a fresh
// multi-instance deployment does: both apply the migrations at start-up (one
// waits for the other), every migration runs exactly once, and both serve.
import { readdirSync } from "node:fs";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import { httpClient } from "../support/client.js";
import { startInstance, stockwireEnv, streamNames, type Instance } from "../support/stockwire.js";

let database: TestDatabase | undefined;
const instances: Instance[] = [];
afterAll(async () => {
  await Promise.allSettled(instances.map((i) => i.stop()));
  await database?.drop();
});

const migrations = readdirSync(new URL("../../prisma/migrations", import.meta.url), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe("fresh database", () => {
  it("two instances starting together migrate it once and both serve", async () => {
    database = await createTestDatabase({ empty: true });
    const env = stockwireEnv(
      { databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() },
      streamNames("fresh-database"),
      ["api", "relay", "bridge"],
    );
    instances.push(...(await Promise.all([startInstance(env), startInstance(env)])));

    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      const { rows } = await sql.query(
        `SELECT migration_name, count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL GROUP BY 1 ORDER BY 1`,
      );
      expect(rows).toEqual(migrations.map((name) => ({ migration_name: name, n: 1 })));
    } finally {
      await sql.end();
    }
    for (const instance of instances) {
      expect(await httpClient(instance.url)(`{ products(first: 1) { edges { node { id } } } }`)).toMatchObject({
        data: { products: { edges: [] } },
      });
    }
  });
});
