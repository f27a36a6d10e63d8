// bench/realtime's report: a summary row per scenario and path with the
// ratios to the socket floor of the same run, saturation per subscriber
// count, the issue's goals as met / not met, then each scenario in detail.
import type { Percentiles } from "../lib/stats.js";
import { f1, int, pct, ratio, table } from "../lib/report.js";
import type { KafkaClient } from "../lib/kafka-client.js";
import { kafkaClientReport, phasesByClient } from "./client-report.js";
import type { PartResult, PhaseKind, PhaseResult, ScenarioResult } from "./results.js";

const KiB = 1024;
const MiB = 2 ** 20;

const PATH: Record<PhaseKind, string> = {
  "socket-floor": "socket floor: PUBLISH -> bare ws server -> client",
  "redis-floor": "Redis floor: PUBLISH -> API -> client",
  pipeline: "pipeline: commit -> relay -> Kafka -> bridge -> Redis -> API -> client",
};

const deliveredPerSec = (p: PhaseResult) => p.deliveries / (p.deliveryMs / 1000);
const offeredPerSec = (p: PhaseResult) => p.expectedDeliveries / (p.windowMs / 1000);

/** The phases of one kind in a scenario, pooled over rounds (mean of rates, worst of percentiles). */
interface PathSummary {
  kind: PhaseKind;
  /** pipeline, when the run compared Kafka clients: this row's. */
  client?: KafkaClient;
  part: PartResult;
  delivered: number;
  offered: number;
  events: number;
  p50: number;
  p99: number;
  finalStateP99: number;
  finalStateMax: number;
  cpuUs: number;
  heapKiB: number;
  closed: number;
  closeCodes: Record<string, number>;
  /** The busiest subscriber thread's event-loop utilisation: near 1, the clients bound the rate. */
  clientElu: number;
}

/** The path's name in the tables: the kind, and the Kafka client when the run compared clients. */
const pathName = (s: { kind: PhaseKind; client?: KafkaClient }) => (s.client ? `${s.kind} (${s.client})` : s.kind);

function summarize(r: ScenarioResult): PathSummary[] {
  const out: PathSummary[] = [];
  const clients = [...phasesByClient(r).keys()];
  for (const part of r.parts) {
    for (const kind of ["socket-floor", "pipeline", "redis-floor"] as PhaseKind[]) {
      for (const client of kind === "pipeline" && clients.length ? clients : [undefined]) {
        const ph = part.phases.filter((p) => p.kind === kind && (!client || p.kafkaClient === client));
        if (!ph.length) continue;
        const mean = (f: (p: PhaseResult) => number) => ph.reduce((n, p) => n + f(p), 0) / ph.length;
        const worst = (f: (p: PhaseResult) => number) => Math.max(...ph.map(f));
        out.push({
          kind,
          client,
          part,
          delivered: mean(deliveredPerSec),
          offered: mean(offeredPerSec),
          events: mean((p) => p.events / (p.windowMs / 1000)),
          p50: worst((p) => p.latency.p50),
          p99: worst((p) => p.latency.p99),
          finalStateP99: worst((p) => p.finalState.p99),
          finalStateMax: worst((p) => p.finalState.max),
          cpuUs: mean((p) => p.serverCpuPerDeliveryUs),
          heapKiB: part.heapPerConnection / KiB,
          closed: part.check.unexpectedCloses,
          closeCodes: part.check.closeCodes,
          clientElu: worst((p) => Math.max(...p.threadElu)),
        });
      }
    }
  }
  return out;
}

const codes = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, n]) => `${n} x ${k}`)
    .join(", ");
const closedText = (s: PathSummary) => (s.closed ? `${int(s.closed)} (${codes(s.closeCodes)})` : "0");

export function realtimeReport(results: ScenarioResult[], a: { rateArgument: boolean; rounds: number }) {
  const out: string[] = [];
  const summaries = results.map((r) => ({ r, paths: summarize(r) }));

  // --- summary -------------------------------------------------------------------
  out.push("## Summary", "");
  out.push(
    "Per scenario and path: deliveries/s offered and delivered (until the last delivery of the measured window's events), commit (or PUBLISH) -> client latency, " +
      "how long the final state took to reach every subscriber, CPU of the fanning-out process per delivery, its live heap per connection, sockets closed by the server; " +
      "ratios to the socket floor of the same scenario (delivered/s: higher is better; CPU and p99: lower is better). Rounds pooled: rates averaged, latencies the worst round.",
    "",
  );
  const rows: (string | number)[][] = [];
  const summaryData: unknown[] = [];
  for (const { r, paths } of summaries) {
    const floor = paths.find((p) => p.kind === "socket-floor");
    for (const s of paths) {
      const vs = (x: number, fx: number | undefined) => (floor && s !== floor && fx !== undefined ? ratio(x, fx) : "");
      rows.push([
        r.scenario.name,
        pathName(s),
        int(s.offered),
        int(s.delivered),
        f1(s.p50),
        f1(s.p99),
        f1(s.finalStateP99),
        f1(s.cpuUs),
        f1(s.heapKiB),
        closedText(s),
        vs(s.delivered, floor?.delivered),
        vs(s.cpuUs, floor?.cpuUs),
        vs(s.p99, floor?.p99),
      ]);
      const { part: _part, ...rest } = s;
      summaryData.push({
        scenario: r.scenario.no,
        ...rest,
        vsSocketFloor: floor && { delivered: s.delivered / floor.delivered, cpuUs: s.cpuUs / floor.cpuUs, p99: s.p99 / floor.p99 },
      });
    }
  }
  out.push(
    ...table(
      [
        "<scenario",
        "<path",
        "offered/s",
        "delivered/s",
        "p50 ms",
        "p99 ms",
        "final state p99 ms",
        "CPU µs/delivery",
        "heap KiB/conn",
        "sockets closed",
        "delivered vs floor",
        "CPU vs floor",
        "p99 vs floor",
      ],
      rows,
    ),
    "",
  );
  const clients = kafkaClientReport(results);
  out.push(...clients.markdown);

  // --- saturation ------------------------------------------------------------------
  const matrix = summaries.filter(({ r }) => r.scenario.kind === "matrix");
  const sizes = [...new Set(matrix.map(({ r }) => `${r.scenario.subscribers}/${r.scenario.topology}`))];
  const saturation: {
    subscribers: number;
    topology: string;
    kind: PhaseKind;
    client?: KafkaClient;
    delivered: number;
    cpuUs: number;
    atOffered: number;
    clientElu: number;
    vsFloor?: { delivered: number; cpuUs: number };
  }[] = [];
  for (const size of sizes) {
    const [n, topology] = size.split("/") as [string, string];
    const ofSize = matrix.filter(({ r }) => `${r.scenario.subscribers}/${r.scenario.topology}` === size);
    const best = (name: string) =>
      ofSize
        .flatMap(({ paths }) => paths.filter((p) => pathName(p) === name))
        .reduce<PathSummary | undefined>((b, p) => (!b || p.delivered > b.delivered ? p : b), undefined);
    const floor = best("socket-floor");
    const names = [...new Set(ofSize.flatMap(({ paths }) => paths.map(pathName)))];
    for (const kind of ["socket-floor", "pipeline", "redis-floor"] as PhaseKind[]) {
      for (const name of names.filter((x) => x.split(" ")[0] === kind)) {
        const b = best(name)!;
        saturation.push({
          subscribers: Number(n),
          topology,
          kind,
          client: b.client,
          delivered: b.delivered,
          cpuUs: b.cpuUs,
          atOffered: b.offered,
          clientElu: b.clientElu,
          vsFloor:
            floor && kind !== "socket-floor" ? { delivered: b.delivered / floor.delivered, cpuUs: b.cpuUs / floor.cpuUs } : undefined,
        });
      }
    }
  }
  if (saturation.length) {
    out.push("## Saturation", "");
    out.push(
      "Per subscriber count: the most deliveries/s each path delivered over the rates run (it saturates where more offered stops giving more delivered; " +
        "if the highest rate still delivered everything, this is a lower bound), CPU per delivery in that scenario, and the ratios to the socket floor. " +
        "Client ELU is the busiest subscriber thread's event-loop use: at 0.9 and above the clients, not the server, bound that figure " +
        "(the CPU per delivery still holds; the deliveries/s ratio is then flattering).",
      "",
    );
    out.push(
      ...table(
        [
          "subscribers",
          "<topology",
          "<path",
          "delivered/s",
          "at offered/s",
          "CPU µs/delivery",
          "client ELU",
          "delivered vs floor",
          "CPU vs floor",
        ],
        saturation.map((s) => [
          int(s.subscribers),
          s.topology,
          pathName(s),
          int(s.delivered),
          int(s.atOffered),
          f1(s.cpuUs),
          s.clientElu >= 0.9 ? `**${s.clientElu.toFixed(2)}**` : s.clientElu.toFixed(2),
          s.vsFloor ? ratio(s.vsFloor.delivered, 1) : "",
          s.vsFloor ? ratio(s.vsFloor.cpuUs, 1) : "",
        ]),
      ),
      "",
    );
  }

  // --- goals -------------------------------------------------------------------------
  const goals = evaluateGoals(summaries, saturation, a.rateArgument);
  out.push("## Goals (issue 9; ratios to the socket floor of this run)", "");
  for (const g of goals)
    out.push(
      `- ${g.status === "met" ? "met" : g.status === "not met" ? "**not met**" : "not measured"}: ${g.goal}${g.detail ? ` (${g.detail})` : ""}`,
    );
  out.push("");

  // --- details -------------------------------------------------------------------------
  out.push("## Scenarios in detail", "");
  for (const r of results) out.push(...scenarioDetail(r, a), "");
  return {
    markdown: out.join("\n"),
    data: { scenarios: results, summary: summaryData, saturation, goals, kafkaClients: clients.data },
    pass: results.every((r) => r.parts.every((p) => p.pass)),
  };
}

interface Goal {
  goal: string;
  status: "met" | "not met" | "not measured";
  detail?: string;
}

function evaluateGoals(
  summaries: { r: ScenarioResult; paths: PathSummary[] }[],
  saturation: {
    subscribers: number;
    kind: PhaseKind;
    delivered: number;
    cpuUs: number;
    clientElu: number;
    vsFloor?: { delivered: number; cpuUs: number };
  }[],
  rateArgument: boolean,
): Goal[] {
  const goals: Goal[] = [];
  const judge = (goal: string, ok: boolean | undefined, detail?: string): Goal => ({
    goal,
    status: ok === undefined ? "not measured" : ok ? "met" : "not met",
    detail,
  });
  for (const n of [1000, 10000]) {
    const s = saturation.find((x) => x.subscribers === n && x.kind === "pipeline" && x.vsFloor);
    const floor = saturation.find((x) => x.subscribers === n && x.kind === "socket-floor");
    const clientBound =
      floor && floor.clientElu >= 0.9
        ? `; the floor's clients were saturated (ELU ${floor.clientElu.toFixed(2)}), so its rate is a lower bound`
        : "";
    goals.push(
      judge(
        `saturation at ${int(n)} subscribers >= 0.7x the socket floor's deliveries/s`,
        s && s.vsFloor!.delivered >= 0.7,
        s && `${ratio(s.vsFloor!.delivered, 1)}${clientBound}`,
      ),
    );
    goals.push(
      judge(
        `CPU per delivery at ${int(n)} subscribers <= 1.5x the socket floor's`,
        s && s.vsFloor!.cpuUs <= 1.5,
        s && `${f1(s.cpuUs)} µs, ${ratio(s.vsFloor!.cpuUs, 1)}`,
      ),
    );
  }
  {
    // 1,000 subscribers at about half the floor's saturation rate.
    const floorSat = saturation.find((x) => x.subscribers === 1000 && x.kind === "socket-floor");
    const candidates = summaries.filter(
      ({ r, paths }) =>
        r.scenario.kind === "matrix" &&
        r.scenario.subscribers === 1000 &&
        paths.some((p) => p.kind === "pipeline") &&
        paths.some((p) => p.kind === "socket-floor"),
    );
    const half =
      floorSat &&
      candidates.sort(
        (x, y) => Math.abs(x.r.scenario.offered - floorSat.delivered / 2) - Math.abs(y.r.scenario.offered - floorSat.delivered / 2),
      )[0];
    const pipe = half?.paths.find((p) => p.kind === "pipeline");
    const floor = half?.paths.find((p) => p.kind === "socket-floor");
    const part = pipe?.part;
    goals.push(
      judge(
        "at 1,000 subscribers and half the floor's saturation rate: p99 <= 1.5x the floor's, 0 sockets closed, every event exactly once in version order",
        pipe && floor && part
          ? pipe.p99 <= 1.5 * floor.p99 && part.check.unexpectedCloses === 0 && part.check.missing === 0 && part.check.notIncreasing === 0
          : undefined,
        pipe && floor && part
          ? `${int(half!.r.scenario.offered)} offered/s: p99 ${f1(pipe.p99)} vs ${f1(floor.p99)} ms = ${ratio(pipe.p99, floor.p99)}, ${part.check.unexpectedCloses} closed, ${part.check.missing} missing, ${part.check.notIncreasing} out of order`
          : undefined,
      ),
    );
  }
  {
    const flash = summaries.find(({ r }) => r.scenario.kind === "flash");
    const pipe = flash?.paths.find((p) => p.kind === "pipeline");
    const limit = flash?.r.scenario.maxUpdatesPerSecond;
    goals.push(
      judge(
        "flash sale: every subscriber sees the final count (sold out) within 1 s of the last order's commit; no subscriber gets more than its requested rate; 0 sockets closed",
        pipe
          ? pipe.finalStateMax <= 1000 && pipe.part.check.overRate === 0 && pipe.closed === 0 && pipe.part.phases.every((p) => p.drained)
          : undefined,
        pipe
          ? `final state max ${f1(pipe.finalStateMax)} ms, p99 ${f1(pipe.finalStateP99)} ms; at most ${pipe.part.check.maxPerSecond} updates within 1 s (limit ${limit}, +1 for arrival jitter` +
              `${rateArgument ? "" : "; maxUpdatesPerSecond absent from schema.graphql, not sent"}); ${closedText(pipe)} closed`
          : undefined,
      ),
    );
  }
  {
    const apiParts = summaries.flatMap(({ r }) => r.parts.filter((p) => p.target === "api"));
    const worst = apiParts.length ? Math.max(...apiParts.map((p) => p.heapPerConnection)) / KiB : undefined;
    goals.push(
      judge(
        "live heap per idle subscriber connection <= 16 KiB (API)",
        worst === undefined ? undefined : worst <= 16,
        worst === undefined ? undefined : `up to ${f1(worst)} KiB`,
      ),
    );
  }
  return goals;
}

function scenarioDetail(r: ScenarioResult, a: { rateArgument: boolean; rounds: number }): string[] {
  const out: string[] = [];
  const s = r.scenario;
  const perProduct = s.targets.reduce((n, p) => n + r.watchers[p]!, 0) / s.targets.length;
  out.push(`### ${s.name}`, "");
  out.push(
    `- ${int(s.subscribers)} subscribers, ${perProduct.toFixed(0)} per product events go to on average; ${s.rate} events/s = ${int(s.rate * perProduct)} deliveries/s offered` +
      (s.units !== undefined ? `; ${s.units} units at the start of each phase (sold out after that)` : ""),
  );
  if (s.maxUpdatesPerSecond !== undefined) {
    out.push(
      r.rateArgumentSent
        ? `- subscriptions ask for maxUpdatesPerSecond: ${s.maxUpdatesPerSecond}`
        : `- maxUpdatesPerSecond: ${s.maxUpdatesPerSecond} **not sent**: schema.graphql has no such argument on stockChanged yet (the API delivers every event); the socket floor conflates to that rate itself`,
    );
  }
  for (const part of r.parts) {
    const h = part.serverHeap;
    out.push(
      `- ${part.target}: connected ${int(part.connected)} of ${int(s.subscribers)} in ${(part.connectMs / 1000).toFixed(1)} s` +
        (part.connectFailures.length ? ` (failures, e.g. ${part.connectFailures[0]})` : "") +
        `; **${f1(part.heapPerConnection / KiB)} KiB** live heap + external per connection after a full GC ` +
        `(${f1((h.before.heapUsed + h.before.external) / MiB)} -> ${f1((h.connected.heapUsed + h.connected.external) / MiB)} MiB` +
        (h.disconnected ? `, ${f1((h.disconnected.heapUsed + h.disconnected.external) / MiB)} MiB once all had left` : "") +
        `); RSS ${int(part.serverRss.before / MiB)} -> ${int(part.serverRss.connected / MiB)} MiB, ${int(part.serverRss.end / MiB)} MiB at the end (peak ${int(part.serverRss.peak / MiB)}); ` +
        `bench ${f1((part.benchRss.connected - part.benchRss.before) / Math.max(1, part.connected) / KiB)} KiB RSS per client`,
    );
  }
  out.push("");
  const phases = r.parts.flatMap((p) => p.phases);
  const compared = phasesByClient(r).size > 0;
  /** The phase's name in the tables: its kind, and its Kafka client when the scenario compared clients. */
  const label = (ph: PhaseResult) => (compared && ph.kafkaClient ? `${ph.kind} (${ph.kafkaClient})` : ph.kind);
  const cpuNames = [...new Set(phases.flatMap((p) => Object.keys(p.cpu.parties)))];
  out.push(
    ...table(
      [
        "<path",
        "round",
        "events/s",
        "offered/s",
        "delivered/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "final state p99 ms",
        "delivered / expected",
        "all delivered after",
        "CPU µs/delivery",
        ...cpuNames.map((c) => `CPU ${c}`),
        "CPU bench",
        "CPU other",
        "client threads ELU",
        "main ELU",
      ],
      phases.map((ph) => {
        const secs = ph.windowMs / 1000;
        return [
          compared && ph.kafkaClient ? `${PATH[ph.kind]} (${ph.kafkaClient})` : PATH[ph.kind],
          ph.round,
          f1(ph.events / secs),
          int(offeredPerSec(ph)),
          int(deliveredPerSec(ph)),
          f1(ph.latency.p50),
          f1(ph.latency.p95),
          f1(ph.latency.p99),
          f1(ph.latency.max),
          f1(ph.finalState.p99),
          `${int(ph.deliveries)} / ${int(ph.expectedDeliveries)}`,
          ph.drained ? `${int(ph.drainMs)} ms` : "**never**",
          f1(ph.serverCpuPerDeliveryUs),
          ...cpuNames.map((c) => pct(ph.cpu.parties[c])),
          pct(ph.cpu.bench),
          pct(ph.cpu.other),
          ph.threadElu.map((e) => e.toFixed(2)).join(" / "),
          ph.mainElu.toFixed(2),
        ];
      }),
    ),
    "",
  );
  for (let round = 1; round <= a.rounds; round++) {
    const of = (k: PhaseKind) => phases.find((x) => x.kind === k && x.round === round);
    for (const p of phases.filter((x) => x.kind === "pipeline" && x.round === round)) {
      for (const base of [of("socket-floor"), of("redis-floor")]) {
        if (!base) continue;
        out.push(
          `- round ${round}: ${label(p)} / ${base.kind} = **${ratio(p.latency.p50, base.latency.p50)}** at p50 (${f1(p.latency.p50)} / ${f1(base.latency.p50)} ms), ` +
            `**${ratio(p.latency.p99, base.latency.p99)}** at p99 (${f1(p.latency.p99)} / ${f1(base.latency.p99)} ms)`,
        );
      }
    }
  }
  const stageRows: (string | number)[][] = [];
  const row = (name: string, round: number, q: Percentiles | undefined) =>
    q && q.n > 0 && stageRows.push([name, round, f1(q.p50), f1(q.p95), f1(q.p99), f1(q.max)]);
  for (const ph of phases) {
    if (ph.kind === "pipeline") {
      row(`${label(ph)}: placeOrder round trip (per order)`, ph.round, ph.orderLatency);
      row(`${label(ph)}: commit -> relay transaction start (published_at, whole ms; per event)`, ph.round, ph.toRelay);
      row(`${label(ph)}: relay transaction start -> Kafka CreateTime (whole ms; per event)`, ph.round, ph.relayToProduce);
      row(`${label(ph)}: Kafka CreateTime -> fetched by a consumer (whole ms; per event)`, ph.round, ph.produceToConsumer);
      row(`${label(ph)}: fetched -> on Redis (~ the bridge; per event)`, ph.round, ph.consumerToRedis);
      row(`${label(ph)}: commit -> on Redis (relay + Kafka + bridge; per event)`, ph.round, ph.toRedis);
      row(`${label(ph)}: on Redis -> client (API fan-out)`, ph.round, ph.redisToClient);
      row(`${label(ph)}: occurredAt (transaction start, whole ms) -> client`, ph.round, ph.fromOccurredAt);
      row(`${label(ph)}: placeOrder answer received -> client`, ph.round, ph.fromAnswer);
    } else {
      row(`${ph.kind}: PUBLISH -> on Redis (per event)`, ph.round, ph.toRedis);
      row(`${ph.kind}: on Redis -> client (${ph.kind === "socket-floor" ? "bare ws server" : "API"} fan-out)`, ph.round, ph.redisToClient);
    }
    row(`${label(ph)}: the last event (the final state) -> each subscriber of its product`, ph.round, ph.finalState);
  }
  if (stageRows.length)
    out.push(
      "",
      "Where the time goes (ms; per delivery unless marked per event):",
      "",
      ...table(["<stage", "round", "p50", "p95", "p99", "max"], stageRows),
    );
  out.push("");
  for (const part of r.parts) {
    const c = part.check;
    const refused = part.phases.reduce((n, p) => n + p.ordersRefused, 0);
    out.push(
      `- ${part.pass ? "PASS" : "FAIL"} (${part.target}): ${int(c.received)} of ${int(c.expected)} versions delivered, ${int(c.missing)} ${s.maxUpdatesPerSecond !== undefined ? "skipped (conflated, allowed here)" : "missing"}, ` +
        `${c.notIncreasing} not increasing, ${c.noSnapshot} without snapshot, ${c.resyncs} re-syncs, ${c.errors} errors, ${c.unexpectedCloses} sockets closed` +
        (c.unexpectedCloses ? ` (${codes(c.closeCodes)})` : "") +
        (s.maxUpdatesPerSecond !== undefined
          ? `; at most ${c.maxPerSecond} updates to one subscriber within 1 s (${c.overRate} subscriptions above ${s.maxUpdatesPerSecond} + 1)`
          : "") +
        (refused ? `; ${int(refused)} orders refused as sold out` : "") +
        (part.failures.length ? `; ${part.failures.join("; ")}` : "") +
        (c.errorSamples.length ? `; e.g. ${c.errorSamples.join("; ")}` : "") +
        (part.phases.some((p) => p.orderErrorSamples.length)
          ? `; order errors e.g. ${part.phases.flatMap((p) => p.orderErrorSamples)[0]}`
          : ""),
    );
  }
  return out;
}
