// The pipeline phase: orders through GraphQL placeOrder at the scenario's
// rate, open loop; each commit's event goes outbox -> relay -> Kafka ->
// bridge -> Redis -> API -> subscribers. Reference times come from the
// database afterwards (commit timestamps), and the taps split the way.
import type pg from "pg";
import { encodeGlobalId as toGlobalId } from "../../src/ids/index.js";
import type { JsonClient } from "../lib/http.js";
import { percentiles, Sample } from "../lib/stats.js";
import { KEY_SPAN } from "../lib/subscribers.js";
import { finishPhase, logPhase, measureWindow, openLoop, schedule, wall, type EventRef, type PhaseContext } from "./phase.js";
import type { PhaseResult } from "./results.js";
import type { KafkaTimes } from "./taps.js";

const PLACE_ORDER = `mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) { __typename ... on PlaceOrderSuccess { order { id } } ... on Error { message } }
}`;

export interface OrderAnswer {
  orderGid?: string;
  /** Out of stock (InsufficientStockError): expected once a flash sale sells out. */
  refused?: boolean;
  error?: string;
  sentAt: number;
  answeredAt: number;
}

/** placeOrder for one unit of product number p, as a random customer with a fresh idempotency key. */
export function orderPlacer(a: { http: JsonClient; runId: string; scenarioNo: number; productGids: string[]; customers: string[] }) {
  let seq = 0;
  return async (p: number): Promise<OrderAnswer> => {
    const sentAt = wall();
    const body = JSON.stringify({
      query: PLACE_ORDER,
      variables: {
        input: { idempotencyKey: `live-${a.runId}-${a.scenarioNo}-${++seq}`, items: [{ productId: a.productGids[p]!, quantity: 1 }] },
      },
    });
    try {
      const { status, json } = await a.http.post("/graphql", body, { authorization: a.customers[seq % a.customers.length]! });
      const answeredAt = wall();
      const res = json as {
        data?: { placeOrder?: { __typename: string; order?: { id: string }; message?: string } };
        errors?: { message: string }[];
      };
      const r = res.data?.placeOrder;
      if (r?.__typename === "PlaceOrderSuccess" && r.order) return { orderGid: r.order.id, sentAt, answeredAt };
      if (r?.__typename === "InsufficientStockError") return { refused: true, sentAt, answeredAt };
      return { error: `HTTP ${status}: ${res.errors?.[0]?.message ?? `${r?.__typename}: ${r?.message ?? ""}`}`, sentAt, answeredAt };
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err), sentAt, answeredAt: wall() };
    }
  };
}

export interface PipelineContext extends PhaseContext {
  pool: pg.Pool;
  placeOrder: ReturnType<typeof orderPlacer>;
  commitTimestamps: boolean;
  kafkaTimes: KafkaTimes;
  /** The last outbox row id already accounted for. */
  outbox: { lastId: string };
}

export async function pipelinePhase(ctx: PipelineContext, round: number): Promise<PhaseResult> {
  const { opts, scenario, seed } = ctx;
  const { count, measureFrom } = schedule(opts, scenario.rate);
  ctx.h.log(
    `round ${round}: pipeline, ${scenario.rate} orders/s for ${(opts.warmupMs + opts.durationMs) / 1000} s (${opts.warmupMs / 1000} s unmeasured)`,
  );
  if (scenario.units !== undefined) await seed.setStock(scenario.targets, scenario.units);
  await ctx.clients.collect(); // drop anything left over
  const w = measureWindow(ctx);
  const orders: (OrderAnswer & { i: number })[] = [];
  const pending: Promise<void>[] = [];
  await openLoop(
    scenario.rate,
    count,
    (i) => {
      const p = scenario.targets[Math.floor(ctx.random() * scenario.targets.length)]!;
      pending.push(ctx.placeOrder(p).then((r) => void orders.push({ ...r, i })));
    },
    () => {
      w.start();
      ctx.profileAt("pipeline measured window starts");
    },
    measureFrom,
  );
  ctx.profileAt("pipeline measured window ends");
  const ww = await w.end();
  await Promise.all(pending);
  const lastAnswer = Math.max(...orders.map((o) => o.answeredAt));
  ctx.alive();
  const finalVersions = await seed.versions();

  // Reference times of this phase's events, from the database.
  const { rows } = await ctx.pool.query<{
    id: string;
    product_id: string;
    version: number;
    order_id: string;
    commit_ms: number | null;
    occurred_ms: number;
    published_ms: number | null;
  }>(
    `SELECT e.id::text, e.payload->>'productId' AS product_id, (e.payload->>'version')::int AS version, e.payload->>'orderId' AS order_id,
            ${ctx.commitTimestamps ? "extract(epoch FROM pg_xact_commit_timestamp(o.xmin))::float8 * 1000" : "NULL::float8"} AS commit_ms,
            extract(epoch FROM (e.payload->>'occurredAt')::timestamptz)::float8 * 1000 AS occurred_ms,
            extract(epoch FROM e.published_at)::float8 * 1000 AS published_ms
     FROM outbox_event e JOIN "order" o ON o.id = (e.payload->>'orderId')::uuid
     WHERE e.id > $1::bigint ORDER BY e.id`,
    [ctx.outbox.lastId],
  );
  if (rows.length) ctx.outbox.lastId = rows[rows.length - 1]!.id;
  const byOrder = new Map(orders.filter((o) => o.orderGid).map((o) => [o.orderGid!, o]));
  const refs = new Map<number, EventRef & { published: number | null }>();
  for (const r of rows) {
    const o = byOrder.get(toGlobalId("Order", r.order_id));
    const p = seed.productIndex.get(r.product_id);
    if (!o || p === undefined) continue;
    refs.set(p * KEY_SPAN + r.version, {
      ref: r.commit_ms ?? r.occurred_ms,
      occurred: r.occurred_ms,
      published: r.published_ms,
      answered: o.answeredAt,
      measured: o.i >= measureFrom,
    });
  }
  const { result, joined } = await finishPhase(ctx, { kind: "pipeline", round, w, ww, refs, lastEmitted: lastAnswer, finalVersions });
  log(ctx, orders, joined.events);

  // Where the time goes, per event.
  const toRelay = new Sample();
  const relayToProduce = new Sample();
  const produceToConsumer = new Sample();
  const consumerToRedis = new Sample();
  for (const [key, ref] of refs) {
    if (!ref.measured) continue;
    const tt = ctx.tapTimes.get(key);
    if (ref.published !== null) toRelay.push(ref.published - ref.ref);
    const k = ctx.kafkaTimes.get(key);
    if (k) {
      if (ref.published !== null) relayToProduce.push(k.created - ref.published);
      produceToConsumer.push(k.received - k.created);
      if (tt !== undefined) consumerToRedis.push(tt - k.received);
    }
  }
  const errors = orders.filter((o) => o.error);
  const phase: PhaseResult = {
    ...result,
    toRelay: percentiles(toRelay.values()),
    relayToProduce: percentiles(relayToProduce.values()),
    produceToConsumer: percentiles(produceToConsumer.values()),
    consumerToRedis: percentiles(consumerToRedis.values()),
    orderLatency: percentiles(orders.filter((o) => o.i >= measureFrom).map((o) => o.answeredAt - o.sentAt)),
    ordersRefused: orders.filter((o) => o.refused).length,
    orderErrors: errors.length,
    orderErrorSamples: [...new Set(errors.map((e) => e.error!))].slice(0, 3),
  };
  logPhase(ctx.h, phase);
  return phase;
}

function log(ctx: PipelineContext, orders: OrderAnswer[], events: number) {
  const placed = orders.filter((o) => o.orderGid).length;
  const refused = orders.filter((o) => o.refused).length;
  ctx.h.log(`  ${placed} orders placed${refused ? `, ${refused} refused (sold out)` : ""}, ${events} events in the measured window`);
}
