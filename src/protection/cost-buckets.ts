// Cost buckets: per client, a leaky bucket of points, as Shopify's GraphQL
// APIs keep them. Requests pour their cost in; it drains continuously at the
// restore rate; a request that would overflow it is refused and told when
// enough will have drained. In Redis (one Lua script per charge or refund, on
// Redis' clock, so every API instance shares each client's bucket) or, without
// Redis or while it is unreachable, in this process.
//
// Hand-rolled on purpose: rate-limiter-flexible (what we tried first) counts
// fixed windows, so a drained client got its whole bucket back in one step
// after up to a hundred seconds instead of a little every second.
import type { Redis } from "ioredis";
import type { BucketSize } from "../config/config.js";
import type { Client, Tier } from "./client.js";

/** Shopify's throttleStatus: the bucket as it stands after this request. */
export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export type Charge =
  { ok: true; status: ThrottleStatus; msToFull: number } | { ok: false; status: ThrottleStatus; msToFull: number; retryAfterMs: number };

export interface CostBuckets {
  sizes: Record<Tier, BucketSize>;
  /** Takes `cost` points; when they are not there, takes nothing and says when to retry. */
  charge(client: Client, cost: number): Promise<Charge>;
  /** Gives points back (the requested cost above the actual one); with none to give, the bucket as `charged` left it. */
  refund(client: Client, points: number, charged: Charge): Promise<{ status: ThrottleStatus; msToFull: number }>;
}

/** One step of a bucket: drain since `ts`, then pour `delta` in (a refund is negative) unless it overflows. */
export function pour(state: { level: number; ts: number } | undefined, size: BucketSize, delta: number, now: number) {
  const drained = Math.max(0, (state?.level ?? 0) - ((now - (state?.ts ?? now)) * size.restorePerSecond) / 1000);
  const ok = delta <= 0 || drained + delta <= size.points;
  return { ok, level: ok ? Math.min(size.points, Math.max(0, drained + delta)) : drained };
}

// The same step in Redis, atomically, on Redis' clock. KEYS[1] a hash {level, ts}; ARGV: points, restore/s, delta.
const POUR = `
local cap, rate, delta = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('HMGET', KEYS[1], 'level', 'ts')
local level = math.max(0, (tonumber(s[1]) or 0) - (now - (tonumber(s[2]) or now)) * rate / 1000)
local ok = 1
if delta > 0 and level + delta > cap then ok = 0 else level = math.min(cap, math.max(0, level + delta)) end
if level > 0 then
  redis.call('HSET', KEYS[1], 'level', tostring(level), 'ts', now)
  redis.call('PEXPIRE', KEYS[1], math.ceil(level * 1000 / rate) + 1000)
else
  redis.call('DEL', KEYS[1])
end
return {ok, tostring(level)}`;

type Pour = (key: string, size: BucketSize, delta: number) => Promise<{ ok: boolean; level: number }>;

function memoryPour(): Pour {
  const buckets = new Map<string, { level: number; ts: number; drainedAt: number }>();
  // Forget buckets once they have drained (an empty bucket is the same as none), so idle clients cost no memory.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, b] of buckets) if (b.drainedAt <= now) buckets.delete(key);
  }, 60_000);
  sweep.unref();
  return async (key, size, delta) => {
    const now = Date.now();
    const step = pour(buckets.get(key), size, delta, now);
    if (step.ok) buckets.set(key, { level: step.level, ts: now, drainedAt: now + (step.level * 1000) / size.restorePerSecond });
    return step;
  };
}

/** How long a charge may wait for Redis before it is counted in process instead. */
const REDIS_WAIT_MS = 250;

function redisPour(redis: Redis, fallback: Pour): Pour {
  return async (key, size, delta) => {
    // Unreachable Redis: count in process rather than queue every request behind ioredis' reconnects.
    if (redis.status !== "ready") return fallback(key, size, delta);
    // A connection that died a moment ago may still read "ready": its command would wait in ioredis'
    // offline queue until Redis is back. Requests must not wait for the limiter, so give up on it quickly.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), REDIS_WAIT_MS);
    });
    const reply = (redis.eval(POUR, 1, key, size.points, size.restorePerSecond, delta) as Promise<[number, string]>).catch(() => undefined);
    const answer = await Promise.race([reply, gaveUp]);
    clearTimeout(timer);
    if (!answer) return fallback(key, size, delta);
    return { ok: answer[0] === 1, level: Number(answer[1]) };
  };
}

/** In Redis when given its connection (shared by every instance), else in this process. */
export function createCostBuckets(sizes: Record<Tier, BucketSize>, redis?: Redis): CostBuckets {
  const inProcess = memoryPour();
  const pourInto = redis ? redisPour(redis, inProcess) : inProcess;

  const statusOf = (tier: Tier, level: number) => {
    const size = sizes[tier];
    return {
      status: { maximumAvailable: size.points, currentlyAvailable: Math.floor(size.points - level), restoreRate: size.restorePerSecond },
      msToFull: Math.ceil((level * 1000) / size.restorePerSecond),
    };
  };
  const keyOf = (client: Client) => `stockwire:cost:${client.tier}:${client.key}`;

  return {
    sizes,
    async charge(client, cost) {
      const size = sizes[client.tier];
      const step = await pourInto(keyOf(client), size, cost);
      const state = statusOf(client.tier, step.level);
      if (step.ok) return { ok: true, ...state };
      const retryAfterMs = Math.ceil(((step.level + cost - size.points) * 1000) / size.restorePerSecond);
      return { ok: false, ...state, retryAfterMs };
    },
    async refund(client, points, charged) {
      if (points <= 0) return charged;
      return statusOf(client.tier, (await pourInto(keyOf(client), sizes[client.tier], -points)).level);
    },
  };
}
