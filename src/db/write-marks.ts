// Read-your-writes: the primary's WAL position after each viewer's latest
// write, for as long as it matters (Reads.positionTtlMs). Kept in Redis when
// there is one, so a customer's next request sees their write whichever API
// instance the load balancer sends it to; in process otherwise (one instance).
// Also in process beside Redis: the instance that took the write knows it even
// if Redis does not answer, and a position Redis cannot tell is taken as one no
// replica has reached (the read goes to the primary), never as none.
import type { Redis } from "ioredis";
import { lsn, NEVER_REPLAYED } from "./replicas.js";

export interface WriteMarks {
  /** The position `writer`'s reads must see, if a write of theirs is recent enough to matter. */
  get(writer: string): Promise<string | undefined>;
  /** After `writer` wrote: positions only rise (a late, smaller one does not replace a larger one). */
  set(writer: string, position: string, ttlMs: number): Promise<void>;
}

// Above this many writers remembered, expired ones are swept on the next set.
const SWEEP_ABOVE = 10_000;

export function memoryWriteMarks(now: () => number = Date.now): WriteMarks {
  const marks = new Map<string, { position: string; until: number }>();
  return {
    async get(writer) {
      const mark = marks.get(writer);
      if (mark && mark.until >= now()) return mark.position;
      marks.delete(writer);
      return undefined;
    },
    async set(writer, position, ttlMs) {
      if (marks.size > SWEEP_ABOVE) for (const [w, m] of marks) if (m.until < now()) marks.delete(w);
      const previous = marks.get(writer);
      const keep = previous && previous.until >= now() && lsn(previous.position) > lsn(position);
      marks.set(writer, { position: keep ? previous.position : position, until: now() + ttlMs });
    },
  };
}

// Positions as fixed-width hex ("0000001A/0B3C4D5E") compare as strings in Lua.
const fixed = (position: string) =>
  position
    .split("/")
    .map((part) => part.toUpperCase().padStart(8, "0"))
    .join("/");

const KEEP_HIGHEST = `
local current = redis.call('GET', KEYS[1])
if current and current > ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1`;

export function redisWriteMarks(redis: Redis, prefix = "stockwire:wrote:"): WriteMarks {
  const local = memoryWriteMarks();
  return {
    async get(writer) {
      const mine = await local.get(writer);
      let shared: string | null;
      try {
        if (redis.status !== "ready") throw new Error(`redis is ${redis.status}`);
        shared = await redis.get(prefix + writer);
      } catch {
        return NEVER_REPLAYED;
      }
      if (mine === undefined || shared === null) return mine ?? shared ?? undefined;
      return lsn(mine) > lsn(shared) ? mine : shared;
    },
    async set(writer, position, ttlMs) {
      await local.set(writer, position, ttlMs);
      if (redis.status !== "ready") return;
      await redis.eval(KEEP_HIGHEST, 1, prefix + writer, fixed(position), Math.max(1, Math.ceil(ttlMs))).catch(() => {});
    },
  };
}
