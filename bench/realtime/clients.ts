// The scenario's subscribers as one group: spread over worker threads of the
// bench process (lib/subscriber-worker.ts), connected to one server (the API
// or the socket floor), asked together and summed.
import type { Harness } from "../lib/harness.js";
import { startSubscriberThread, type SubscriberThread } from "../lib/subscribers.js";
import type { CollectReply } from "../lib/subscriber-worker.js";
import type { ClientCheck } from "./results.js";

export interface ClientsOptions {
  /** ws://host:port/graphql */
  url: string;
  productGids: string[];
  assignments: number[][];
  threads: number;
  connectConcurrency: number;
  query?: string;
  variables?: Record<string, unknown>;
  rateLimit?: number;
}

export interface Clients {
  threads: SubscriberThread[];
  connect(): Promise<{ connected: number; ms: number; failures: string[] }>;
  /** Until every subscriber has each product at versions[product] (or the timeout); calls alive() meanwhile. */
  drain(versions: number[], timeoutMs: number, alive: () => void): Promise<{ at: number; complete: boolean; behind: number }>;
  /** The deliveries since the last collect, per thread. */
  collect(): Promise<CollectReply[]>;
  check(versions: number[]): Promise<ClientCheck>;
  close(): Promise<void>;
}

export async function startClients(h: Harness, o: ClientsOptions): Promise<Clients> {
  const count = Math.min(o.threads, o.assignments.length);
  const threads: SubscriberThread[] = [];
  const close = h.deferred(async () => {
    await Promise.all(threads.map((t) => t.close()));
  });
  for (let t = 0; t < count; t++) {
    threads.push(
      await startSubscriberThread({
        url: o.url,
        productGids: o.productGids,
        subscribers: o.assignments.filter((_, s) => s % count === t),
        connectConcurrency: o.connectConcurrency,
        query: o.query,
        variables: o.variables,
        rateLimit: o.rateLimit,
      }),
    );
  }
  return {
    threads,
    async connect() {
      const replies = await Promise.all(threads.map((t) => t.connect()));
      return {
        connected: replies.reduce((n, c) => n + c.connected, 0),
        ms: Math.max(...replies.map((c) => c.ms)),
        failures: replies.flatMap((c) => c.firstErrors),
      };
    },
    async drain(versions, timeoutMs, alive) {
      const waiting = Promise.all(threads.map((t) => t.awaitVersions(versions, timeoutMs)));
      let done = false;
      void waiting.finally(() => (done = true)).catch(() => {});
      while (!done) {
        alive();
        await Promise.race([waiting, new Promise((r) => setTimeout(r, 500))]);
      }
      const replies = await waiting;
      return {
        at: Math.max(...replies.map((r) => r.at)),
        complete: replies.every((r) => r.complete),
        behind: replies.reduce((n, r) => n + r.behind, 0),
      };
    },
    collect: () => Promise.all(threads.map((t) => t.collect())),
    async check(versions) {
      const checks = await Promise.all(threads.map((t) => t.check(versions)));
      const sum = (f: (c: (typeof checks)[number]) => number) => checks.reduce((n, c) => n + f(c), 0);
      const closeCodes: Record<string, number> = {};
      for (const c of checks) for (const [code, n] of Object.entries(c.closeCodes)) closeCodes[code] = (closeCodes[code] ?? 0) + n;
      return {
        expected: sum((c) => c.expected),
        received: sum((c) => c.received),
        missing: sum((c) => c.missing),
        notIncreasing: sum((c) => c.notIncreasing),
        noSnapshot: sum((c) => c.noSnapshot),
        resyncs: sum((c) => c.resyncs),
        errors: sum((c) => c.errors),
        payloadErrors: sum((c) => c.payloadErrors),
        unexpectedCloses: sum((c) => c.unexpectedCloses),
        closeCodes,
        maxPerSecond: Math.max(0, ...checks.map((c) => c.maxPerSecond)),
        overRate: sum((c) => c.overRate),
        errorSamples: [...new Set(checks.flatMap((c) => c.errorSamples))].slice(0, 5),
        atFinal: sum((c) => c.atFinal),
        wrongCounts: sum((c) => c.wrongCounts),
      };
    },
    close,
  };
}
