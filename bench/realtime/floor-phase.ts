// The floor phases: the scenario's events PUBLISHed straight to the Redis
// channels the bridge publishes on, in the bridge's payload shape, versions
// continuing the products': no database, no relay, no Kafka. Whoever
// subscribes to Redis delivers them: the API (redis-floor) or the socket
// floor's bare server (socket-floor). Afterwards the database's versions are
// moved past the published ones, so later orders are not dropped as stale.
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { channelName } from "../../src/realtime/pubsub.js";
import { idOfType } from "../../src/ids/index.js";
import { encodeGlobalId as toGlobalId } from "../../src/ids/index.js";
import type { StockChangedEvent } from "../../src/events/stock-changed.event.js";
import { KEY_SPAN } from "../lib/subscribers.js";
import { finishPhase, logPhase, measureWindow, openLoop, schedule, wall, type EventRef, type PhaseContext } from "./phase.js";
import type { PhaseResult } from "./results.js";

export async function floorPhase(
  ctx: PhaseContext & { publisher: Redis },
  kind: "redis-floor" | "socket-floor",
  round: number,
): Promise<PhaseResult> {
  const { opts, scenario, seed } = ctx;
  const { count, measureFrom } = schedule(opts, scenario.rate);
  ctx.h.log(
    `round ${round}: ${kind}, ${scenario.rate} Redis PUBLISH/s for ${(opts.warmupMs + opts.durationMs) / 1000} s (${opts.warmupMs / 1000} s unmeasured)`,
  );
  await ctx.clients.collect();
  const versions = await seed.versions();
  const stock = await seed.stocks();
  // The flash sale restocks before each phase and sells out: no events after that, as no orders succeed.
  if (scenario.units !== undefined) for (const p of scenario.targets) stock[p] = scenario.units;
  const refs = new Map<number, EventRef>();
  const w = measureWindow(ctx);
  let lastPublish = 0;
  const pending: Promise<unknown>[] = [];
  await openLoop(
    scenario.rate,
    count,
    (i) => {
      const p = scenario.targets[Math.floor(ctx.random() * scenario.targets.length)]!;
      if (scenario.units !== undefined && stock[p]! <= 0) return;
      const version = ++versions[p]!;
      const event: StockChangedEvent = {
        eventId: `floor-${ctx.h.runId}-${scenario.no}-${kind}-${round}-${i}`,
        productId: seed.products[p]!.gid,
        sku: seed.products[p]!.sku,
        stock: --stock[p]!,
        version,
        delta: -1,
        reason: "ORDER_PLACED",
        orderId: toGlobalId("Order", randomUUID()),
        occurredAt: new Date().toISOString(),
      };
      const payload = JSON.stringify(event);
      const t = wall();
      refs.set(p * KEY_SPAN + version, { ref: t, measured: i >= measureFrom });
      lastPublish = t;
      pending.push(ctx.publisher.publish(channelName("stock", idOfType("Product", event.productId)!), payload));
    },
    () => {
      w.start();
      ctx.profileAt(`${kind} measured window starts`);
    },
    measureFrom,
  );
  ctx.profileAt(`${kind} measured window ends`);
  const ww = await w.end();
  await Promise.all(pending);
  ctx.alive();
  const { result } = await finishPhase(ctx, { kind, round, w, ww, refs, lastEmitted: lastPublish, finalVersions: versions });
  await seed.setVersions(versions);
  const phase: PhaseResult = { ...result, ordersRefused: 0, orderErrors: 0, orderErrorSamples: [] };
  logPhase(ctx.h, phase);
  return phase;
}
