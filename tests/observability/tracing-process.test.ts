// Tracing as an operator switches it on: the real process (`node --import tsx src/main.ts`,
// all roles, so the relay and bridge run on the pipeline thread) on real
// PostgreSQL, Redis and Kafka, configured only by OTEL_* variables, exporting
// OTLP/HTTP JSON to a receiver this test runs. Main thread and pipeline thread
// each export their own spans; one trace still runs from placeOrder to the
// socket. And with OTEL_TRACES_EXPORTER=none nothing is exported even with an
// endpoint set, and the outbox stores no trace context.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import { expectTypename } from "../support/shop.js";
import { eventually, shopAt, startRoleProcess, stockwireEnv, streamNames, subscribeStock, type RoleProcess } from "../support/stockwire.js";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

// The OTLP/HTTP JSON receiver: every span of every export request, and how many requests came.
const received: { requests: number; spans: OtlpSpan[] } = { requests: 0, spans: [] };
let receiver: Server;
let endpoint: string;
let database: TestDatabase;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces") return res.writeHead(404).end();
      received.requests++;
      const json = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const r of json.resourceSpans) for (const s of r.scopeSpans) received.spans.push(...s.spans);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  database = await createTestDatabase();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  received.requests = 0;
  received.spans = [];
});
afterAll(async () => {
  await database?.drop();
  await new Promise((resolve) => receiver?.close(resolve));
});

const backends = () => ({ databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() });

/** SIGTERM (the process flushes its spans as it stops), then its exit. */
async function stop(proc: RoleProcess): Promise<void> {
  const exited = new Promise((resolve) => proc.child.once("exit", resolve));
  if (proc.child.exitCode === null) proc.child.kill("SIGTERM");
  await exited;
}

/** A placed order's stock change, through relay and bridge (on the pipeline thread) to a websocket subscriber. */
async function orderToSocket(proc: RoleProcess) {
  expect(proc.output()).toMatch(/^stockwire: pipeline\s+relay and bridge on a worker thread of their own \(heap limit \d+ MiB/m);
  const url = /GraphiQL\s+(http:\/\/\S+)\/graphql/.exec(proc.output())![1]!;
  const shop = await shopAt(url);
  const product = await shop.createProduct({ stock: 5 });
  const customer = await shop.createCustomer();
  const sub = subscribeStock(url, customer.token, [product.id]);
  cleanups.push(() => sub.close());
  await sub.waitFor("the current stock", (e) => e.reason === "CURRENT");
  expectTypename(await shop.placeOrder(customer.token, [{ productId: product.id, quantity: 2 }]), "PlaceOrderSuccess");
  await sub.waitFor("the order's stock change", (e) => e.reason === "ORDER_PLACED" && e.available === 3);
}

// Each test starts the real process with all roles (tsx, two threads): on a busy machine that alone can take a minute.
describe("tracing in the real process", { timeout: 180_000 }, () => {
  it("is switched on by OTEL_EXPORTER_OTLP_ENDPOINT and exports one trace from placeOrder to the socket across threads", async () => {
    const names = streamNames("tracing-on");
    const env = {
      ...stockwireEnv(backends(), names, ["api", "relay", "bridge"]),
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      // The standard batch processor delay, short so the spans arrive while the test waits.
      OTEL_BSP_SCHEDULE_DELAY: "100",
    };
    const proc = await startRoleProcess(env, "all");
    cleanups.push(() => proc.kill());
    expect(proc.output()).toMatch(/^stockwire: tracing\s/m);
    await orderToSocket(proc);

    const mutation = await eventually("the PlaceOrder span", async () => received.spans.find((s) => s.name === "mutation.PlaceOrder"));
    const trace = () => received.spans.filter((s) => s.traceId === mutation.traceId);
    const one = (name: string) => trace().find((s) => s.name === name);
    // publish (relay) and bridge come from the pipeline thread's exporter, deliver from the main thread's: each
    // thread exports on its own schedule.
    const [publish, bridge, deliver] = await eventually("the relay's, bridge's and delivery's spans in the trace", async () => {
      const found = [`publish ${names.KAFKA_TOPIC_STOCK}`, `bridge ${names.KAFKA_TOPIC_STOCK}`, "deliver stockChanged"].map(one);
      return found.every(Boolean) && (found as OtlpSpan[]);
    });
    expect(publish!.parentSpanId).toBe(mutation.spanId);
    expect(bridge!.parentSpanId).toBe(publish!.spanId);
    expect(deliver!.parentSpanId).toBe(bridge!.spanId);
    await stop(proc);
  });

  it("exports nothing and stores no trace context with OTEL_TRACES_EXPORTER=none, even with an endpoint", async () => {
    const names = streamNames("tracing-none");
    // A database of its own: the outbox rows below are this test's only.
    const own = await createTestDatabase();
    cleanups.push(() => own.drop());
    const env = {
      ...stockwireEnv({ ...backends(), databaseUrl: own.url }, names, ["api", "relay", "bridge"]),
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_TRACES_EXPORTER: "none",
      OTEL_BSP_SCHEDULE_DELAY: "100",
    };
    const proc = await startRoleProcess(env, "all");
    cleanups.push(() => proc.kill());
    expect(proc.output()).not.toMatch(/^stockwire: tracing\s/m);
    await orderToSocket(proc);
    await stop(proc);

    // The change went the whole way without a trace: none stored with its outbox rows, none exported (the process
    // has stopped, so nothing is still buffered).
    const client = new pg.Client({ connectionString: own.url });
    await client.connect();
    cleanups.push(() => client.end());
    const { rows } = await client.query<{ rows: number; traced: number }>(
      "SELECT count(*)::int AS rows, count(trace_context)::int AS traced FROM outbox_event WHERE topic = 'stock-changed'",
    );
    expect(rows[0]!.rows).toBeGreaterThan(0);
    expect(rows[0]!.traced).toBe(0);
    expect(received.requests).toBe(0);
  });
});
