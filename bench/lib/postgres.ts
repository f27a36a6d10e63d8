// A throwaway PostgreSQL like scripts/services/postgres.ts starts (initdb into
// a temp dir, `postgres` in the foreground on 127.0.0.1 and a free port, as
// the `postgres` user when we are root), plus server settings of our own.
// bench/realtime.ts needs `track_commit_timestamp = on`, a setting that only
// takes effect at server start: with it, pg_xact_commit_timestamp(xmin) gives
// each order's commit time in microseconds, the reference for
// commit-to-delivery latency.
import { chown } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { ensurePostgresBin, systemUser } from "../../scripts/services/install.js";
import { freePort } from "../../scripts/services/ports.js";
import { makeTempDir, run, spawnService, waitUntil, type ServiceProcess, type StartedService } from "../../scripts/services/process.js";

export interface BenchPostgres extends StartedService {
  /** The postmaster, for CPU accounting (its backends are its children). */
  pid: number;
}

export async function startBenchPostgres(opts: {
  log?: (line: string) => void;
  settings?: Record<string, string | number>;
}): Promise<BenchPostgres> {
  const log = opts.log ?? console.log;
  const bin = await ensurePostgresBin(log);
  const runAs = process.getuid?.() === 0 ? systemUser("postgres") : undefined;
  const dir = await makeTempDir("stockwire-bench-postgres-");
  let proc: ServiceProcess | undefined;
  try {
    if (runAs) await chown(dir.path, runAs.uid, runAs.gid);
    const data = path.join(dir.path, "data");
    await run(path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"], {
      cwd: dir.path,
      runAs,
    });
    const port = await freePort();
    const settings = {
      port,
      listen_addresses: "127.0.0.1",
      unix_socket_directories: "",
      max_connections: 300,
      ...opts.settings,
    };
    proc = spawnService(
      "postgres",
      path.join(bin, "postgres"),
      ["-D", data, ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])],
      { cwd: dir.path, logFile: path.join(dir.path, "postgres.log"), runAs, stopSignal: "SIGINT" },
    );
    const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    const version = await waitUntil(
      `postgres to accept connections on 127.0.0.1:${port}`,
      30_000,
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
    const started = proc;
    return {
      url,
      pid: started.pid,
      describe: `PostgreSQL ${version} (pid ${started.pid}, dir ${dir.path})`,
      async stop() {
        await started.stop();
        await dir.remove();
      },
    };
  } catch (err) {
    await proc?.stop();
    await dir.remove();
    throw err;
  }
}
