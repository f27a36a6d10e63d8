// The load of a chaos run: ~20 placeOrder/s and a few reserveStock/s, each
// with its own idempotency key, sent on a fixed schedule whatever the answers
// (an open-loop client, as shoppers are: a hung backend makes requests pile
// up rather than slowing the load). Every request is kept with when it went
// out, how long it waited and what came back, for the per-fault rows.
import { jsonClient, type JsonClient } from "../lib/http.js";

export interface Sample {
  kind: "order" | "hold";
  key: string;
  customer: number;
  product: string;
  /** Wall ms when it was sent. */
  startedAt: number;
  ms: number;
  /** "ok", "InsufficientStockError", an error code (SERVICE_UNAVAILABLE, HTTP_502, ECONNREFUSED, CLIENT_TIMEOUT, ...). */
  result: string;
  /** SERVICE_UNAVAILABLE's extensions.reason: CIRCUIT_OPEN (the breaker refused it) or DEADLINE_EXCEEDED. */
  reason?: string;
  /** The order's global id, for an answered order. */
  orderId?: string;
}

export interface LoadOptions {
  /** Base URLs: one (the balancer) or several, taken in turn. */
  targets: string[];
  customers: string[];
  products: string[];
  ordersPerSecond: number;
  holdsPerSecond: number;
  keyPrefix: string;
  /** A request not answered after this long is given up (its key is still retried at the end). */
  clientTimeoutMs: number;
}

export const PLACE_ORDER = `mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) { __typename ... on PlaceOrderSuccess { order { id } } ... on Error { message } }
}`;
const RESERVE_STOCK = `mutation ReserveStock($input: ReserveStockInput!) {
  reserveStock(input: $input) { __typename ... on Error { message } }
}`;

export interface Load {
  samples: Sample[];
  /** Stops sending; resolves once every request sent is answered or given up. */
  stop(): Promise<void>;
  clients: JsonClient[];
}

export function startLoad(opts: LoadOptions): Load {
  const clients = opts.targets.map((t) => jsonClient(t, 64, { retryReusedSocketReset: true }));
  const samples: Sample[] = [];
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  let next = 0;
  const send = (kind: Sample["kind"]) => {
    const i = n++;
    const customer = i % opts.customers.length;
    const product = opts.products[Math.floor(Math.random() * opts.products.length)]!;
    const key = `${opts.keyPrefix}-${kind}-${i}`;
    const client = clients[next++ % clients.length]!;
    const p = request(client, opts, kind, key, customer, product).then((s) => void samples.push(s));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  const holdEvery = opts.holdsPerSecond > 0 ? Math.round(opts.ordersPerSecond / opts.holdsPerSecond) : Infinity;
  let ticks = 0;
  const timer = setInterval(() => {
    send("order");
    if (++ticks % holdEvery === 0) send("hold");
  }, 1000 / opts.ordersPerSecond);
  return {
    samples,
    clients,
    async stop() {
      clearInterval(timer);
      while (inFlight.size) await Promise.all([...inFlight]);
    },
  };
}

/** One request, answered or not: never rejects. */
export async function request(
  client: JsonClient,
  opts: Pick<LoadOptions, "customers" | "clientTimeoutMs">,
  kind: Sample["kind"],
  key: string,
  customer: number,
  product: string,
): Promise<Sample> {
  const startedAt = Date.now();
  const input = { idempotencyKey: key, items: [{ productId: product, quantity: 1 }], ...(kind === "hold" ? { ttlSeconds: 60 } : {}) };
  const body = JSON.stringify({ query: kind === "order" ? PLACE_ORDER : RESERVE_STOCK, variables: { input } });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error("no answer"), { code: "CLIENT_TIMEOUT" })), opts.clientTimeoutMs);
  });
  const base = { kind, key, customer, product, startedAt };
  try {
    const { status, json } = await Promise.race([client.post("/graphql", body, { authorization: opts.customers[customer]! }), timeout]);
    return { ...base, ms: Date.now() - startedAt, ...classify(status, json) };
  } catch (err) {
    // A 502/503 from the balancer is HTML, not JSON: jsonClient says "HTTP <status>: not JSON".
    const http = /^HTTP (\d+)/.exec((err as Error).message)?.[1];
    const result = (err as NodeJS.ErrnoException).code ?? (http ? `HTTP_${http}` : "CLIENT_ERROR");
    return { ...base, ms: Date.now() - startedAt, result };
  } finally {
    clearTimeout(timer);
  }
}

type Answer = {
  data?: Record<string, { __typename: string; order?: { id: string } } | null>;
  errors?: { message: string; extensions?: { code?: string; reason?: string } }[];
};

function classify(status: number, json: unknown): { result: string; reason?: string; orderId?: string } {
  const res = json as Answer;
  const error = res.errors?.[0]?.extensions;
  if (res.errors?.length) return { result: error?.code ?? `HTTP_${status}`, ...(error?.reason && { reason: error.reason }) };
  const payload = res.data?.placeOrder ?? res.data?.reserveStock;
  if (!payload) return { result: `HTTP_${status}` };
  if (payload.__typename === "PlaceOrderSuccess" || payload.__typename === "ReserveStockSuccess")
    return { result: "ok", orderId: payload.order?.id };
  return { result: payload.__typename };
}

/** What counts as a full success (a refusal for want of stock is an answer, not a failure). */
export const succeeded = (s: Sample) => s.result === "ok" || s.result === "InsufficientStockError";
