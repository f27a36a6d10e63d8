// What every scenario of a run shares: options, services, the database and
// its seed, the Redis tap and publisher, and how subscriptions are written.
import type pg from "pg";
import type { Redis } from "ioredis";
import type { Harness } from "../lib/harness.js";
import type { BenchService, BenchServices } from "../lib/services.js";
import type { RealtimeOptions } from "./options.js";
import type { Seed } from "./seed.js";
import type { RedisTimes } from "./taps.js";

export interface RunContext {
  h: Harness;
  opts: RealtimeOptions;
  /** Kafka only when a phase runs the API. */
  services: BenchServices & { redis: BenchService };
  databaseUrl: string;
  pool: pg.Pool;
  seed: Seed;
  tapTimes: RedisTimes;
  publisher: Redis;
  /** The database records commit timestamps (track_commit_timestamp). */
  commitTimestamps: boolean;
  /** schema.graphql has stockChanged(maxUpdatesPerSecond:). */
  rateArgument: boolean;
  /** Directory for V8 CPU profiles (--cpu-prof). */
  cpuProfDir?: string;
}
