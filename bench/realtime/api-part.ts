// The API part of a scenario: Stockwire started for the scenario's
// topology, warmed up with orders nobody watches (JIT, pools, Kafka topics,
// the bridge's group) until their events reach Redis, then the subscribers
// and the pipeline and Redis-floor phases.
import os from "node:os";
import { jsonClient } from "../lib/http.js";
import { KEY_SPAN } from "../lib/subscribers.js";
import { floorPhase } from "./floor-phase.js";
import { openLoop, sleep, type PhaseContext } from "./phase.js";
import { runPart, type PhaseFn } from "./part.js";
import { orderPlacer, pipelinePhase, type PipelineContext } from "./pipeline.js";
import type { PartResult } from "./results.js";
import type { RunContext } from "./run-context.js";
import { rng, type Scenario } from "./scenarios.js";
import { kafkaTap } from "./taps.js";
import { startStockwire } from "./topology.js";

export async function apiPart(run: RunContext, scenario: Scenario, watchers: number[]): Promise<PartResult> {
  const { h, opts, seed } = run;
  h.log(`--- API: ${scenario.name}`);
  const sw = await startStockwire(run, scenario);
  try {
    const http = jsonClient(sw.api.url, 64, { retryReusedSocketReset: true });
    const closeHttp = h.deferred(async () => http.close());
    const placeOrder = orderPlacer({
      http,
      runId: h.runId,
      scenarioNo: scenario.no,
      productGids: seed.products.map((p) => p.gid),
      customers: seed.customers,
    });

    await warmUp(run, scenario, placeOrder);
    sw.alive();
    const kafka = await kafkaTap(h, {
      brokers: run.services.kafka!.url,
      topic: sw.stream.topic,
      groupId: sw.stream.group,
      gidIndex: seed.gidIndex,
    });
    const outbox = {
      lastId: (await run.pool.query<{ id: string | null }>("SELECT max(id)::text AS id FROM outbox_event")).rows[0]!.id ?? "0",
    };

    type Ctx = PipelineContext & { publisher: typeof run.publisher };
    const phases: PhaseFn<Ctx>[] = [];
    if (opts.phases.has("pipeline")) {
      const labelled = async (ctx: Ctx, round: number) => ({
        ...(await pipelinePhase(ctx, round)),
        kafkaClient: sw.kafkaClient,
        loadAverage: os.loadavg()[0],
      });
      if (opts.kafkaClients.length === 1) phases.push(labelled);
      // One phase per client in each round, each on a fresh relay + bridge process (the first one too, so
      // no client gets a process that has run longer), warmed up and drained before its phase starts.
      else
        for (const client of opts.kafkaClients)
          phases.push(async (ctx, round) => {
            await sw.restartPipeline(client);
            await warmUp(run, scenario, placeOrder);
            const drained = await ctx.clients.drain(await seed.versions(), opts.drainTimeoutMs, ctx.alive);
            if (!drained.complete) throw new Error(`the warm-up on ${client} did not reach every subscriber within --drain-timeout`);
            return labelled(ctx, round);
          });
    }
    if (opts.phases.has("redis-floor")) phases.push((ctx, round) => floorPhase(ctx, "redis-floor", round));
    const result = await runPart<Ctx>(
      run,
      scenario,
      watchers,
      {
        name: "api",
        server: sw.api,
        serverParty: "api",
        wsUrl: `${sw.api.url.replace(/^http/, "ws")}/graphql`,
        parties: sw.parties,
        alive: sw.alive,
        profileAt: sw.profileAt,
      },
      phases,
      (ctx: PhaseContext) => ({
        ...ctx,
        pool: run.pool,
        placeOrder,
        commitTimestamps: run.commitTimestamps,
        kafkaTimes: kafka.times,
        outbox,
        publisher: run.publisher,
      }),
    );
    await kafka.stop();
    await closeHttp();
    return result;
  } finally {
    await sw.stop();
  }
}

/**
 * Orders nobody measures on the matrix products (never the flash sale's, whose stock is the point)
 * at the scenario's rate for 3 s, until their events reached Redis: JIT, pools, topics, the bridge's group.
 */
async function warmUp(run: RunContext, scenario: Scenario, placeOrder: ReturnType<typeof orderPlacer>) {
  const { h, opts, seed } = run;
  const random = rng(scenario.seed);
  const rate = scenario.rate;
  const pending: Promise<{ error?: string }>[] = [];
  await openLoop(
    rate,
    Math.max(20, Math.round(rate * 3)),
    () => pending.push(placeOrder(Math.floor(random() * opts.products))),
    () => {},
    0,
  );
  const warm = await Promise.all(pending);
  const bad = warm.filter((w) => w.error);
  if (bad.length) h.log(`warm-up: ${bad.length} of ${warm.length} orders failed, e.g. ${bad[0]!.error}`);
  const want = await seed.versions();
  const reached = () => want.every((v, p) => v === 0 || run.tapTimes.has(p * KEY_SPAN + v));
  const t0 = performance.now();
  while (performance.now() - t0 < 60_000 && !reached()) await sleep(100);
  if (!reached()) throw new Error("the warm-up orders' events never reached Redis: is the relay/bridge running?");
  h.log(`warm-up: ${warm.length} orders, their events reached Redis`);
  // Planner statistics with orders in them, as autovacuum keeps them on a running system: after the
  // seed's VACUUM ANALYZE saw "order" empty, each order's foreign-key check would scan the whole table.
  await run.pool.query("ANALYZE");
}
