// One burst: every order sent at the same moment, as a sale's start sends
// them; the client (an HTTP agent with --connections sockets, or a pg pool)
// queues what it cannot send yet, as a load balancer in front would. Each
// answer's time is counted from that moment: what the customer waited.
import { performance } from "node:perf_hooks";
import { percentiles, type Percentiles } from "../lib/stats.js";
import type { Outcome } from "../lib/load.js";
import type { JsonClient } from "../lib/http.js";

export type BurstOp = (i: number) => Promise<Outcome | { outcome: Outcome; detail?: string }>;

export interface BurstResult {
  orders: number;
  ok: number;
  refused: number;
  errors: number;
  errorSamples: Record<string, number>;
  /** Wall clock (ms since the epoch, performance.timeOrigin-based) when the burst went out. */
  startedAt: number;
  /** From the start to the last answer. */
  durationMs: number;
  /** Per answer, from the burst's start. */
  answers: Percentiles;
  /** The refusals alone, and the wins alone. */
  refusals: Percentiles;
  wins: Percentiles;
  /** Wall clock of the last answer, and of the last win. */
  lastAnswerAt: number;
  lastWinAt: number;
}

export const wall = () => performance.timeOrigin + performance.now();

export async function burst(orders: number, op: BurstOp): Promise<BurstResult> {
  const outcome = new Array<Outcome>(orders);
  const at = new Float64Array(orders);
  const errorSamples: Record<string, number> = {};
  const startedAt = wall();
  await Promise.all(
    Array.from({ length: orders }, (_, i) =>
      op(i)
        .catch((err: unknown) => ({ outcome: "error" as const, detail: err instanceof Error ? err.message : String(err) }))
        .then((r) => {
          at[i] = wall() - startedAt;
          const o = typeof r === "string" ? r : r.outcome;
          outcome[i] = o;
          if (o === "error") {
            const d = (typeof r === "string" ? undefined : r.detail) ?? "error";
            if (Object.keys(errorSamples).length < 5 || errorSamples[d]) errorSamples[d] = (errorSamples[d] ?? 0) + 1;
          }
        }),
    ),
  );
  const of = (o: Outcome) => at.filter((_, i) => outcome[i] === o);
  const wins = of("ok");
  const durationMs = Math.max(0, ...at);
  return {
    orders,
    ok: wins.length,
    refused: outcome.filter((o) => o === "refused").length,
    errors: outcome.filter((o) => o === "error").length,
    errorSamples,
    startedAt,
    durationMs,
    answers: percentiles(at),
    refusals: percentiles(of("refused")),
    wins: percentiles(wins),
    lastAnswerAt: startedAt + durationMs,
    lastWinAt: startedAt + (wins.length ? Math.max(...wins) : NaN),
  };
}

const PLACE_ORDER = `mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) { __typename ... on PlaceOrderSuccess { order { id } } ... on Error { message } }
}`;

/** placeOrder of one unit of productGid by customer i (one customer per order), a fresh idempotency key each. */
export function apiOrder(http: JsonClient, customers: string[], productGid: string, keyPrefix: string): BurstOp {
  return async (i) => {
    const body = JSON.stringify({
      query: PLACE_ORDER,
      variables: { input: { idempotencyKey: `${keyPrefix}-${i}`, items: [{ productId: productGid, quantity: 1 }] } },
    });
    const { status, json } = await http.post("/graphql", body, { authorization: customers[i % customers.length]! });
    const res = json as { data?: { placeOrder?: { __typename: string; message?: string } }; errors?: { message: string }[] };
    if (res.errors?.length) return { outcome: "error", detail: `HTTP ${status}: ${res.errors[0]!.message}` };
    const typename = res.data?.placeOrder?.__typename;
    if (typename === "PlaceOrderSuccess") return "ok";
    if (typename === "InsufficientStockError") return "refused";
    return { outcome: "error", detail: `HTTP ${status}: ${typename ?? "no data"}: ${res.data?.placeOrder?.message ?? ""}` };
  };
}

/** `connections` requests at once, so the agent holds that many open sockets when the burst starts (a load balancer's). */
export async function openConnections(http: JsonClient, connections: number): Promise<void> {
  const body = JSON.stringify({ query: "{ __typename }" });
  await Promise.all(Array.from({ length: connections }, () => http.post("/graphql", body)));
}
