// WebSocket subscribers for bench/realtime, run in a worker thread so
// their event loop is not the one sending orders (see startSubscriberThread).
// Each subscriber is its own graphql-ws client (its own socket) with one
// stockChanged subscription on a few products. Per delivery it keeps the
// arrival time (wall clock, sub-millisecond) and the event's key (product,
// version), and checks per product that versions arrive exactly once, in
// order, without gaps (a rate-limited subscription may skip versions: then
// it also tracks the most updates within a second). Close codes of sockets
// the server closed are counted. The main thread joins the times with the
// events' reference times (commit, publish) afterwards.
import { parentPort, workerData } from "node:worker_threads";
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from "node:perf_hooks";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

export interface WorkerInit {
  /** ws://host:port/graphql */
  url: string;
  /** Global IDs, index = product number. */
  productGids: string[];
  /** This thread's subscribers: each a list of product numbers. */
  subscribers: number[][];
  /** Subscriptions being set up at once (handshake + first snapshot). */
  connectConcurrency: number;
  /** The subscription document (default STOCK_SUBSCRIPTION); `$ids` gets the subscriber's products. */
  query?: string;
  /** Further variables of every subscription (e.g. { max: 10 }). */
  variables?: Record<string, unknown>;
  /**
   * Updates per second each subscriber asked for: track the most deliveries
   * any subscriber got within one second (snapshots not counted).
   */
  rateLimit?: number;
  /** A subscription without its snapshot after this long counts as failed (default 120 s). */
  connectTimeoutMs?: number;
}

export type Request =
  | { type: "connect" }
  | { type: "collect" }
  | { type: "await"; versions: number[]; timeoutMs: number }
  | { type: "stats" }
  | { type: "check"; versions: number[]; stocks?: number[] }
  | { type: "close" };

export interface ConnectReply {
  connected: number;
  failed: number;
  ms: number;
  firstErrors: string[];
}
export interface CollectReply {
  /** productNumber * KEY_SPAN + version, per delivery. */
  keys: Float64Array;
  /** Arrival time per delivery, ms since the epoch (performance.timeOrigin + performance.now()). */
  times: Float64Array;
}
export interface AwaitReply {
  complete: boolean;
  /** When the last missing delivery arrived (wall clock), or when it gave up. */
  at: number;
  /** (subscriber, product) pairs not yet at the version asked for. */
  behind: number;
}
export interface StatsReply {
  /** Event-loop utilisation of this thread since the last stats call (0..1). */
  elu: number;
  /** Event-loop delay since the last stats call, ms. */
  delayP50: number;
  delayP99: number;
  delayMax: number;
}
export interface CheckReply {
  /** Deliveries expected: per (subscriber, product), versions after its snapshot up to the final one. */
  expected: number;
  received: number;
  /** Versions skipped: expected but never delivered, and not made up later. */
  missing: number;
  /** A version not above the last one delivered for that product (duplicate or out of order). */
  notIncreasing: number;
  /** Subscriptions whose first message for a product was not its CURRENT snapshot. */
  noSnapshot: number;
  /** Snapshots (CURRENT) after the first: a re-sync after a pub/sub reconnect. */
  resyncs: number;
  errors: number;
  /**
   * Of those, errors the server sent as GraphQL errors (in a next payload or
   * an error message) or events of a product not asked for: a wrong answer,
   * unlike a socket that closed.
   */
  payloadErrors: number;
  /** Sockets that closed while they should have been open. */
  unexpectedCloses: number;
  /** Those closes by close code (1006: no close frame, i.e. the connection just went away). */
  closeCodes: Record<string, number>;
  /** With rateLimit: the most deliveries one subscriber got for one product within any 1 s. */
  maxPerSecond: number;
  /**
   * With rateLimit: (subscriber, product) pairs that got more than rateLimit + 1
   * within some 1 s. The one update of slack is the fencepost: updates sent
   * exactly 1000/rateLimit ms apart arrive rateLimit + 1 times within a second
   * as soon as the network delays one of them by a millisecond.
   */
  overRate: number;
  errorSamples: string[];
  /**
   * Subscribers that have every product of theirs at (at least) the version asked for and, when the
   * check was given stocks, with exactly that stock in the newest message they got for it.
   */
  atFinal: number;
  /** With stocks: (subscriber, product) pairs at the version asked for whose newest message had another stock. */
  wrongCounts: number;
}

/** Keys: product number * KEY_SPAN + version (exact in a double for any realistic version). */
export const KEY_SPAN = 1e9;

export const STOCK_SUBSCRIPTION = `subscription Stock($ids: [ID!]!) {
  stockChanged(productIds: $ids) { product { id sku stock version } stock version delta reason orderId occurredAt }
}`;

interface StockChangeMessage {
  product: { id: string };
  stock: number;
  version: number;
  reason: string;
}

const wall = () => performance.timeOrigin + performance.now();

function run(init: WorkerInit) {
  const productIndex = new Map(init.productGids.map((gid, i) => [gid, i]));
  const subs = init.subscribers;
  // Flat per (subscriber, product slot) state.
  const offsets: number[] = [];
  let slots = 0;
  for (const s of subs) {
    offsets.push(slots);
    slots += s.length;
  }
  const first = new Int32Array(slots).fill(-1);
  const last = new Int32Array(slots).fill(-1);
  const received = new Int32Array(slots);
  // The stock of the newest version each slot got (snapshot or change).
  const lastStock = new Int32Array(slots).fill(-1);
  let noSnapshot = 0;
  let resyncs = 0;
  let notIncreasing = 0;
  let errors = 0;
  let payloadErrors = 0;
  let unexpectedCloses = 0;
  const closeCodes: Record<string, number> = {};
  // Rate tracking (only with rateLimit): the last few delivery times per slot, in a ring.
  const ringSize = init.rateLimit ? init.rateLimit + 3 : 0;
  const ring = new Float64Array(slots * ringSize);
  const ringAt = new Int32Array(init.rateLimit ? slots : 0);
  let maxPerSecond = 0;
  const overRateSlots = new Set<number>();
  const errorSamples: string[] = [];
  const noteError = (msg: string) => {
    errors++;
    if (errorSamples.length < 5 && !errorSamples.includes(msg)) errorSamples.push(msg.slice(0, 300));
  };

  // Growable delivery log.
  let keys = new Float64Array(1 << 16);
  let times = new Float64Array(1 << 16);
  let n = 0;
  const log = (key: number, t: number) => {
    if (n === keys.length) {
      const k2 = new Float64Array(keys.length * 2);
      k2.set(keys);
      keys = k2;
      const t2 = new Float64Array(times.length * 2);
      t2.set(times);
      times = t2;
    }
    keys[n] = key;
    times[n++] = t;
  };

  let lastDeliveryAt = 0;
  // Waiting for versions ("await"): told of each delivery while pending.
  let onProgress: (() => void) | undefined;

  const clients: Client[] = [];
  let closing = false;
  const readyWaiters = new Map<number, () => void>();
  const pendingSnapshots = new Int32Array(subs.length).map((_, i) => subs[i]!.length);

  const deliver = (sub: number, c: StockChangeMessage, t: number) => {
    const p = productIndex.get(c.product.id);
    const products = subs[sub]!;
    const j = p === undefined ? -1 : products.indexOf(p);
    if (j < 0) {
      payloadErrors++;
      return noteError(`subscriber ${sub}: event for a product it did not ask for: ${c.product.id}`);
    }
    const slot = offsets[sub]! + j;
    if (c.reason === "CURRENT") {
      if (first[slot] === -1) {
        first[slot] = last[slot] = c.version;
        lastStock[slot] = c.stock;
        if (--pendingSnapshots[sub]! === 0) readyWaiters.get(sub)?.();
      } else {
        resyncs++;
        if (c.version > last[slot]!) {
          last[slot] = c.version;
          lastStock[slot] = c.stock;
        }
      }
      return;
    }
    if (first[slot] === -1) {
      // A change before the snapshot: the subscription's versions start here.
      noSnapshot++;
      first[slot] = c.version - 1;
      last[slot] = c.version - 1;
      if (--pendingSnapshots[sub]! === 0) readyWaiters.get(sub)?.();
    }
    if (c.version <= last[slot]!) {
      notIncreasing++;
      return;
    }
    last[slot] = c.version;
    lastStock[slot] = c.stock;
    received[slot]!++;
    if (ringSize) {
      // Deliveries of this slot within (t - 1 s, t]: at most ringSize are remembered, enough to see rateLimit exceeded.
      const base = slot * ringSize;
      ring[base + (ringAt[slot]! % ringSize)] = t;
      ringAt[slot]!++;
      let inSecond = 0;
      for (let k = 0; k < Math.min(ringAt[slot]!, ringSize); k++) if (t - ring[base + k]! < 1000) inSecond++;
      if (inSecond > maxPerSecond) maxPerSecond = inSecond;
      if (inSecond > init.rateLimit! + 1) overRateSlots.add(slot);
    }
    lastDeliveryAt = t;
    log(p! * KEY_SPAN + c.version, t);
    if (onProgress) onProgress();
  };

  const subscribeOne = (sub: number) =>
    new Promise<void>((resolve, reject) => {
      const client = createClient({
        url: init.url,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        on: {
          closed: (event) => {
            if (!closing) {
              unexpectedCloses++;
              const code = (event as { code?: number })?.code;
              closeCodes[String(code ?? "?")] = (closeCodes[String(code ?? "?")] ?? 0) + 1;
              noteError(`subscriber ${sub}: socket closed (${code ?? "?"})`);
              reject(new Error(`socket closed (${code ?? "?"})`));
            }
          },
        },
      });
      clients.push(client);
      const timer = setTimeout(() => {
        readyWaiters.delete(sub);
        reject(new Error(`no snapshot within ${(init.connectTimeoutMs ?? 120_000) / 1000} s`));
      }, init.connectTimeoutMs ?? 120_000);
      readyWaiters.set(sub, () => {
        clearTimeout(timer);
        readyWaiters.delete(sub);
        resolve();
      });
      client.subscribe<{ stockChanged: StockChangeMessage }>(
        { query: init.query ?? STOCK_SUBSCRIPTION, variables: { ...init.variables, ids: subs[sub]!.map((p) => init.productGids[p]!) } },
        {
          next(result) {
            const t = wall();
            const c = result.data?.stockChanged;
            if (result.errors?.length || !c) {
              payloadErrors++;
              return noteError(`subscriber ${sub}: ${JSON.stringify(result.errors ?? result).slice(0, 300)}`);
            }
            deliver(sub, c, t);
          },
          error(err) {
            if (Array.isArray(err)) payloadErrors++;
            const msg =
              err instanceof Error
                ? err.message
                : Array.isArray(err)
                  ? JSON.stringify(err)
                  : String((err as { reason?: string })?.reason ?? err);
            noteError(`subscriber ${sub}: ${msg}`);
            reject(new Error(msg));
          },
          complete() {
            if (!closing) noteError(`subscriber ${sub}: subscription completed by the server`);
          },
        },
      );
    });

  let eluMark: EventLoopUtilization = performance.eventLoopUtilization();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();

  const handlers = {
    async connect(): Promise<ConnectReply> {
      const t0 = performance.now();
      let next = 0;
      let connected = 0;
      let failed = 0;
      const firstErrors: string[] = [];
      const worker = async () => {
        while (next < subs.length) {
          const sub = next++;
          try {
            await subscribeOne(sub);
            connected++;
          } catch (err) {
            failed++;
            if (firstErrors.length < 3) firstErrors.push(err instanceof Error ? err.message : String(err));
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(init.connectConcurrency, subs.length) }, worker));
      return { connected, failed, ms: performance.now() - t0, firstErrors };
    },
    async collect(): Promise<CollectReply> {
      const reply = { keys: keys.slice(0, n), times: times.slice(0, n) };
      n = 0;
      return reply;
    },
    await(versions: number[], timeoutMs: number): Promise<AwaitReply> {
      const want = Int32Array.from(versions);
      const behindCount = () => {
        let behind = 0;
        subs.forEach((products, sub) => {
          const o = offsets[sub]!;
          products.forEach((p, j) => {
            if (last[o + j]! < want[p]!) behind++;
          });
        });
        return behind;
      };
      return new Promise((resolve) => {
        // Counting every (subscriber, product) pair is O(slots): do it at most every 20 ms.
        let scheduled: NodeJS.Timeout | undefined;
        const finish = (complete: boolean) => {
          clearTimeout(timer);
          clearTimeout(scheduled);
          onProgress = undefined;
          resolve({ complete, at: wall(), behind: complete ? 0 : behindCount() });
        };
        const check = () => {
          scheduled = undefined;
          if (behindCount() === 0) {
            clearTimeout(timer);
            onProgress = undefined;
            resolve({ complete: true, at: lastDeliveryAt, behind: 0 });
          }
        };
        const timer = setTimeout(() => finish(false), timeoutMs);
        onProgress = () => {
          scheduled ??= setTimeout(check, 20);
        };
        check();
      });
    },
    async stats(): Promise<StatsReply> {
      const now = performance.eventLoopUtilization();
      const elu = performance.eventLoopUtilization(now, eluMark).utilization;
      eluMark = now;
      const ns = 1e6;
      const reply = { elu, delayP50: delay.percentile(50) / ns, delayP99: delay.percentile(99) / ns, delayMax: delay.max / ns };
      delay.reset();
      return reply;
    },
    async check(versions: number[], stocks?: number[]): Promise<CheckReply> {
      let expected = 0;
      let got = 0;
      let missing = 0;
      let atFinal = 0;
      let wrongCounts = 0;
      subs.forEach((products, sub) => {
        const o = offsets[sub]!;
        let final = true;
        products.forEach((p, j) => {
          const slot = o + j;
          const atVersion = first[slot] !== -1 && last[slot]! >= versions[p]!;
          if (atVersion && stocks && lastStock[slot] !== stocks[p]) wrongCounts++;
          if (!atVersion || (stocks && lastStock[slot] !== stocks[p])) final = false;
          if (first[slot] === -1) {
            missing += 1; // never even got its snapshot
            return;
          }
          const exp = Math.max(0, versions[p]! - first[slot]!);
          expected += exp;
          got += received[slot]!;
          missing += Math.max(0, exp - received[slot]!);
        });
        if (final) atFinal++;
      });
      return {
        expected,
        received: got,
        missing,
        notIncreasing,
        noSnapshot,
        resyncs,
        errors,
        payloadErrors,
        unexpectedCloses,
        closeCodes,
        maxPerSecond,
        overRate: overRateSlots.size,
        errorSamples,
        atFinal,
        wrongCounts,
      };
    },
    async close(): Promise<{ closed: number }> {
      closing = true;
      await Promise.all(clients.map((c) => Promise.resolve(c.dispose()).catch(() => {})));
      delay.disable();
      return { closed: clients.length };
    },
  };

  parentPort!.on("message", async (msg: { id: number; req: Request }) => {
    const { id, req } = msg;
    try {
      let reply: unknown;
      switch (req.type) {
        case "connect":
          reply = await handlers.connect();
          break;
        case "collect": {
          const r = await handlers.collect();
          parentPort!.postMessage({ id, reply: r }, [r.keys.buffer as ArrayBuffer, r.times.buffer as ArrayBuffer]);
          return;
        }
        case "await":
          reply = await handlers.await(req.versions, req.timeoutMs);
          break;
        case "stats":
          reply = await handlers.stats();
          break;
        case "check":
          reply = await handlers.check(req.versions, req.stocks);
          break;
        case "close":
          reply = await handlers.close();
          break;
      }
      parentPort!.postMessage({ id, reply });
    } catch (err) {
      parentPort!.postMessage({ id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  });
  parentPort!.postMessage({ id: 0, reply: "ready" });
}

if (parentPort && workerData) run(workerData as WorkerInit);
