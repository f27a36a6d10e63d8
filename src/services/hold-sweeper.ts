// Ends holds past their expiry and emits the change (HOLD_EXPIRED through the
// outbox, the units offered to the waitlist first) within a second of it.
// Reads already stop counting a lapsed hold the moment it expires; the sweep
// makes it final and tells live subscribers.
//
// Runs in every API process, no leader needed: each hold is ended by one
// statement that re-reads it under its row lock, so when several processes
// race for the same hold exactly one ends it and the others find it ended.
export interface Sweepable {
  expireLapsed(limit?: number): Promise<number>;
}

export class HoldSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** Holds this process ended, and sweeps that failed (the next one retries). */
  readonly stats = { expired: 0, failures: 0 };

  constructor(
    private readonly holds: Sweepable,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Sweeps every intervalMs from now on (0: never; other processes sweep). */
  start(): void {
    if (!this.stopped || this.intervalMs <= 0) return;
    this.stopped = false;
    this.schedule();
  }

  private schedule() {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweep().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, this.intervalMs);
    this.timer.unref?.();
  }

  /** One pass: keeps ending lapsed holds while full batches come back. */
  async sweep(): Promise<void> {
    try {
      for (let n = 100; n === 100 && !this.stopped;) {
        n = await this.holds.expireLapsed(100);
        this.stats.expired += n;
      }
    } catch (err) {
      this.stats.failures++;
      this.onError(err);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
