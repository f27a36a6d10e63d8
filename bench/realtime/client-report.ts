// The Kafka client comparison of a run with --kafka-clients a,b: per scenario
// and client the pipeline's throughput and its commit -> Redis and commit ->
// subscriber latencies (median of the rounds, and their range: the spread
// between rounds of one client is the noise a difference must beat), the
// ratios of the other clients to the first, then every round in run order.
import { f1, f2, int, pct, ratio, table } from "../lib/report.js";
import type { KafkaClient } from "../lib/kafka-client.js";
import type { PhaseResult, ScenarioResult } from "./results.js";

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** What one client did in one scenario, pooled over its rounds. */
export interface ClientSummary {
  scenario: number;
  client: KafkaClient;
  rounds: number;
  /** Medians of the rounds. */
  ordersPerSec: number;
  deliveredPerSec: number;
  toRedisP50: number;
  toRedisP99: number;
  toClientP50: number;
  toClientP99: number;
  orderP99: number;
  /** % of one core, the relay + bridge process (split topology). */
  pipelineCpu: number;
  /** Range over the rounds: [min, max]. */
  range: { toRedisP99: [number, number]; toClientP99: [number, number]; deliveredPerSec: [number, number] };
}

const deliveredPerSec = (p: PhaseResult) => p.deliveries / (p.deliveryMs / 1000);
const ordersPerSec = (p: PhaseResult) => p.events / (p.windowMs / 1000);

/** Pipeline phases of a scenario by client, in the order the clients first ran; empty unless two or more ran. */
export function phasesByClient(r: ScenarioResult): Map<KafkaClient, PhaseResult[]> {
  const by = new Map<KafkaClient, PhaseResult[]>();
  for (const p of r.parts.flatMap((x) => x.phases)) {
    if (p.kind !== "pipeline" || !p.kafkaClient) continue;
    const list = by.get(p.kafkaClient) ?? [];
    list.push(p);
    by.set(p.kafkaClient, list);
  }
  return by.size > 1 ? by : new Map();
}

function summarizeClient(scenario: number, client: KafkaClient, ph: PhaseResult[]): ClientSummary {
  const of = (f: (p: PhaseResult) => number) => ph.map(f);
  const span = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
  return {
    scenario,
    client,
    rounds: ph.length,
    ordersPerSec: median(of(ordersPerSec)),
    deliveredPerSec: median(of(deliveredPerSec)),
    toRedisP50: median(of((p) => p.toRedis.p50)),
    toRedisP99: median(of((p) => p.toRedis.p99)),
    toClientP50: median(of((p) => p.latency.p50)),
    toClientP99: median(of((p) => p.latency.p99)),
    orderP99: median(of((p) => p.orderLatency?.p99 ?? NaN)),
    pipelineCpu: median(of((p) => p.cpu.parties.pipeline ?? NaN)),
    range: {
      toRedisP99: span(of((p) => p.toRedis.p99)),
      toClientP99: span(of((p) => p.latency.p99)),
      deliveredPerSec: span(of(deliveredPerSec)),
    },
  };
}

const spanText = ([lo, hi]: [number, number]) => `${f1(lo)}-${f1(hi)}`;

export function kafkaClientReport(results: ScenarioResult[]): { markdown: string[]; data: ClientSummary[] } {
  const compared = results.map((r) => ({ r, by: phasesByClient(r) })).filter((x) => x.by.size);
  if (!compared.length) return { markdown: [], data: [] };
  const out: string[] = ["## Kafka clients (same run, rounds interleaved)", ""];
  out.push(
    "The pipeline phase once per client in every round, in the order listed, each on a fresh relay + bridge process on that client " +
      "(warmed up, its warm-up drained to every subscriber), the same API process and subscribers. Medians of the rounds; " +
      "p99 ranges are the lowest and highest round of that client (the round-to-round noise of one client, A-A). " +
      "Ratios: the client / the first one (throughput: higher is better; latency and CPU: lower is better).",
    "",
  );
  const data: ClientSummary[] = [];
  const rows: (string | number)[][] = [];
  const noise: string[] = [];
  for (const { r, by } of compared) {
    const sums = [...by].map(([client, ph]) => summarizeClient(r.scenario.no, client, ph));
    data.push(...sums);
    const base = sums[0]!;
    for (const s of sums)
      rows.push([
        r.scenario.name,
        s.client,
        s.rounds,
        f1(s.ordersPerSec),
        int(s.deliveredPerSec),
        f1(s.toRedisP50),
        `${f1(s.toRedisP99)} (${spanText(s.range.toRedisP99)})`,
        f1(s.toClientP50),
        `${f1(s.toClientP99)} (${spanText(s.range.toClientP99)})`,
        f1(s.orderP99),
        pct(s.pipelineCpu),
      ]);
    for (const s of sums.slice(1))
      rows.push([
        r.scenario.name,
        `**${s.client} / ${base.client}**`,
        "",
        ratio(s.ordersPerSec, base.ordersPerSec),
        ratio(s.deliveredPerSec, base.deliveredPerSec),
        ratio(s.toRedisP50, base.toRedisP50),
        `**${ratio(s.toRedisP99, base.toRedisP99)}**`,
        ratio(s.toClientP50, base.toClientP50),
        `**${ratio(s.toClientP99, base.toClientP99)}**`,
        ratio(s.orderP99, base.orderP99),
        ratio(s.pipelineCpu, base.pipelineCpu),
      ]);
    for (const s of sums)
      if (s.rounds > 1)
        noise.push(
          `- ${r.scenario.name}, ${s.client} against itself over ${s.rounds} rounds: commit -> Redis p99 highest / lowest round ` +
            `${ratio(s.range.toRedisP99[1], s.range.toRedisP99[0])}, commit -> subscriber p99 ${ratio(s.range.toClientP99[1], s.range.toClientP99[0])}, ` +
            `delivered/s ${ratio(s.range.deliveredPerSec[1], s.range.deliveredPerSec[0])}`,
        );
  }
  out.push(
    ...table(
      [
        "<scenario",
        "<client",
        "rounds",
        "orders/s",
        "delivered/s",
        "commit -> Redis p50 ms",
        "commit -> Redis p99 ms (rounds)",
        "commit -> subscriber p50 ms",
        "commit -> subscriber p99 ms (rounds)",
        "placeOrder p99 ms",
        "CPU relay + bridge",
      ],
      rows,
    ),
    "",
  );
  if (noise.length) out.push(...noise, "");

  out.push("Every round, in the order it ran (load average: the machine's 1-minute figure as the phase ended):", "");
  const roundRows: (string | number)[][] = [];
  for (const { r } of compared)
    for (const p of r.parts.flatMap((x) => x.phases).filter((x) => x.kind === "pipeline"))
      roundRows.push([
        r.scenario.name,
        p.round,
        p.kafkaClient ?? "",
        f1(ordersPerSec(p)),
        int(deliveredPerSec(p)),
        f1(p.toRedis.p50),
        f1(p.toRedis.p99),
        f1(p.latency.p50),
        f1(p.latency.p99),
        f1(p.orderLatency?.p99),
        pct(p.cpu.parties.pipeline),
        p.drained ? `${int(p.drainMs)} ms` : "**never**",
        f2(p.loadAverage),
      ]);
  out.push(
    ...table(
      [
        "<scenario",
        "round",
        "<client",
        "orders/s",
        "delivered/s",
        "commit -> Redis p50 ms",
        "p99 ms",
        "commit -> subscriber p50 ms",
        "p99 ms",
        "placeOrder p99 ms",
        "CPU relay + bridge",
        "all delivered after",
        "load average",
      ],
      roundRows,
    ),
    "",
  );
  return { markdown: out, data };
}
