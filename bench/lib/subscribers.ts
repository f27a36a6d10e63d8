// Starts subscriber-worker.ts in a worker thread and talks to it with
// request/reply messages. The worker is TypeScript: a worker thread does not
// inherit tsx's loader on Node 20, so a small bootstrap registers tsx in the
// worker first (tsx/esm/api), then imports the worker module.
import { Worker } from "node:worker_threads";
import type { AwaitReply, CheckReply, CollectReply, ConnectReply, Request, StatsReply, WorkerInit } from "./subscriber-worker.js";

export type { WorkerInit } from "./subscriber-worker.js";
export { KEY_SPAN, STOCK_SUBSCRIPTION } from "./subscriber-worker.js";

export interface SubscriberThread {
  connect(): Promise<ConnectReply>;
  collect(): Promise<CollectReply>;
  /** Resolves when every subscriber of this thread has each of its products at (at least) versions[product], or at the timeout. */
  awaitVersions(versions: number[], timeoutMs: number): Promise<AwaitReply>;
  stats(): Promise<StatsReply>;
  /** With stocks: also whether each subscriber's newest message per product had that stock (atFinal, wrongCounts). */
  check(versions: number[], stocks?: number[]): Promise<CheckReply>;
  close(): Promise<void>;
}

export async function startSubscriberThread(init: WorkerInit): Promise<SubscriberThread> {
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./subscriber-worker.ts", import.meta.url).href;
  const worker = new Worker(`import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`, {
    eval: true,
    workerData: init,
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  let failure: Error | undefined;
  const ready = new Promise<void>((resolve, reject) => pending.set(0, { resolve: () => resolve(), reject }));
  const fail = (err: Error) => {
    failure = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on("message", (msg: { id: number; reply?: unknown; error?: string }) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error !== undefined) p.reject(new Error(`subscriber thread: ${msg.error}`));
    else p.resolve(msg.reply);
  });
  worker.on("error", (err) => fail(err));
  worker.on("exit", (code) => fail(new Error(`subscriber thread exited (code ${code})`)));
  await ready;

  const call = <T>(req: Request): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, req });
    });
  };
  return {
    connect: () => call<ConnectReply>({ type: "connect" }),
    collect: () => call<CollectReply>({ type: "collect" }),
    awaitVersions: (versions, timeoutMs) => call<AwaitReply>({ type: "await", versions, timeoutMs }),
    stats: () => call<StatsReply>({ type: "stats" }),
    check: (versions, stocks) => call<CheckReply>({ type: "check", versions, stocks }),
    async close() {
      try {
        if (!failure) await Promise.race([call({ type: "close" }), new Promise((r) => setTimeout(r, 15_000))]);
      } finally {
        worker.removeAllListeners("exit");
        await worker.terminate();
      }
    },
  };
}
