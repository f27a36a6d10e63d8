// Where the relay's next scan of the outbox starts.
//
// Why not always "WHERE published_at IS NULL ORDER BY id": every published row
// leaves a dead entry in that index range until VACUUM, and PostgreSQL plans
// the scan as a bitmap scan, which visits them all and never marks them dead.
// The scan grows slower with every event published since, and under an order
// burst the relay scans many times a second, so PostgreSQL's CPU per order
// grew with it (BENCHMARKS.md, "Figures behind the code"). Starting at
// `id > after` skips the published past.
//
// Why `after` lags: outbox ids come from a sequence at INSERT, so a transaction
// can commit a lower id after a higher one was published (never for the same
// product: its row lock orders them). Each scan records a horizon, the highest
// id it saw with every visible row up to it published; `after` takes a horizon
// only once it is `lagMs` old, by when transactions that held lower ids have
// committed. One slower than that is caught by a full scan every `fullScanMs`.
export interface OutboxCursorOptions {
  /** How long a horizon waits before scans may start past it. */
  lagMs?: number;
  /** How often a scan starts at the beginning anyway. */
  fullScanMs?: number;
}

export interface OutboxCursor {
  /** Scan for unpublished rows with id > this. */
  after(now: number): bigint;
  /**
   * After a scan's rows were published and committed: `horizon` is the highest
   * id below which every row the scan could see is now published (the table's
   * max id when the scan drained the backlog, else the last row's id).
   */
  scanned(horizon: bigint, now: number): void;
  /** Another relay may have published meanwhile (or nothing is known): start over. */
  reset(): void;
}

export function createOutboxCursor({ lagMs = 1_000, fullScanMs = 10_000 }: OutboxCursorOptions = {}): OutboxCursor {
  let after = 0n;
  let fullScanAt = -Infinity; // the next scan is a full one
  const horizons: { at: number; id: bigint }[] = []; // oldest first, ids increasing

  return {
    after(now) {
      if (now >= fullScanAt) {
        fullScanAt = now + fullScanMs;
        return 0n;
      }
      while (horizons.length && horizons[0]!.at <= now - lagMs) {
        const { id } = horizons.shift()!;
        if (id > after) after = id;
      }
      return after;
    },
    scanned(horizon, now) {
      const last = horizons[horizons.length - 1];
      if (horizon > (last?.id ?? after)) horizons.push({ at: now, id: horizon });
    },
    reset() {
      after = 0n;
      fullScanAt = -Infinity;
      horizons.length = 0;
    },
  };
}
