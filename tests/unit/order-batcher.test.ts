// The group-commit schedule (services/order-batcher.ts) against a fake driver
// that answers each statement when the test says so: when a batch goes out,
// not what the statement does (tests/api/group-commit*.test.ts run that on
// PostgreSQL).
import { describe, expect, it } from "vitest";
import type { Prisma } from "../../src/generated/prisma/client.js";
import type { RawQuery } from "../../src/db/raw-sql.js";
import { BackendUnavailableError, type BreakerState } from "../../src/observability/breakers.js";
import { OrderBatcher } from "../../src/services/order-batcher.js";

/** Each statement waits until answer(i) accepts every order of the i-th batch sent. */
function fakeDriver() {
  const sent: { keys: string[]; answer: () => void }[] = [];
  const sql: RawQuery = {
    query<T>(statement: Prisma.Sql) {
      // placeOrdersBatch's second parameter: the batch's idempotency keys, in order.
      const keys = statement.values[1] as string[];
      return new Promise<T[]>((resolve) => {
        const rows = keys.map((key, i) => ({ ord: i + 1, ok: true, existing_id: null, products: null, id: `order-${key}` }));
        sent.push({ keys, answer: () => resolve(rows as T[]) });
      });
    },
  };
  return { sql, sent };
}

const order = (key: string) => ({
  customerId: "00000000-0000-4000-8000-000000000001",
  idempotencyKey: key,
  lines: [{ productId: "00000000-0000-4000-8000-000000000002", quantity: 1 }],
});
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("OrderBatcher schedule", () => {
  it("sends an order from an idle batcher on the next turn of the event loop, with whatever arrived in this one", async () => {
    const { sql, sent } = fakeDriver();
    const batcher = new OrderBatcher(sql, 16, 1);
    const a = batcher.place(order("a"));
    const b = batcher.place(order("b"));
    expect(sent).toHaveLength(0);
    await turn();
    expect(sent.map((s) => s.keys)).toEqual([["a", "b"]]);
    sent[0]!.answer();
    expect((await a).order?.id).toBe("order-a");
    expect((await b).order?.id).toBe("order-b");
  });

  it("sends the batch that gathered behind a full pipeline before the returning batch's callers resume", async () => {
    const { sql, sent } = fakeDriver();
    const batcher = new OrderBatcher(sql, 16, 1);
    const first = batcher.place(order("a"));
    await turn();
    const second = [batcher.place(order("b")), batcher.place(order("c"))];
    await turn();
    expect(sent).toHaveLength(1); // one in flight at most: b and c wait

    // What a's caller sees when it resumes: how many statements had gone out by then.
    const seenByFirstCaller = first.then(() => sent.length);
    sent[0]!.answer();
    expect(await seenByFirstCaller).toBe(2);
    expect(sent[1]!.keys).toEqual(["b", "c"]);
    sent[1]!.answer();
    expect((await Promise.all(second)).map((r) => r.order?.id)).toEqual(["order-b", "order-c"]);
    expect(batcher.stats).toMatchObject({ batches: 2, batchedOrders: 3, inFlight: 0, waiting: 0 });
  });

  it("keeps at most maxInFlight batches out, and each later batch takes what gathered meanwhile", async () => {
    const { sql, sent } = fakeDriver();
    const batcher = new OrderBatcher(sql, 16, 2);
    const all = [batcher.place(order("a"))];
    await turn();
    all.push(batcher.place(order("b")));
    await turn();
    all.push(batcher.place(order("c")), batcher.place(order("d")));
    await turn();
    expect(sent.map((s) => s.keys)).toEqual([["a"], ["b"]]);
    expect(batcher.stats.inFlight).toBe(2);
    sent[1]!.answer(); // the second returns first: its slot goes to c and d
    await all[1];
    expect(sent.map((s) => s.keys)).toEqual([["a"], ["b"], ["c", "d"]]);
    sent[0]!.answer();
    sent[2]!.answer();
    expect((await Promise.all(all)).map((r) => r.order?.id)).toEqual(["order-a", "order-b", "order-c", "order-d"]);
  });
});

/** PostgreSQL's breaker as the test sets it; open() also tells the batcher, as a transition does. */
function fakeCircuit() {
  let state: BreakerState = "closed";
  const listeners: (() => void)[] = [];
  return {
    circuit: { state: () => state, onOpen: (l: () => void) => void listeners.push(l) },
    set(to: BreakerState) {
      state = to;
      if (to === "open") listeners.forEach((l) => l());
    },
  };
}

describe("OrderBatcher with PostgreSQL's breaker", () => {
  it("refuses at once an order that would wait behind batches still out while the breaker is not closed", async () => {
    const { sql, sent } = fakeDriver();
    const breaker = fakeCircuit();
    const batcher = new OrderBatcher(sql, 16, 1, breaker.circuit);
    const hung = batcher.place(order("a"));
    await turn();
    expect(sent).toHaveLength(1); // a's batch is out and does not come back
    for (const state of ["open", "half-open"] as const) {
      breaker.set(state);
      await expect(batcher.place(order(`b-${state}`))).rejects.toBeInstanceOf(BackendUnavailableError);
    }
    expect(batcher.stats).toMatchObject({ refused: 2, waiting: 0 });
    // Closed again: an order waits for the slot as usual, and goes out when a's batch is back.
    breaker.set("closed");
    const c = batcher.place(order("c"));
    sent[0]!.answer();
    expect((await hung).order?.id).toBe("order-a");
    await turn();
    expect(sent.map((s) => s.keys)).toEqual([["a"], ["c"]]);
    sent[1]!.answer();
    expect((await c).order?.id).toBe("order-c");
  });

  it("sends an order while a slot is free, whatever the breaker says (the pool's breaker refuses it, or it is the probe)", async () => {
    const { sql, sent } = fakeDriver();
    const breaker = fakeCircuit();
    breaker.set("half-open");
    const batcher = new OrderBatcher(sql, 16, 1, breaker.circuit);
    const a = batcher.place(order("a"));
    await turn();
    expect(sent.map((s) => s.keys)).toEqual([["a"]]);
    sent[0]!.answer();
    expect((await a).order?.id).toBe("order-a");
  });

  it("refuses the orders waiting when the breaker opens, and never sends them", async () => {
    const { sql, sent } = fakeDriver();
    const breaker = fakeCircuit();
    const batcher = new OrderBatcher(sql, 16, 1, breaker.circuit);
    const hung = batcher.place(order("a"));
    await turn();
    const waiting = [batcher.place(order("b")), batcher.place(order("c"))];
    await turn();
    breaker.set("open");
    for (const w of waiting) await expect(w).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(batcher.stats.refused).toBe(2);
    breaker.set("closed");
    const d = batcher.place(order("d"));
    sent[0]!.answer();
    await hung;
    await turn();
    // b and c's batch is dispatched with nothing left in it: only d goes out.
    sent.at(-1)!.answer();
    expect((await d).order?.id).toBe("order-d");
    expect(sent.map((s) => s.keys)).toEqual([["a"], ["d"]]);
  });
});
