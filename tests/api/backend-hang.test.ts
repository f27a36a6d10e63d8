// A PostgreSQL that hangs (paused, partitioned: connections open, no answer) is
// worse than one that is down: without bounds every request waits for it.
// Here the app reaches the shared PostgreSQL through a TCP proxy this test
// pauses (bytes held, nothing closed) and resumes. Checked: a request is
// answered SERVICE_UNAVAILABLE at REQUEST_DEADLINE_MS; an order whose statement
// was sent says its outcome is UNKNOWN and a retry with its key yields exactly
// one order, whether it committed or not; an order still in the group-commit
// batcher at its deadline is NOT_APPLIED and never sent; the breaker goes
// closed -> open -> half-open -> closed, as /metrics and /ready show.
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase, sqlPool, type TestDatabase } from "../support/database.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { JWT_SECRET, expectTypename, rowId, shop, type Shop } from "../support/shop.js";
import { tcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { parseMetrics } from "../support/metrics.js";

interface Hangable extends TestApp, Shop {
  proxy: TcpProxy;
  sql: pg.Pool;
  close(): Promise<void>;
}

const opened: Hangable[] = [];
afterAll(async () => {
  for (const h of opened) await h.close().catch(() => {});
});

/** The app on a database of its own, reached through a proxy the test can pause. */
async function hangable(env: Record<string, string>): Promise<Hangable> {
  const database: TestDatabase = await createTestDatabase();
  const target = new URL(database.url);
  const proxy = await tcpProxy(target);
  const via = new URL(database.url);
  via.host = new URL(proxy.url).host;
  // No hold sweeps: their statements would wait on the paused database beside the test's own.
  const t = await startTestApp({ DATABASE_URL: via.href, JWT_SECRET, HOLD_SWEEP_INTERVAL_MS: "0", ...env });
  const sql = sqlPool(database.url);
  const h: Hangable = {
    ...t,
    ...(await shop(t.gql)),
    proxy,
    sql,
    async close() {
      proxy.resume();
      await t.close();
      await proxy.close();
      await sql.end();
      await database.drop();
    },
  };
  opened.push(h);
  return h;
}

type Errors = { errors?: { message: string; extensions: Record<string, unknown> }[]; data?: Record<string, unknown> };

/** POST /graphql; the status, Retry-After, the parsed body and how long the answer took. */
async function post(h: Hangable, query: string, variables?: Record<string, unknown>, token?: string) {
  const started = performance.now();
  const res = await h.fetch("/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json",
      ...(token && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Errors;
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body, ms: performance.now() - started };
}

const PRODUCTS = "{ products(first: 2) { edges { node { id } } } }";
const PLACE = `mutation ($input: PlaceOrderInput!) {
  placeOrder(input: $input) { __typename ... on PlaceOrderSuccess { order { id } } }
}`;
const place = (h: Hangable, token: string, productId: string, idempotencyKey: string) =>
  post(h, PLACE, { input: { items: [{ productId, quantity: 1 }], idempotencyKey } }, token);

/**
 * A first order of the product by the customer, before the pause: the price book then knows both (their
 * prices and group are read on a first order), so the next order's first round trip is its statement.
 */
async function warm(h: Hangable, token: string, productId: string) {
  const r = await place(h, token, productId, `warm-${productId}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

const ordersWithKey = async (h: Hangable, key: string) =>
  Number((await h.sql.query(`SELECT count(*) FROM "order" WHERE idempotency_key = $1`, [key])).rows[0].count);

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Generous: the machine running the suite is loaded; the point is "at the deadline, not at the backend's leisure".
const MARGIN_MS = 3_000;
const DEADLINE_MS = 2_000;

describe("with PostgreSQL hanging", () => {
  // Failures never open the breaker here (its own test is below); neither statements nor connecting (an
  // order's batch may need a new connection, whose handshake the pause holds) are cut short by the client.
  const env = {
    REQUEST_DEADLINE_MS: String(DEADLINE_MS),
    BREAKER_FAILURES: "1000",
    DATABASE_STATEMENT_TIMEOUT_MS: "60000",
    DATABASE_CONNECT_TIMEOUT_MS: "60000",
    ORDER_BATCH_IN_FLIGHT: "1",
  };

  it("a query is answered 503 SERVICE_UNAVAILABLE with Retry-After, naming the database, at REQUEST_DEADLINE_MS", async () => {
    const h = await hangable(env);
    // A cold first request on a loaded machine may itself take a while: wait for a warm one.
    await until("a first answer", async () => (await post(h, PRODUCTS)).status === 200);
    h.proxy.pause();
    try {
      const r = await post(h, PRODUCTS);
      expect(r.status, JSON.stringify(r.body)).toBe(503);
      expect(r.retryAfter).toBe("1");
      expect(r.body.errors![0]!.extensions).toEqual({ code: "SERVICE_UNAVAILABLE", service: "database", reason: "DEADLINE_EXCEEDED" });
      expect(r.body.errors![0]!.message).toMatch(/database did not answer in time/);
      expect(r.ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
      expect(r.ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    } finally {
      h.proxy.resume();
    }
    await until("an answer after the resume", async () => (await post(h, PRODUCTS)).status === 200);
  });

  it("an order sent and unanswered is UNKNOWN; it committed, and the retry with its key returns that one order", async () => {
    const h = await hangable(env);
    const customer = await h.createCustomer();
    const product = await h.createProduct({ stock: 10 });
    await warm(h, customer.token, product.id);
    h.proxy.pause();
    const first = await place(h, customer.token, product.id, "unknown-committed").finally(() => h.proxy.resume());
    expect(first.status, JSON.stringify(first.body)).toBe(503);
    expect(first.body.errors![0]!.extensions).toMatchObject({ code: "SERVICE_UNAVAILABLE", service: "database", outcome: "UNKNOWN" });
    expect(first.body.errors![0]!.message).toMatch(/retry with the same idempotency key/);
    expect(first.ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    // The statement the proxy held reaches PostgreSQL now and commits.
    await until("the held order to commit", async () => (await ordersWithKey(h, "unknown-committed")) === 1);
    const retry = await place(h, customer.token, product.id, "unknown-committed");
    const placed = retry.body.data!.placeOrder as { __typename: string; order?: { id: string } };
    expectTypename(placed, "PlaceOrderSuccess");
    const [row] = (await h.sql.query(`SELECT id FROM "order" WHERE idempotency_key = 'unknown-committed'`)).rows;
    expect(rowId(placed.order!.id)).toBe(row.id);
    expect(await ordersWithKey(h, "unknown-committed")).toBe(1);
    expect((await h.stockOf(product.id)).stock).toBe(8); // the warm-up's and this one
  });

  it("an order sent and unanswered is UNKNOWN; it never arrived, and the retry with its key places it, once", async () => {
    const h = await hangable(env);
    const customer = await h.createCustomer();
    const product = await h.createProduct({ stock: 10 });
    await warm(h, customer.token, product.id);
    h.proxy.pause();
    const first = await place(h, customer.token, product.id, "unknown-lost");
    expect(first.status, JSON.stringify(first.body)).toBe(503);
    expect(first.body.errors![0]!.extensions).toMatchObject({ outcome: "UNKNOWN" });
    // The held statement is lost with its connection: it never reached PostgreSQL.
    h.proxy.cut();
    h.proxy.resume();
    h.proxy.restore();
    expect(await ordersWithKey(h, "unknown-lost")).toBe(0);
    const retry = await place(h, customer.token, product.id, "unknown-lost");
    expectTypename(retry.body.data!.placeOrder as { __typename: string }, "PlaceOrderSuccess");
    expect(await ordersWithKey(h, "unknown-lost")).toBe(1);
    expect((await h.stockOf(product.id)).stock).toBe(8); // the warm-up's and this one
  });

  it("an order still waiting in the group-commit batcher at its deadline is NOT_APPLIED, and is never sent", async () => {
    const h = await hangable(env);
    const customer = await h.createCustomer();
    const product = await h.createProduct({ stock: 10 });
    await warm(h, customer.token, product.id);
    h.proxy.pause();
    // One batch in flight (ORDER_BATCH_IN_FLIGHT=1): the first order's holds it, the second waits behind it.
    const sent = place(h, customer.token, product.id, "in-flight");
    await until("the first batch to go out", () => h.app.services.orders.stats.inFlight === 1);
    const waiting = await place(h, customer.token, product.id, "queued");
    const first = await sent;
    expect(first.body.errors![0]!.extensions).toMatchObject({ code: "SERVICE_UNAVAILABLE", outcome: "UNKNOWN" });
    expect(waiting.status, JSON.stringify(waiting.body)).toBe(503);
    expect(waiting.body.errors![0]!.extensions).toMatchObject({ code: "SERVICE_UNAVAILABLE", outcome: "NOT_APPLIED" });
    expect(waiting.ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    h.proxy.resume();
    // The first commits; the second's batch then leaves it out.
    await until("the queued order to be dropped", () => h.app.services.orders.stats.expired === 1);
    expect(await ordersWithKey(h, "in-flight")).toBe(1);
    expect(await ordersWithKey(h, "queued")).toBe(0);
    const retry = await place(h, customer.token, product.id, "queued");
    expectTypename(retry.body.data!.placeOrder as { __typename: string }, "PlaceOrderSuccess");
    expect(await ordersWithKey(h, "queued")).toBe(1);
    expect((await h.stockOf(product.id)).stock).toBe(7); // the warm-up's and these two
  });
});

describe("the PostgreSQL circuit breaker", () => {
  it("opens after consecutive timeouts, refuses at once while open, probes half-open and closes on success: on /metrics and /ready", async () => {
    const deadline = 4_000;
    const h = await hangable({
      REQUEST_DEADLINE_MS: String(deadline),
      // The probe may need a new connection: its handshake waits for the resume below.
      DATABASE_CONNECT_TIMEOUT_MS: "20000",
      BREAKER_FAILURES: "2",
      BREAKER_HALF_OPEN_AFTER_MS: "1000",
      DATABASE_STATEMENT_TIMEOUT_MS: "60000",
    });
    const metrics = async () => parseMetrics(await (await h.fetch("/metrics")).text());
    const ready = async () => {
      const res = await h.fetch("/ready");
      return { status: res.status, body: (await res.json()) as { breakers?: Record<string, string> } };
    };
    const state = async () => (await metrics()).value("stockwire_breaker_state", { backend: "postgres" });
    const transitions = async (to: string) => (await metrics()).value("stockwire_breaker_transitions_total", { backend: "postgres", to });

    expect(await state()).toBe(0);
    expect((await ready()).body.breakers).toMatchObject({ postgres: "closed" });

    h.proxy.pause();
    // Two requests that run out of time: two failures in a row open it.
    const timedOut = await Promise.all([post(h, PRODUCTS), post(h, PRODUCTS)]);
    for (const r of timedOut) expect(r.body.errors![0]!.extensions).toMatchObject({ reason: "DEADLINE_EXCEEDED" });
    expect(await state()).toBe(2);
    expect(await transitions("open")).toBe(1);
    const whileOpen = await ready();
    expect(whileOpen.status).toBe(503);
    expect(whileOpen.body.breakers).toMatchObject({ postgres: "open" });

    // Refused without waiting for the database (nor for the deadline).
    const refused = await post(h, PRODUCTS);
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe("1");
    expect(refused.body.errors![0]!.extensions).toEqual({
      code: "SERVICE_UNAVAILABLE",
      service: "database",
      reason: "CIRCUIT_OPEN",
      outcome: "NOT_APPLIED",
    });
    expect(refused.ms).toBeLessThan(deadline);

    // After BREAKER_HALF_OPEN_AFTER_MS one call probes; while it waits, the breaker is half-open.
    await new Promise((r) => setTimeout(r, 1_200));
    const probe = post(h, PRODUCTS);
    await until("the breaker to be half-open", async () => (await state()) === 1);
    expect((await ready()).body.breakers).toMatchObject({ postgres: "half-open" });
    expect(await transitions("half-open")).toBe(1);

    // PostgreSQL answers again: the probe succeeds and closes the breaker.
    h.proxy.resume();
    expect((await probe).status).toBe(200);
    expect(await state()).toBe(0);
    expect(await transitions("closed")).toBe(1);
    const after = await ready();
    expect(after.status).toBe(200);
    expect(after.body.breakers).toMatchObject({ postgres: "closed" });
    expect((await post(h, PRODUCTS)).status).toBe(200);
  });
});
