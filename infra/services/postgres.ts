// A throwaway PostgreSQL server: initdb into a temp dir, then `postgres` as a
// plain foreground process on 127.0.0.1 and a free port (no unix socket, no
// system cluster, no pg_ctl daemonising). PostgreSQL refuses to run as root,
// so as root both run as the `postgres` system user.
import { chown } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { ensurePostgresBin, systemUser } from "./install.js";
import { freePort } from "./ports.js";
import { makeTempDir, run, spawnService, waitUntil, type ServiceProcess, type StartedService } from "./process.js";

export interface PostgresOptions {
  log?: (line: string) => void;
  /** Concurrency tests open many connections; the default 100 is too few. */
  maxConnections?: number;
  /** Further server settings, e.g. track_commit_timestamp for bench/realtime.ts. */
  settings?: Record<string, string | number>;
  readyTimeoutMs?: number;
}

export interface StartedPostgres extends StartedService {
  /** The postmaster (its backends are its children), for CPU accounting in benchmarks. */
  pid: number;
}

export async function startPostgres(opts: PostgresOptions = {}): Promise<StartedPostgres> {
  const log = opts.log ?? console.log;
  const bin = await ensurePostgresBin(log);
  const runAs = process.getuid?.() === 0 ? systemUser("postgres") : undefined;
  const dir = await makeTempDir("stockwire-postgres-");
  let proc: ServiceProcess | undefined;
  try {
    if (runAs) await chown(dir.path, runAs.uid, runAs.gid);
    const data = path.join(dir.path, "data");
    // --no-sync only skips initdb's final fsync of a throwaway cluster; the server keeps fsync on.
    await run(path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"], {
      cwd: dir.path,
      runAs,
    });
    const port = await freePort();
    const settings = {
      port,
      listen_addresses: "127.0.0.1",
      unix_socket_directories: "",
      max_connections: opts.maxConnections ?? 300,
      // Ready to be a primary (postgres-standby.ts): WAL for streaming replicas, and senders for them. initdb's
      // --auth=trust pg_hba.conf already lets 127.0.0.1 connect for replication.
      wal_level: "replica",
      max_wal_senders: 10,
      ...opts.settings,
    };
    const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    // Also what resume() runs: the same data dir, port and settings (crash recovery after a kill).
    const launch = async () => {
      proc = spawnService(
        "postgres",
        path.join(bin, "postgres"),
        ["-D", data, ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])],
        { cwd: dir.path, logFile: path.join(dir.path, "postgres.log"), runAs, stopSignal: "SIGINT" },
      );
      return waitUntil(
        `postgres to accept connections on 127.0.0.1:${port}`,
        opts.readyTimeoutMs ?? 30_000,
        async () => {
          const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
          try {
            await client.connect();
            return (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v.split(" ")[0];
          } finally {
            await client.end().catch(() => {});
          }
        },
        proc,
      );
    };
    const version = await launch();
    const first = proc!;
    return {
      url,
      pid: first.pid,
      describe: `PostgreSQL ${version} (pid ${first.pid}, dir ${dir.path})`,
      processId: () => proc!.pid,
      pause: () => proc!.stop(),
      async resume() {
        if (proc!.hasExited()) await launch();
      },
      async stop() {
        await proc!.stop();
        await dir.remove();
      },
    };
  } catch (err) {
    await proc?.stop();
    await dir.remove();
    throw err;
  }
}

/** The same server URL pointing at another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** One short-lived connection (admin statements: CREATE/DROP DATABASE...). */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
