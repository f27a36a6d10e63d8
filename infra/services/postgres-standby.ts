// A throwaway streaming replica of a PostgreSQL server (for the read-replica
// tests): pg_basebackup -R copies the primary and writes standby.signal and
// primary_conninfo, then `postgres` runs it as a hot standby on a port of its
// own, following the primary over streaming replication. The primary needs
// wal_level=replica, free WAL senders, a role with REPLICATION and a pg_hba
// `replication` line for 127.0.0.1 (startPostgres's servers have all four).
import { chown } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { ensurePostgresBin, systemUser } from "./install.js";
import { freePort } from "./ports.js";
import { databaseUrl, withClient } from "./postgres.js";
import { makeTempDir, restartable, run, spawnReady, type StartedService } from "./process.js";

export interface StandbyOptions {
  log?: (line: string) => void;
  readyTimeoutMs?: number;
}

/** Settings a hot standby must have at least as high as its primary's, or it refuses to start. */
const AT_LEAST_PRIMARY = [
  "max_connections",
  "max_worker_processes",
  "max_wal_senders",
  "max_prepared_transactions",
  "max_locks_per_transaction",
];

/** The role the standby replicates as: REPLICATION only, not a superuser. */
const REPLICATION_ROLE = "stockwire_replicator";

/**
 * Starts a standby of the server at `primaryUrl` (any database on it). Its
 * `url` points at the same database name on the standby; pause() stops it
 * (an outage), resume() starts it again from where it was.
 */
export async function startStandby(primaryUrl: string, opts: StandbyOptions = {}): Promise<StartedService> {
  const log = opts.log ?? console.log;
  const bin = await ensurePostgresBin(log);
  const runAs = process.getuid?.() === 0 ? systemUser("postgres") : undefined;
  const primary = new URL(primaryUrl);
  const settings = await withClient(primaryUrl, async (c) => {
    await c.query(`DO $$ BEGIN CREATE ROLE ${REPLICATION_ROLE} WITH LOGIN REPLICATION; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    const { rows } = await c.query<{ name: string; setting: string }>("SELECT name, setting FROM pg_settings WHERE name = ANY($1)", [
      AT_LEAST_PRIMARY,
    ]);
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  });
  const dir = await makeTempDir("stockwire-standby-");
  try {
    if (runAs) await chown(dir.path, runAs.uid, runAs.gid);
    const data = path.join(dir.path, "data");
    const source = `host=${primary.hostname} port=${primary.port || 5432} user=${REPLICATION_ROLE}`;
    // -R: standby.signal + primary_conninfo; -X stream: the WAL written during the copy comes along; -c fast: checkpoint now.
    await run(path.join(bin, "pg_basebackup"), ["-D", data, "-d", source, "-R", "-X", "stream", "-c", "fast", "--no-sync"], {
      cwd: dir.path,
      runAs,
    });
    const port = await freePort();
    const args = Object.entries({
      ...settings,
      port,
      listen_addresses: "127.0.0.1",
      unix_socket_directories: "",
      hot_standby: "on",
      // Report replay progress often, so the primary's pg_stat_replication is current too.
      wal_receiver_status_interval: "1s",
    }).flatMap(([k, v]) => ["-c", `${k}=${v}`]);
    const url = databaseUrl(`postgresql://postgres@127.0.0.1:${port}/postgres`, primary.pathname.slice(1) || "postgres");
    const launch = () =>
      spawnReady(
        [
          "postgres-standby",
          path.join(bin, "postgres"),
          ["-D", data, ...args],
          { cwd: dir.path, logFile: path.join(dir.path, "postgres.log"), runAs, stopSignal: "SIGINT" },
        ],
        {
          what: `the standby to accept read-only connections on 127.0.0.1:${port}`,
          timeoutMs: opts.readyTimeoutMs ?? 30_000,
          probe: async () => {
            const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
            try {
              await client.connect();
              const { rows } = await client.query<{ standby: boolean }>("SELECT pg_is_in_recovery() AS standby");
              return rows[0]!.standby ? true : undefined;
            } finally {
              await client.end().catch(() => {});
            }
          },
        },
      );
    return await restartable(dir, launch, ({ proc }) => ({
      url,
      describe: `PostgreSQL standby of ${primary.host} (pid ${proc.pid}, dir ${dir.path})`,
    }));
  } catch (err) {
    await dir.remove();
    throw err;
  }
}
