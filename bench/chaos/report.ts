// One row per fault from the run's samples and marks, the goals next
// to the figures, and the Markdown table. Goals are reported, not enforced:
// only a lost or doubled order fails the run.
import { succeeded, type Sample } from "./load.js";
import type { KeyVerdict } from "./checks.js";
import type { Fault } from "./faults.js";

export interface Window {
  fault: Pick<Fault, "name" | "backend" | "kind">;
  /** Wall ms: the outage began, the backend was back, the next fault (or the end of the load). */
  startedAt: number;
  endedAt: number;
  closedAt: number;
  /** From endedAt until every subscriber had the versions the database had just after it; undefined if not in the window. */
  subscribersBackMs?: number;
  subscribersOnNewest: number;
  subscribers: number;
}

export interface Row {
  fault: string;
  backend: Fault["backend"];
  faultMs: number;
  sent: number;
  ok: number;
  errors: Record<string, number>;
  longestMs: number;
  over2500: number;
  /** SERVICE_UNAVAILABLE answers during the outage. */
  refusals: Refusals;
  /** Those the breaker refused (reason CIRCUIT_OPEN): the answers "while the breaker is open". */
  breakerRefusals: Refusals;
  recoveryMs?: number;
  lost: number;
  doubled: number;
  subscribersBackMs?: number;
  subscribersOnNewest: string;
}

/** How many refusals, how many came in under 50 ms, and their median wait. */
export interface Refusals {
  count: number;
  fast: number;
  medianMs?: number;
}

function refusalsOf(samples: Sample[]): Refusals {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  return { count: ms.length, fast: ms.filter((m) => m < 50).length, medianMs: ms.length ? ms[Math.floor(ms.length / 2)] : undefined };
}

const describeRefusals = (r: Refusals) => `median ${r.medianMs ?? "-"} ms, ${r.fast}/${r.count} under 50 ms`;

export function rowOf(w: Window, samples: Sample[], verdicts: Map<string, KeyVerdict>): Row {
  const mine = samples.filter((s) => s.startedAt >= w.startedAt && s.startedAt < w.closedAt);
  const errors: Record<string, number> = {};
  for (const s of mine) if (!succeeded(s)) errors[s.result] = (errors[s.result] ?? 0) + 1;
  const refused = mine.filter((s) => s.result === "SERVICE_UNAVAILABLE" && s.startedAt < w.endedAt);
  const keys = mine.filter((s) => s.kind === "order").map((s) => verdicts.get(s.key));
  return {
    fault: w.fault.name,
    backend: w.fault.backend,
    faultMs: w.endedAt - w.startedAt,
    sent: mine.length,
    ok: mine.filter(succeeded).length,
    errors,
    longestMs: Math.max(0, ...mine.map((s) => s.ms)),
    over2500: mine.filter((s) => s.ms > 2_500).length,
    refusals: refusalsOf(refused),
    breakerRefusals: refusalsOf(refused.filter((s) => s.reason === "CIRCUIT_OPEN")),
    recoveryMs: recovery(samples, w),
    lost: keys.filter((v) => v?.lost).length,
    doubled: keys.filter((v) => v?.doubled).length,
    subscribersBackMs: w.subscribersBackMs,
    subscribersOnNewest: `${w.subscribersOnNewest}/${w.subscribers}`,
  };
}

/**
 * From the backend's return to the start of the first full-success second:
 * a 1 s window (sliding in 100 ms steps) in which every request sent was
 * answered without error (at least 3 of them).
 */
function recovery(samples: Sample[], w: Window): number | undefined {
  const after = samples.filter((s) => s.startedAt >= w.endedAt && s.startedAt < w.closedAt);
  for (let t = w.endedAt; t + 1_000 <= w.closedAt; t += 100) {
    const second = after.filter((s) => s.startedAt >= t && s.startedAt < t + 1_000);
    if (second.length >= 3 && second.every(succeeded)) return t - w.endedAt;
  }
  return undefined;
}

const s1 = (ms: number | undefined) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)} s`);
const mark = (ok: boolean) => (ok ? "met" : "**missed**");

export function markdown(rows: Row[], notes: string[]): string {
  const head = [
    "| fault | outage | sent | answered ok | errors by code | longest wait | > 2.5 s | refusals < 50 ms (median) | recovery | lost | doubled | subscribers back | on newest |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const lines = rows.map((r) => {
    const errors = Object.entries(r.errors)
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${code} ${n}`)
      .join(", ");
    const cell = (x: Refusals) => `${x.fast}/${x.count} (${x.medianMs} ms)`;
    const open = r.breakerRefusals.count ? `; breaker ${cell(r.breakerRefusals)}` : "";
    const refusals = r.refusals.count ? `${cell(r.refusals)}${open}` : "-";
    return `| ${r.fault} | ${s1(r.faultMs)} | ${r.sent} | ${r.ok} | ${errors || "-"} | ${r.longestMs} ms | ${r.over2500} | ${refusals} | ${s1(r.recoveryMs)} | ${r.lost} | ${r.doubled} | ${s1(r.subscribersBackMs)} | ${r.subscribersOnNewest} |`;
  });
  return [...head, ...lines, "", "Goals (issue 28; reported, not enforced):", "", ...goals(rows).map((g) => `- ${g}`), "", ...notes].join(
    "\n",
  );
}

function goals(rows: Row[]): string[] {
  const out: string[] = [];
  for (const r of rows.filter((x) => x.backend === "postgres" && x.fault.includes("pause"))) {
    out.push(`${r.fault}: 0 requests waiting > 2.5 s: ${r.over2500} (${mark(r.over2500 === 0)})`);
    out.push(
      `${r.fault}: refusals under 50 ms while the breaker is open (CIRCUIT_OPEN): ${describeRefusals(r.breakerRefusals)} ` +
        `(${mark(r.breakerRefusals.medianMs !== undefined && r.breakerRefusals.medianMs < 50)}); ` +
        `every refusal in the outage, those at the deadline before the breaker opened too: ${describeRefusals(r.refusals)}`,
    );
    out.push(
      `${r.fault}: full success within 2 s of the resume: ${s1(r.recoveryMs)} (${mark(r.recoveryMs !== undefined && r.recoveryMs <= 2_000)})`,
    );
  }
  for (const r of rows.filter((x) => x.backend === "redis" || x.backend === "kafka"))
    out.push(
      `${r.fault}: every subscriber on the newest version within 2 s of the return: ${s1(r.subscribersBackMs)} (${mark(r.subscribersBackMs !== undefined && r.subscribersBackMs <= 2_000)})`,
    );
  const lost = rows.reduce((n, r) => n + r.lost, 0);
  const doubled = rows.reduce((n, r) => n + r.doubled, 0);
  out.push(
    `every fault: 0 lost, 0 doubled orders: ${lost} lost, ${doubled} doubled (${mark(lost + doubled === 0)}; enforced: the exit code)`,
  );
  return out;
}
