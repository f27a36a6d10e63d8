// Vitest global setup (once per project, in the main process; the projects share one start): real PostgreSQL,
// Redis and Kafka - from DATABASE_URL / REDIS_URL / KAFKA_BROKERS when set,
// otherwise started as throwaway processes by infra/services - plus a
// template database with the project's migrations, cloned per test file by
// tests/support/database.ts. Test files read it all with inject("services").
import { randomBytes } from "node:crypto";
import { PrismaPg } from "@prisma/adapter-pg";
import type { TestProject } from "vitest/node";
import { databaseUrl, withClient } from "../../infra/services/postgres.js";
import { startServices } from "../../infra/services/stack.js";
import { applyMigrations } from "../../src/db/migrations.js";
import type { ServicesInfo } from "../support/services.js";

/** What every project's setup shares (the suite and the files run alone: vitest.config.ts). */
interface Shared {
  info: Promise<ServicesInfo>;
  users: number;
  stop: () => Promise<void>;
}
// On globalThis: vitest may load this module once per project.
const SHARED = Symbol.for("stockwire.testServices");
const registry = globalThis as { [SHARED]?: Shared };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let shared = registry[SHARED];
  if (!shared) {
    let stop = async () => {};
    const info = start((s) => (stop = s));
    shared = registry[SHARED] = { info, users: 0, stop: () => stop() };
  }
  shared.users++;
  project.provide("services", await shared.info);
  const mine = shared;
  return async () => {
    if (--mine.users > 0) return;
    delete registry[SHARED];
    await mine.stop();
  };
}

/** The services and a migrated template database; `onStop` receives how to end them. */
async function start(onStop: (stop: () => Promise<void>) => void): Promise<ServicesInfo> {
  const services = await startServices();
  // A unique name, in case DATABASE_URL is a server shared with other runs.
  const template = `stockwire_template_${randomBytes(4).toString("hex")}`;
  try {
    const t0 = Date.now();
    await createTemplate(services.databaseUrl, template);
    console.log(`[services] postgres: template database ${template} migrated in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  } catch (err) {
    await services.stop();
    throw err;
  }
  onStop(async () => {
    await dropTemplate(services.databaseUrl, template).catch((err) => console.error(`[services] could not drop ${template}: ${err}`));
    await services.stop();
  });
  return {
    postgresAdminUrl: services.databaseUrl,
    templateDatabase: template,
    redisUrl: services.redisUrl,
    kafkaBrokers: services.kafkaBrokers,
  };
}

async function createTemplate(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  await applyMigrations(new PrismaPg({ connectionString: databaseUrl(adminUrl, name) }));
  await withClient(adminUrl, async (c) => {
    // CREATE DATABASE ... TEMPLATE fails while anyone is connected to the
    // template: refuse new sessions (autovacuum included) and end the
    // migration's leftover pooled ones.
    await c.query(`ALTER DATABASE "${name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [name]);
  });
}

async function dropTemplate(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (c) => {
    await c.query(`ALTER DATABASE "${name}" WITH IS_TEMPLATE false`);
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}
