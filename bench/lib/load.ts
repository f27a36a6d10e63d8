// A closed-loop load generator: `concurrency` workers, each sending its next
// request as soon as the previous one answered, for a fixed time or a fixed
// number of requests. Latency is each request's wall time, kept exactly
// (an array of numbers, sorted once at the end) rather than bucketed.
import { performance } from "node:perf_hooks";

export type Outcome = "ok" | "refused" | "error";

export interface LoadOptions {
  concurrency: number;
  /** Stop issuing new requests after this long (in-flight ones still finish and count). */
  durationMs?: number;
  /** Stop after issuing this many requests in all. */
  totalRequests?: number;
  /** One request. Throwing counts as an error with the thrown message. */
  op: (worker: number) => Promise<Outcome | { outcome: Outcome; detail?: string }>;
}

export interface LoadResult {
  requests: number;
  ok: number;
  refused: number;
  errors: number;
  elapsedMs: number;
  /** Completed requests per second (ok + refused + errors). */
  rate: number;
  /** Successful orders per second. */
  okRate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** A few distinct error messages, with counts. */
  errorSamples: Map<string, number>;
}

export async function runClosedLoop(opts: LoadOptions): Promise<LoadResult & { runs: RawRun[] }> {
  if (opts.durationMs === undefined && opts.totalRequests === undefined) throw new Error("durationMs or totalRequests");
  const latencies: number[] = [];
  const counts = { ok: 0, refused: 0, error: 0 };
  const errorSamples = new Map<string, number>();
  let issued = 0;
  const start = performance.now();
  const deadline = opts.durationMs === undefined ? Infinity : start + opts.durationMs;
  const limit = opts.totalRequests ?? Infinity;

  const noteError = (msg: string) => {
    const key = msg.slice(0, 200);
    if (errorSamples.has(key) || errorSamples.size < 5) errorSamples.set(key, (errorSamples.get(key) ?? 0) + 1);
  };

  const worker = async (w: number) => {
    while (issued < limit && performance.now() < deadline) {
      issued++;
      const t0 = performance.now();
      let outcome: Outcome;
      try {
        const r = await opts.op(w);
        if (typeof r === "string") outcome = r;
        else {
          outcome = r.outcome;
          if (r.outcome === "error") noteError(r.detail ?? "error");
        }
      } catch (err) {
        outcome = "error";
        noteError(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
      }
      latencies.push(performance.now() - t0);
      counts[outcome]++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
  const elapsedMs = performance.now() - start;
  return summarize([{ latencies: Float64Array.from(latencies), ...counts, elapsedMs, errorSamples }]);
}

export interface RawRun {
  latencies: Float64Array;
  ok: number;
  refused: number;
  error: number;
  elapsedMs: number;
  errorSamples: Map<string, number>;
}

/** One result from one or more runs of the same scenario (pooled: all requests over all the time). */
export function summarize(runs: RawRun[]): LoadResult & { runs: RawRun[] } {
  const sorted = new Float64Array(runs.reduce((n, r) => n + r.latencies.length, 0));
  let at = 0;
  for (const r of runs) {
    sorted.set(r.latencies, at);
    at += r.latencies.length;
  }
  sorted.sort();
  const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);
  const sum = (f: (r: RawRun) => number) => runs.reduce((n, r) => n + f(r), 0);
  const elapsedMs = sum((r) => r.elapsedMs);
  const ok = sum((r) => r.ok);
  const errorSamples = new Map<string, number>();
  for (const r of runs) for (const [k, n] of r.errorSamples) errorSamples.set(k, (errorSamples.get(k) ?? 0) + n);
  return {
    requests: sorted.length,
    ok,
    refused: sum((r) => r.refused),
    errors: sum((r) => r.error),
    elapsedMs,
    rate: (sorted.length / elapsedMs) * 1000,
    okRate: (ok / elapsedMs) * 1000,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    errorSamples,
    runs,
  };
}
