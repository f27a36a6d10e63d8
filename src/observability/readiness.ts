// GET /ready, one implementation for the API (Yoga's useReadinessCheck in
// app/operator-endpoints.ts) and for the METRICS_PORT listener of relay- and
// bridge-only processes (process.ts): 200 when every backend check answers
// within the timeout, else 503 naming the failing ones. Anyone can call it, so it says
// which component failed and since when, never why: a driver's message names
// hosts, ports and client libraries. The cause goes to the log, once when a
// component starts failing (and once when it answers again), not per probe.

export interface ReadinessOptions {
  /** Each backend's check: resolves when it answers. */
  checks: Record<string, () => Promise<unknown>>;
  /** Components whose failure only degrades the instance (still 200), with what that means for clients. */
  degradesOnly?: Record<string, string>;
  /** Read replicas, when configured: one that is not ok degrades the instance (its reads go to the primary). */
  replicas?: () => { state: string; lagMs?: number }[];
  /** Circuit breakers by backend (observability/breakers.ts): closed, open or half-open. */
  breakers?: () => Record<string, string>;
  /** Other reasons the instance is degraded right now (e.g. the response cache is off while its stream is away). */
  alsoDegraded?: () => string[];
  /** Where the causes go. */
  log: (line: string) => void;
  timeoutMs?: number;
  now?: () => number;
}

export interface ComponentReadiness {
  ok: boolean;
  /** While failing: since when (the first failed check in a row) and for how many seconds. */
  failingSince?: string;
  failingForSeconds?: number;
}

export interface ReadyBody {
  status: "ready" | "degraded" | "unavailable";
  failing: string[];
  degraded?: string[];
  components: Record<string, ComponentReadiness | { replica: number; state: string; lagMs?: number }[]>;
  breakers?: Record<string, string>;
}

export function readiness(opts: ReadinessOptions): () => Promise<{ status: number; body: ReadyBody }> {
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const degradesOnly = opts.degradesOnly ?? {};
  const failingSince = new Map<string, number>();

  const probe = async (name: string, check: () => Promise<unknown>): Promise<[string, ComponentReadiness]> => {
    try {
      await withTimeout(check(), timeoutMs);
      const since = failingSince.get(name);
      if (since !== undefined) {
        failingSince.delete(name);
        opts.log(`readiness: ${name} answers again after ${Math.round((now() - since) / 1000)} s`);
      }
      return [name, { ok: true }];
    } catch (err) {
      let since = failingSince.get(name);
      if (since === undefined) {
        since = now();
        failingSince.set(name, since);
        opts.log(`readiness: ${name} failing: ${err instanceof Error ? err.message : String(err)}`.replace(/\s+/g, " "));
      }
      return [name, { ok: false, failingSince: new Date(since).toISOString(), failingForSeconds: Math.round((now() - since) / 1000) }];
    }
  };

  return async () => {
    const results = await Promise.all(Object.entries(opts.checks).map(([name, check]) => probe(name, check)));
    const down = results.filter(([, r]) => !r.ok).map(([n]) => n);
    const failing = down.filter((n) => !(n in degradesOnly));
    // Replicas by position and state only (not host names); process.ts logs their errors as their state changes.
    const replicas = (opts.replicas?.() ?? []).map(({ state, lagMs }, i) => ({
      replica: i + 1,
      state,
      ...(lagMs !== undefined && { lagMs }),
    }));
    const degraded = [
      ...down.filter((n) => n in degradesOnly).map((n) => `${n} unreachable: ${degradesOnly[n]}`),
      ...replicas.filter((r) => r.state !== "ok").map((r) => `replica ${r.replica} ${r.state}: its reads go to the primary`),
      ...(opts.alsoDegraded?.() ?? []),
    ];
    const body: ReadyBody = {
      status: failing.length ? "unavailable" : degraded.length ? "degraded" : "ready",
      failing,
      ...((replicas.length || degraded.length) && { degraded }),
      components: { ...Object.fromEntries(results), ...(replicas.length && { replicas }) },
      ...(opts.breakers && { breakers: opts.breakers() }),
    };
    return { status: failing.length ? 503 : 200, body };
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    t.unref();
    p.then(resolve, reject).finally(() => clearTimeout(t));
  });
}
