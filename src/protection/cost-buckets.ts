// Cost buckets: per client, a bucket of points that requests are charged
// from and that restores over time. The counting is rate-limiter-flexible's
// (atomic: one Lua script per charge in Redis, so every API instance shares
// each client's bucket; in process without Redis). Its counter is a fixed
// window: a bucket of N points restored at R points/s is a window of N points
// that refills every N/R seconds, i.e. a leaky bucket's burst and long-run rate
// with the refill in one step instead of continuous.
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
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

/** In Redis when given its connection (shared by every instance), else in this process. */
export function createCostBuckets(sizes: Record<Tier, BucketSize>, redis?: Redis): CostBuckets {
  const limiters = Object.fromEntries(
    (["anonymous", "customer", "admin"] as const).map((tier) => {
      const size = sizes[tier];
      const opts = {
        keyPrefix: `stockwire:cost:${tier}`,
        points: size.points,
        duration: Math.max(1, Math.round(size.points / size.restorePerSecond)),
      };
      // Redis unreachable: rather than hang every request in ioredis' offline queue, count in
      // process until it is back (rate-limiter-flexible's insurance limiter).
      const limiter: RateLimiterAbstract = redis
        ? new RateLimiterRedis({ ...opts, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(opts) })
        : new RateLimiterMemory(opts);
      return [tier, limiter];
    }),
  ) as Record<Tier, RateLimiterAbstract>;

  const statusOf = (tier: Tier, res: RateLimiterRes) => ({
    status: {
      maximumAvailable: sizes[tier].points,
      currentlyAvailable: Math.max(0, Math.min(sizes[tier].points, sizes[tier].points - res.consumedPoints)),
      restoreRate: sizes[tier].restorePerSecond,
    },
    msToFull: res.consumedPoints > 0 ? res.msBeforeNext : 0,
  });

  return {
    sizes,
    async charge(client, cost) {
      const limiter = limiters[client.tier];
      try {
        return { ok: true, ...statusOf(client.tier, await limiter.consume(client.key, cost)) };
      } catch (rejected) {
        if (!(rejected instanceof RateLimiterRes)) throw rejected;
        // The library counted the refused points: give them back, a throttled request costs nothing.
        const after = await limiter.reward(client.key, cost);
        const { status, msToFull } = statusOf(client.tier, after);
        return { ok: false, status, msToFull, retryAfterMs: rejected.msBeforeNext };
      }
    },
    async refund(client, points, charged) {
      if (points <= 0) return charged;
      // Should the window have rolled over since the charge, this credits the new one: at most one refund.
      return statusOf(client.tier, await limiters[client.tier].reward(client.key, points));
    },
  };
}
