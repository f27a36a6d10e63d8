// Creating and applying migrations in Prisma's own format
// (prisma/migrations/<timestamp>_<name>/migration.sql, migration_lock.toml and
// the _prisma_migrations table), so `prisma migrate deploy` with the native
// engine works on the same folder.
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import type { MigrationList } from "@prisma/schema-engine-wasm";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { openSchemaEngine } from "./schema-engine.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const PRISMA_DIR = path.join(root, "prisma");
export const MIGRATIONS_DIR = path.join(PRISMA_DIR, "migrations");
const SCHEMA_PATH = path.join(PRISMA_DIR, "schema.prisma");
const LOCKFILE = "migration_lock.toml";
const noFilters = { externalTables: [], externalEnums: [] };

export async function loadMigrationsList(baseDir = MIGRATIONS_DIR): Promise<MigrationList> {
  const entries = await readdir(baseDir, { withFileTypes: true }).catch(() => []);
  const dirs = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const lockPath = path.join(baseDir, LOCKFILE);
  return {
    baseDir,
    lockfile: { path: LOCKFILE, content: await readFile(lockPath, "utf8").catch(() => null) },
    shadowDbInitScript: "",
    migrationDirectories: await Promise.all(
      dirs.map(async (dir) => ({
        path: dir,
        migrationFile: {
          path: "migration.sql",
          content: await readFile(path.join(baseDir, dir, "migration.sql"), "utf8")
            .then((value) => ({ tag: "ok" as const, value }))
            .catch((e: Error) => ({ tag: "error" as const, value: e.message })),
        },
      })),
    ),
  };
}

/** Applies pending migrations; returns the names of those it applied. */
export async function applyMigrations(adapterFactory: SqlMigrationAwareDriverAdapterFactory, baseDir = MIGRATIONS_DIR): Promise<string[]> {
  // The engine takes Prisma's migration advisory lock on a connection it never
  // closes; freeing the engine does not close it. Left open, that idle
  // connection keeps the lock and the next migrator times out, so every
  // connection the engine opened is disposed of here.
  const opened: SqlDriverAdapter[] = [];
  const tracked: SqlMigrationAwareDriverAdapterFactory = {
    provider: adapterFactory.provider,
    adapterName: adapterFactory.adapterName,
    connect: async () => {
      const adapter = wholeScripts(await adapterFactory.connect());
      opened.push(adapter);
      return adapter;
    },
    connectToShadowDb: () => adapterFactory.connectToShadowDb(),
  };
  const handle = await openSchemaEngine(tracked);
  try {
    const migrationsList = await loadMigrationsList(baseDir);
    const out = await handle.call((e) => e.applyMigrations({ migrationsList, filters: noFilters }));
    return out.appliedMigrationNames;
  } finally {
    handle.dispose();
    await Promise.all(opened.map((a) => a.dispose()));
  }
}

/**
 * Migration scripts must reach the database whole. @prisma/adapter-pg's
 * executeScript splits them at every ";" (breaking function bodies and even
 * comments), and pglite-prisma-adapter's does not wait for the script to
 * finish. Both clients run a multi-statement script as one simple query.
 */
function wholeScripts(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const client = (adapter as unknown as { client: { exec?: (sql: string) => Promise<unknown>; query: (sql: string) => Promise<unknown> } })
    .client;
  adapter.executeScript = async (script) => {
    await (client.exec ? client.exec(script) : client.query(script));
  };
  return adapter;
}

/**
 * Diffs prisma/schema.prisma against the migration history and writes the new
 * migration folder. The history is replayed on a throwaway in-memory PGlite
 * (the wasm engine has no shadow database of its own), then that database is
 * diffed against the datamodel. Returns the folder, or null when the schema
 * and the migrations already agree.
 */
export async function createMigration(name: string, baseDir = MIGRATIONS_DIR, opts: { empty?: boolean } = {}): Promise<string | null> {
  const content = await readFile(SCHEMA_PATH, "utf8");
  const files = [{ path: SCHEMA_PATH, content }];
  const db = await PGlite.create();
  const handle = await openSchemaEngine(new PrismaPGlite(db), { path: SCHEMA_PATH, content });
  try {
    const migrationsList = await loadMigrationsList(baseDir);
    await handle.call((e) => e.applyMigrations({ migrationsList, filters: noFilters }));
    const diff = await handle.call((e) =>
      e.diff({
        from: { tag: "schemaDatasource", files, configDir: PRISMA_DIR },
        to: { tag: "schemaDatamodel", files },
        script: true,
        exitCode: null,
        filters: noFilters,
      }),
    );
    let script = diff.stdout ?? "";
    if (!script.trim() || /^-- This is an empty migration\.\s*$/.test(script.trim())) {
      // Like `prisma migrate dev --create-only`: a folder for hand-written SQL.
      if (!opts.empty) return null;
      script = "-- This is an empty migration: write the SQL by hand.\n";
    }
    const dir = path.join(baseDir, `${timestamp()}_${name}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "migration.sql"), script);
    if (migrationsList.lockfile.content === null) {
      await writeFile(
        path.join(baseDir, LOCKFILE),
        '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
      );
    }
    return dir;
  } finally {
    handle.dispose();
    await db.close();
  }
}

/** Prisma's migration folder prefix: UTC YYYYMMDDHHMMSS. */
function timestamp(now = new Date()): string {
  return now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}
