// What every phase shares: the open-loop event schedule, the measured
// window (CPU of every party, event-loop use of the bench's threads), and
// joining the subscribers' arrival times with the events' reference times.
import { performance } from "node:perf_hooks";
import { cpuMark, cpuSeconds, cpuShare, type CpuMark, type Party } from "../lib/cpu.js";
import type { Harness } from "../lib/harness.js";
import { percentiles, Sample } from "../lib/stats.js";
import { KEY_SPAN } from "../lib/subscribers.js";
import type { CollectReply } from "../lib/subscriber-worker.js";
import type { Clients } from "./clients.js";
import type { RealtimeOptions } from "./options.js";
import type { PhaseKind, PhaseResult } from "./results.js";
import type { Scenario } from "./scenarios.js";
import type { Seed } from "./seed.js";
import type { RedisTimes } from "./taps.js";

/** Wall-clock milliseconds with sub-millisecond resolution (Date.now() has whole ms). */
export const wall = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a phase needs of its part (the API or the socket floor with the scenario's subscribers). */
export interface PhaseContext {
  h: Harness;
  opts: RealtimeOptions;
  seed: Seed;
  scenario: Scenario;
  watchers: number[];
  tapTimes: RedisTimes;
  clients: Clients;
  parties: Record<string, Party | undefined>;
  /** The party that fans out: "api" or "floor". */
  server: string;
  /** Throws if a process of the part stopped. */
  alive(): void;
  random: () => number;
  /** Logs the CPU-profile offset of a moment (with --cpu-prof). */
  profileAt(what: string): void;
}

/** Events of a phase: warm-up then measured, at the scenario's rate. */
export function schedule(opts: RealtimeOptions, rate: number) {
  return { count: Math.round((rate * (opts.warmupMs + opts.durationMs)) / 1000), measureFrom: Math.round((rate * opts.warmupMs) / 1000) };
}

/** Open loop: event i is due at start + i / rate, whether or not earlier ones finished. Bounded by count. */
export async function openLoop(rate: number, count: number, emit: (i: number) => void, onMeasureStart: () => void, measureFrom: number) {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    if (i === measureFrom) onMeasureStart();
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait >= 1) await sleep(wait);
    emit(i);
  }
  // The window is [first measured due time, last due time + 1 period).
  const rest = start + (count * 1000) / rate - performance.now();
  if (rest >= 1) await sleep(rest);
}

export interface Window {
  readonly startedAt: number;
  start(): void;
  end(): Promise<Pick<PhaseResult, "cpu" | "windowMs" | "mainElu" | "threadElu" | "threadDelayP99">>;
  /** CPU seconds of the server from start() until now. */
  serverCpuSince(): number;
}

export function measureWindow(ctx: PhaseContext): Window {
  let a: CpuMark | undefined;
  let eluA = performance.eventLoopUtilization();
  let startedAt = 0;
  return {
    get startedAt() {
      return startedAt;
    },
    start() {
      startedAt = wall();
      a = cpuMark(ctx.parties);
      eluA = performance.eventLoopUtilization();
      void Promise.all(ctx.clients.threads.map((t) => t.stats()));
    },
    async end() {
      const b = cpuMark(ctx.parties);
      const mainElu = performance.eventLoopUtilization(performance.eventLoopUtilization(), eluA).utilization;
      const stats = await Promise.all(ctx.clients.threads.map((t) => t.stats()));
      return {
        cpu: cpuShare(a!, b),
        windowMs: b.at - a!.at,
        mainElu,
        threadElu: stats.map((s) => s.elu),
        threadDelayP99: stats.map((s) => s.delayP99),
      };
    },
    serverCpuSince: () => cpuSeconds(a!, cpuMark(ctx.parties), ctx.server),
  };
}

/** An event of the phase: its reference time (commit or PUBLISH) and whether it was emitted in the measured window. */
export interface EventRef {
  ref: number;
  measured: boolean;
  occurred?: number;
  answered?: number;
}

/** Per-delivery and per-event figures every phase reports. */
export function joinDeliveries(
  ctx: PhaseContext,
  a: { parts: CollectReply[]; refs: Map<number, EventRef>; windowStart: number; finalVersions: number[] },
) {
  const lat = new Sample();
  const fromOcc = new Sample();
  const fromAns = new Sample();
  const redisToClient = new Sample();
  const finalState = new Sample();
  const finalKeys = new Set(ctx.scenario.targets.map((p) => p * KEY_SPAN + a.finalVersions[p]!));
  let unknown = 0;
  let lastDelivered = 0;
  /** Every delivery that arrived after the window opened (warm-up events' too): what the server's CPU paid for. */
  let sinceWindow = 0;
  for (const { keys, times } of a.parts) {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const t = times[i]!;
      if (t >= a.windowStart) sinceWindow++;
      const ref = a.refs.get(key);
      if (!ref) {
        unknown++;
        continue;
      }
      if (finalKeys.has(key)) finalState.push(t - ref.ref);
      if (!ref.measured) continue;
      if (t > lastDelivered) lastDelivered = t;
      lat.push(t - ref.ref);
      if (ref.occurred !== undefined) fromOcc.push(t - ref.occurred);
      if (ref.answered !== undefined) fromAns.push(t - ref.answered);
      const tt = ctx.tapTimes.get(key);
      if (tt !== undefined) redisToClient.push(t - tt);
    }
  }
  const toRedis = new Sample();
  let events = 0;
  let expectedDeliveries = 0;
  for (const [key, ref] of a.refs) {
    if (!ref.measured) continue;
    events++;
    expectedDeliveries += ctx.watchers[Math.floor(key / KEY_SPAN)]!;
    const tt = ctx.tapTimes.get(key);
    if (tt !== undefined) toRedis.push(tt - ref.ref);
  }
  return {
    latency: percentiles(lat.values()),
    fromOccurredAt: fromOcc.length ? percentiles(fromOcc.values()) : undefined,
    fromAnswer: fromAns.length ? percentiles(fromAns.values()) : undefined,
    redisToClient: percentiles(redisToClient.values()),
    toRedis: percentiles(toRedis.values()),
    finalState: percentiles(finalState.values()),
    deliveries: lat.length,
    events,
    expectedDeliveries,
    unknownDeliveries: unknown,
    lastDelivered,
    sinceWindow,
  };
}

/** Drains, collects and joins: the part of a phase after its events went out. */
export async function finishPhase(
  ctx: PhaseContext,
  a: {
    kind: PhaseKind;
    round: number;
    w: Window;
    ww: Awaited<ReturnType<Window["end"]>>;
    refs: Map<number, EventRef>;
    lastEmitted: number;
    finalVersions: number[];
  },
): Promise<{
  result: Omit<PhaseResult, "ordersRefused" | "orderErrors" | "orderErrorSamples">;
  joined: ReturnType<typeof joinDeliveries>;
}> {
  const d = await ctx.clients.drain(a.finalVersions, ctx.opts.drainTimeoutMs, ctx.alive);
  const serverCpu = a.w.serverCpuSince();
  ctx.h.log(
    `  ${a.kind}: ${d.complete ? `all delivered ${(d.at - a.lastEmitted).toFixed(0)} ms after the last event` : `${d.behind} (subscriber, product) pairs still behind after ${ctx.opts.drainTimeoutMs / 1000} s`}`,
  );
  const parts = await ctx.clients.collect();
  const joined = joinDeliveries(ctx, { parts, refs: a.refs, windowStart: a.w.startedAt, finalVersions: a.finalVersions });
  return {
    joined,
    result: {
      kind: a.kind,
      round: a.round,
      rate: ctx.scenario.rate,
      windowMs: a.ww.windowMs,
      deliveryMs: Math.max(a.ww.windowMs, joined.lastDelivered - a.w.startedAt),
      events: joined.events,
      deliveries: joined.deliveries,
      expectedDeliveries: joined.expectedDeliveries,
      latency: joined.latency,
      finalState: joined.finalState,
      fromOccurredAt: joined.fromOccurredAt,
      fromAnswer: joined.fromAnswer,
      toRedis: joined.toRedis,
      redisToClient: joined.redisToClient,
      drainMs: d.at - a.lastEmitted,
      drained: d.complete,
      cpu: a.ww.cpu,
      serverCpuPerDeliveryUs: (serverCpu / joined.sinceWindow) * 1e6,
      threadElu: a.ww.threadElu,
      mainElu: a.ww.mainElu,
      threadDelayP99: a.ww.threadDelayP99,
      unknownDeliveries: joined.unknownDeliveries,
    },
  };
}

export function logPhase(h: Harness, r: PhaseResult) {
  const secs = r.windowMs / 1000;
  const cpu = Object.entries(r.cpu.parties)
    .filter(([, v]) => Number.isFinite(v))
    .map(([k, v]) => `${k} ${v.toFixed(0)}%`)
    .join(" ");
  h.log(
    `  ${r.kind}: ${(r.events / secs).toFixed(1)} events/s, ${(r.expectedDeliveries / secs).toFixed(0)} deliveries/s offered, ${(r.deliveries / (r.deliveryMs / 1000)).toFixed(0)} delivered/s ` +
      `(${r.deliveries}/${r.expectedDeliveries}); latency p50 ${r.latency.p50.toFixed(1)} p99 ${r.latency.p99.toFixed(1)} max ${r.latency.max.toFixed(1)} ms; ` +
      `final state p99 ${r.finalState.p99.toFixed(1)} ms; server CPU ${r.serverCpuPerDeliveryUs.toFixed(1)} µs/delivery; ` +
      `CPU ${cpu} bench ${r.cpu.bench.toFixed(0)}% other ${r.cpu.other.toFixed(0)}%; ELU subscriber threads ${r.threadElu.map((e) => e.toFixed(2)).join("/")}, main ${r.mainElu.toFixed(2)}`,
  );
  if (r.kind === "pipeline") {
    const q = (x: { p50: number; p99: number } | undefined) => (x ? `${x.p50.toFixed(0)}/${x.p99.toFixed(0)}` : "-");
    h.log(
      `  stages p50/p99 ms: commit->relay ${q(r.toRelay)}, relay->produced ${q(r.relayToProduce)}, produced->fetched ${q(r.produceToConsumer)}, ` +
        `fetched->Redis ${q(r.consumerToRedis)}, Redis->client ${q(r.redisToClient)}; placeOrder ${q(r.orderLatency)}`,
    );
  }
}
