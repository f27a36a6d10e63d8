// Read replicas: which database a read goes to. Read-only GraphQL operations
// mark their RequestContext `readFrom` (schema/read-routing.ts); services run
// their reads through `Reads.run`, writes and transactions always on the
// primary. A replica serves a read only while it is reachable, a standby, and
// no further behind than maxLagMs; otherwise the read goes to the primary.
//
// Read-your-writes by WAL position, not by a stickiness window: after a
// viewer's mutation the API remembers the primary's pg_current_wal_lsn()
// (`position`, kept by write-marks.ts), and that viewer's reads use only a
// replica whose pg_last_wal_replay_lsn() has passed it. A window is either too
// long (reads pinned to the primary for nothing) or too short (a replica
// lagging more than the window serves stale data); the position is exact, and
// usually lets the next read use a replica again at once.
//
// Hand-written rather than @prisma/extension-read-replicas: that extension
// routes by operation name only (a random replica, raw queries to the
// primary); it has no lag bound, no health checks, no fallback and no
// read-your-writes, which are most of what this file does.
import pg from "pg";
import type { ReadFrom } from "../auth/viewer.js";
import type { DbClient } from "./database.js";
import { rawSqlOverPrisma, type RawQuery } from "./raw-sql.js";

/** Where reads go: the primary only (no replicas configured), or a router over replicas. */
export interface Reads {
  /**
   * Runs `read` on a fit replica when ctx allows it, else on the primary; a replica that fails is retried on the primary.
   * `read` gets that database through Prisma and as raw SQL past it (raw-sql.ts), for the hottest reads.
   */
  run<T>(ctx: { readFrom?: ReadFrom } | undefined, read: (db: DbClient, sql: RawQuery) => Promise<T>): Promise<T>;
  /** The primary's WAL position now, after a write (unknown: one no replica will reach). */
  position(): Promise<string>;
  /**
   * How long a position matters: a replica found within the bound at a check has replayed every position the
   * primary had maxLagMs before it, and the next check samples one at least as far: past both (plus a check's
   * slack), every replica that serves reads has replayed it.
   */
  readonly positionTtlMs: number;
  /** Replicas as of their last check (empty without replicas), for /ready. */
  status(): ReplicaStatus[];
  close(): Promise<void>;
}

export interface ReplicaStatus {
  /** host:port/database, no credentials. */
  name: string;
  state: "ok" | "lagging" | "down" | "not-a-standby" | "starting";
  /** How long the primary has had WAL this replica has not replayed (0 when caught up). */
  lagMs?: number;
  replayLsn?: string;
  error?: string;
}

/** A WAL position past any real one. */
export const NEVER_REPLAYED = "FFFFFFFF/FFFFFFFF";

/** No replicas: every read on the primary. */
export function primaryOnly(primary: DbClient, sql: RawQuery = rawSqlOverPrisma(primary)): Reads {
  return {
    run: (_ctx, read) => read(primary, sql),
    position: async () => NEVER_REPLAYED,
    positionTtlMs: 0,
    status: () => [],
    close: async () => {},
  };
}

export interface ReplicaHandle {
  name: string;
  prisma: DbClient;
  pool: pg.Pool;
  /** The same pool as raw SQL. */
  sql: RawQuery;
}

export interface ReplicaRouterOptions {
  primary: DbClient;
  primaryPool: pg.Pool;
  /** The primary as raw SQL (Database.sql). */
  primarySql: RawQuery;
  replicas: ReplicaHandle[];
  /** A replica further behind than this serves no reads. */
  maxLagMs: number;
  /** How often replicas are checked; default maxLagMs / 4 within 50 ms..1 s. */
  checkEveryMs?: number;
  onStateChange?: (replica: ReplicaStatus) => void;
}

/** A WAL position ("16/B374D848") as a number, for comparing. */
export function lsn(text: string): bigint {
  const [hi, lo] = text.split("/");
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

const CHECK_TIMEOUT_MS = 2_000;

// Primary positions kept to measure lag; at the default check rate ~8 minutes.
const MAX_SAMPLES = 1_000;

interface Replica extends ReplicaHandle {
  status: ReplicaStatus;
  replay?: bigint;
}

export class ReplicaRouter implements Reads {
  private readonly replicas: Replica[];
  private readonly checkEveryMs: number;
  /** The primary's WAL position at each check, oldest first: a replica's lag is the age of the oldest it has not replayed. */
  private samples: { at: number; lsn: bigint }[] = [];
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private closed = false;

  readonly positionTtlMs: number;

  constructor(private readonly opts: ReplicaRouterOptions) {
    this.replicas = opts.replicas.map((r) => ({ ...r, status: { name: r.name, state: "starting" } }));
    this.checkEveryMs = opts.checkEveryMs ?? Math.min(1_000, Math.max(50, Math.round(opts.maxLagMs / 4)));
    this.positionTtlMs = opts.maxLagMs + 3 * this.checkEveryMs;
  }

  /** Checks every replica now, then every checkEveryMs. */
  async start(): Promise<void> {
    await this.check();
    const loop = () => {
      if (this.closed) return;
      this.timer = setTimeout(() => void this.check().finally(loop), this.checkEveryMs);
      this.timer.unref();
    };
    loop();
  }

  async run<T>(ctx: { readFrom?: ReadFrom } | undefined, read: (db: DbClient, sql: RawQuery) => Promise<T>): Promise<T> {
    const replica = ctx?.readFrom ? this.pick(ctx.readFrom.after) : undefined;
    if (!replica) return read(this.opts.primary, this.opts.primarySql);
    try {
      return await read(replica.prisma, replica.sql);
    } catch {
      // Gone, restarting, or a query cancelled by recovery: the primary answers, and a check decides the replica's state.
      void this.check();
      return read(this.opts.primary, this.opts.primarySql);
    }
  }

  async position(): Promise<string> {
    try {
      const { rows } = await this.opts.primaryPool.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn");
      return rows[0]!.lsn;
    } catch {
      // The write has happened; not knowing where, no replica qualifies until the position expires.
      return NEVER_REPLAYED;
    }
  }

  status(): ReplicaStatus[] {
    return this.replicas.map((r) => ({ ...r.status }));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.checking?.catch(() => {});
    await Promise.allSettled(
      this.replicas.map(async (r) => {
        await r.prisma.$disconnect();
        await r.pool.end();
      }),
    );
  }

  /** A replica fit for reads that has replayed `after` (round robin), or none. */
  private pick(after: string | undefined): Replica | undefined {
    const need = after === undefined ? undefined : lsn(after);
    for (let i = 0; i < this.replicas.length; i++) {
      const r = this.replicas[(this.next + i) % this.replicas.length]!;
      if (r.status.state !== "ok") continue;
      if (need !== undefined && (r.replay === undefined || r.replay < need)) continue;
      this.next = (this.next + i + 1) % this.replicas.length;
      return r;
    }
    return undefined;
  }

  /** One check at a time; callers during a check share it. */
  check(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.checking ??= this.checkOnce().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    const at = Date.now();
    try {
      const { rows } = await withTimeout(this.opts.primaryPool.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn"));
      const position = lsn(rows[0]!.lsn);
      if (position > (this.samples.at(-1)?.lsn ?? -1n)) this.samples.push({ at, lsn: position });
    } catch {
      // The primary is /ready's database check; lag is measured against the positions known so far.
    }
    await Promise.all(this.replicas.map((r) => this.checkReplica(r)));
    // Positions every replica has replayed are no longer needed to measure lag. A replica that is down counts
    // with what it had replayed: back up, its lag is measured from there, not from what the others reached.
    const replayed = this.replicas.filter((r) => r.replay !== undefined).map((r) => r.replay!);
    const oldest = replayed.length ? replayed.reduce((a, b) => (a < b ? a : b)) : undefined;
    const keepFrom = oldest === undefined ? 0 : this.samples.findIndex((s) => s.lsn > oldest);
    this.samples = this.samples.slice(keepFrom < 0 ? this.samples.length - 1 : keepFrom).slice(-MAX_SAMPLES);
  }

  private async checkReplica(r: Replica): Promise<void> {
    const before = r.status.state;
    try {
      const { rows } = await withTimeout(
        r.pool.query<{ standby: boolean; replay: string | null }>(
          "SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replay",
        ),
      );
      const { standby, replay } = rows[0]!;
      if (!standby || replay === null) {
        // Promoted, or not a streaming standby at all: it no longer follows this primary.
        r.replay = undefined;
        r.status = { name: r.name, state: "not-a-standby" };
      } else {
        r.replay = lsn(replay);
        const behind = this.samples.find((s) => s.lsn > r.replay!);
        const lagMs = behind ? Math.max(0, Date.now() - behind.at) : 0;
        r.status = { name: r.name, state: lagMs > this.opts.maxLagMs ? "lagging" : "ok", lagMs, replayLsn: replay };
      }
    } catch (err) {
      r.status = { name: r.name, state: "down", error: err instanceof Error ? err.message : String(err) };
    }
    if (r.status.state !== before) this.opts.onStateChange?.({ ...r.status });
  }
}

function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
