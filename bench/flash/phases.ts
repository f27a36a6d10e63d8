// The phases of a bench/flash round. A burst through the API: a fresh
// product with --units, its watchers connected (graphql-ws, worker threads of
// this process), the connections open, the burst; then until every watcher
// has the last sale's version (its available 0), what each saw and when, and
// what the database sold. A floor burst: the same orders as raw SQL against
// the same PostgreSQL, no API.
import type pg from "pg";
import type { Harness } from "../lib/harness.js";
import type { JsonClient } from "../lib/http.js";
import { cpuMark, cpuShare, type CpuShare, type Party } from "../lib/cpu.js";
import { percentiles, Sample, type Percentiles } from "../lib/stats.js";
import { encodeGlobalId as toGlobalId } from "../../src/ids/index.js";
import { KEY_SPAN } from "../lib/subscribers.js";
import { startClients } from "../realtime/clients.js";
import { subscriptionFor } from "../realtime/subscription.js";
import type { ClientCheck } from "../realtime/results.js";
import type { RedisTimes } from "../realtime/taps.js";
import type { ApiOrderStats } from "../orders/report.js";
import { apiOrder, burst, openConnections, type BurstOp, type BurstResult } from "./burst.js";
import type { FlashOptions, FloorKind } from "./options.js";

export interface FlashContext {
  h: Harness;
  opts: FlashOptions;
  pool: pg.Pool;
  http: JsonClient;
  wsUrl: string;
  /** Authorization headers, one per customer (index = customer). */
  customers: string[];
  parties: Record<string, Party | undefined>;
  /** Product gid -> product number, shared with the Redis tap (which times each event). */
  gidIndex: Map<string, number>;
  redisTimes: RedisTimes;
  commitTimestamps: boolean;
  rateArgument: boolean;
  apiStats(): Promise<ApiOrderStats>;
  /** Throws if the API stopped. */
  alive(): void;
}

/** What the database says about a burst's product afterwards. */
export interface Sold {
  /** sum(order_item.quantity) of the product. */
  itemUnits: number;
  orders: number;
  stock: number;
  committed: number;
  reserved: number;
  available: number;
  version: number;
  /** The last sale's commit (pg_xact_commit_timestamp) or, without commit timestamps, its order's created_at; wall ms. */
  lastSaleAt: number;
}

export interface WatchResult {
  watchers: number;
  connected: number;
  connectMs: number;
  connectFailures: string[];
  /** Watchers that saw the final version (available 0). */
  sawFinal: number;
  /** Each watcher's lag to the final count: from the last sale (commit or created_at), and from the answer of the last win (the bench's own clock). */
  lagFromSale: Percentiles;
  lagFromLastWin: Percentiles;
  drained: boolean;
  /** Sockets closed by the server after their snapshot (a reset while connecting counts as not connected instead). */
  closedAfterConnect: number;
  check: ClientCheck;
}

export interface PhaseResult {
  kind: "api" | FloorKind;
  round: number;
  watchers: number;
  units: number;
  burst: BurstResult;
  sold: Sold;
  cpu: CpuShare;
  /** API only: the order path's counters over the burst (GET /stats). */
  api?: {
    batches: number;
    batchedOrders: number;
    sizes: Record<string, number>;
    soldOutRefusals: number;
    fallbacks: number;
    failed: number;
  };
  watch?: WatchResult;
  /** The last sale's event: commit -> seen on Redis by the bench's tap. */
  saleToRedisMs?: number;
}

let productNo = 0;

/** A fresh product with `units` on hand (one stock level, by the migration's trigger). */
async function freshProduct(ctx: FlashContext, label: string): Promise<{ id: string; gid: string }> {
  const n = ++productNo;
  const { rows } = await ctx.pool.query<{ id: string }>(
    `INSERT INTO product (sku, name, price_cents, currency, stock) VALUES ($1, $2, 1999, 'EUR', $3) RETURNING id`,
    [`FLASH-${ctx.h.runId}-${n}`, `Flash sale ${n} (${label})`, ctx.opts.units],
  );
  const id = rows[0]!.id;
  const gid = toGlobalId("Product", id);
  ctx.gidIndex.set(gid, n);
  return { id, gid };
}

async function soldOf(ctx: FlashContext, productId: string): Promise<Sold> {
  const commit = ctx.commitTimestamps
    ? "extract(epoch FROM max(pg_xact_commit_timestamp(o.xmin)))::float8 * 1000"
    : "extract(epoch FROM max(o.created_at))::float8 * 1000";
  const { rows } = await ctx.pool.query<{
    item_units: string | null;
    orders: string;
    last_sale_ms: number | null;
    stock: number;
    committed: number;
    reserved: number;
    version: number;
  }>(
    `SELECT s.item_units, s.orders, s.last_sale_ms, p.stock, p.committed, p.reserved, p.version
     FROM product p, LATERAL (
       SELECT sum(i.quantity) AS item_units, count(DISTINCT o.id) AS orders, ${commit} AS last_sale_ms
       FROM order_item i JOIN "order" o ON o.id = i.order_id WHERE i.product_id = p.id
     ) s
     WHERE p.id = $1`,
    [productId],
  );
  const r = rows[0]!;
  return {
    itemUnits: Number(r.item_units ?? 0),
    orders: Number(r.orders),
    stock: r.stock,
    committed: r.committed,
    reserved: r.reserved,
    available: r.stock - r.committed - r.reserved,
    version: r.version,
    lastSaleAt: r.last_sale_ms ?? NaN,
  };
}

async function measuredBurst(ctx: FlashContext, op: BurstOp): Promise<{ burst: BurstResult; cpu: CpuShare }> {
  const before = cpuMark(ctx.parties);
  const b = await burst(ctx.opts.orders, op);
  return { burst: b, cpu: cpuShare(before, cpuMark(ctx.parties)) };
}

function logBurst(ctx: FlashContext, name: string, b: BurstResult, sold: Sold) {
  const ms = (x: number) => x.toFixed(0);
  ctx.h.log(
    `${name}: ${ms(b.durationMs)} ms; answers p50 ${ms(b.answers.p50)} p99 ${ms(b.answers.p99)} max ${ms(b.answers.max)} ms; ` +
      `${b.ok} sold, ${b.refused} refused, ${b.errors} errors; the database: ${sold.itemUnits} units in ${sold.orders} orders, available ${sold.available}`,
  );
  for (const [msg, n] of Object.entries(b.errorSamples)) ctx.h.log(`  error x${n}: ${msg}`);
}

/** The burst through the API with `watchers` subscribers of its product. */
export async function apiPhase(ctx: FlashContext, round: number, watchers: number): Promise<PhaseResult> {
  const { h, opts } = ctx;
  const product = await freshProduct(ctx, `${watchers} watchers`);
  const name = `round ${round}, ${watchers.toLocaleString("en-US")} watchers`;
  let clients: Awaited<ReturnType<typeof startClients>> | undefined;
  let connect = { connected: 0, ms: 0, failures: [] as string[], closes: 0 };
  if (watchers > 0) {
    const sub = subscriptionFor(opts.maxUpdatesPerSecond, ctx.rateArgument);
    clients = await startClients(h, {
      url: ctx.wsUrl,
      productGids: [product.gid],
      assignments: Array.from({ length: watchers }, () => [0]),
      threads: opts.threads,
      connectConcurrency: opts.connectConcurrency,
      query: sub.query,
      variables: sub.variables,
      rateLimit: sub.sent ? opts.maxUpdatesPerSecond : undefined,
    });
    // Closes so far are of sockets that never got in: counted as not connected, not as closed later.
    connect = { ...(await clients.connect()), closes: (await clients.check([0])).unexpectedCloses };
    h.log(
      `${name}: ${connect.connected} of ${watchers} watchers connected in ${(connect.ms / 1000).toFixed(1)} s` +
        (connect.failures.length ? `; failures e.g. ${connect.failures[0]}` : ""),
    );
    ctx.alive();
    await new Promise((r) => setTimeout(r, 1000));
  }
  try {
    await openConnections(ctx.http, opts.connections);
    const stats0 = await ctx.apiStats();
    const { burst: b, cpu } = await measuredBurst(
      ctx,
      apiOrder(ctx.http, ctx.customers, product.gid, `flash-${h.runId}-${round}-${watchers}`),
    );
    const stats1 = await ctx.apiStats();
    ctx.alive();
    const sold = await soldOf(ctx, product.id);
    logBurst(ctx, name, b, sold);
    const sizes: Record<string, number> = {};
    for (const [size, n] of Object.entries(stats1.sizes))
      if (n - (stats0.sizes[size] ?? 0) > 0) sizes[size] = n - (stats0.sizes[size] ?? 0);
    const api = {
      batches: stats1.batches - stats0.batches,
      batchedOrders: stats1.batchedOrders - stats0.batchedOrders,
      sizes,
      soldOutRefusals: stats1.soldOutRefusals - stats0.soldOutRefusals,
      fallbacks: stats1.fallbacks - stats0.fallbacks,
      failed: stats1.failed - stats0.failed,
    };
    const watch = clients ? await watchOutcome(ctx, clients, watchers, connect, sold, b) : undefined;
    // The final event on Redis (the tap sees every product's channel); allow it a moment when nobody waited for it.
    const key = ctx.gidIndex.get(product.gid)! * KEY_SPAN + sold.version;
    for (let i = 0; i < 50 && !ctx.redisTimes.has(key); i++) await new Promise((r) => setTimeout(r, 100));
    const saleToRedisMs = (ctx.redisTimes.get(key) ?? NaN) - sold.lastSaleAt;
    return { kind: "api", round, watchers, units: opts.units, burst: b, sold, cpu, api, watch, saleToRedisMs };
  } finally {
    await clients?.close();
  }
}

async function watchOutcome(
  ctx: FlashContext,
  clients: Awaited<ReturnType<typeof startClients>>,
  watchers: number,
  connect: { connected: number; ms: number; failures: string[]; closes: number },
  sold: Sold,
  b: BurstResult,
): Promise<WatchResult> {
  // The worker's product number 0 is this burst's product: its key is the version itself.
  const d = await clients.drain([sold.version], ctx.opts.drainTimeoutMs, ctx.alive);
  const parts = await clients.collect();
  // A watcher gets each version at most once (the check counts repeats), so the final version's deliveries are one per watcher.
  const fromSale = new Sample();
  const fromWin = new Sample();
  for (const { keys, times } of parts)
    for (let i = 0; i < keys.length; i++)
      if (keys[i] === sold.version) {
        fromSale.push(times[i]! - sold.lastSaleAt);
        fromWin.push(times[i]! - b.lastWinAt);
      }
  const check = await clients.check([sold.version]);
  ctx.h.log(
    `  watchers: ${fromSale.length} of ${connect.connected} saw the final count` +
      (d.complete ? "" : ` (${d.behind} still behind after ${ctx.opts.drainTimeoutMs / 1000} s)`) +
      `; lag from the last sale p50 ${percentiles(fromSale.values()).p50.toFixed(0)} p99 ${percentiles(fromSale.values()).p99.toFixed(0)} ms; ` +
      `${watchers - connect.connected} not connected, ${check.unexpectedCloses - connect.closes} sockets closed after connecting, at most ${check.maxPerSecond} updates in 1 s`,
  );
  return {
    watchers,
    connected: connect.connected,
    connectMs: connect.ms,
    connectFailures: connect.failures,
    sawFinal: fromSale.length,
    lagFromSale: percentiles(fromSale.values()),
    lagFromLastWin: percentiles(fromWin.values()),
    drained: d.complete,
    closedAfterConnect: check.unexpectedCloses - connect.closes,
    check,
  };
}

/** The same burst as raw SQL on the same PostgreSQL (bench/orders' operations), nobody watching, no API. */
export async function floorPhase(
  ctx: FlashContext,
  round: number,
  kind: FloorKind,
  ops: { classic: (pick: () => string) => BurstOp; batched: (pick: () => string) => BurstOp },
): Promise<PhaseResult> {
  const product = await freshProduct(ctx, `raw SQL ${kind}`);
  const { burst: b, cpu } = await measuredBurst(
    ctx,
    ops[kind](() => product.id),
  );
  const sold = await soldOf(ctx, product.id);
  logBurst(ctx, `round ${round}, raw SQL ${kind}`, b, sold);
  return { kind, round, watchers: 0, units: ctx.opts.units, burst: b, sold, cpu };
}
