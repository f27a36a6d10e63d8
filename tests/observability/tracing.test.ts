// One trace from placeOrder to the socket, on real PostgreSQL, Redis and
// Kafka: the API, the outbox relay and the bridge run as three Stockwire
// instances in this process (startProcess, what main.ts runs), sharing one
// tracer provider whose spans go to an InMemorySpanExporter.
//
// Tracing starts exactly as in main.ts (startTracing, then the process is
// imported): the pg, ioredis and kafkajs spans below exist only if the ESM
// hooks caught those modules as they loaded. So nothing that imports them is
// a static import of this file.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { loadConfig } from "../../src/config/config.js";
import { startTracing, type Tracing } from "../../src/observability/tracing.js";

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let support: typeof import("../support/stockwire.js");
let database: import("../support/database.js").TestDatabase;
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  const config = loadConfig({ OTEL_TRACES_EXPORTER: "otlp" });
  if (!config.tracing.enabled) throw new Error("OTEL_TRACES_EXPORTER=otlp should switch tracing on");
  tracing = startTracing(config.tracing, { exporter });
  support = await import("../support/stockwire.js");
  database = await (await import("../support/database.js")).createTestDatabase();
});
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await database?.drop();
  await tracing?.shutdown();
});

const spans = () => exporter.getFinishedSpans();
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const inTrace = (traceId: string) => spans().filter((s) => s.spanContext().traceId === traceId);

describe("tracing", { timeout: 120_000 }, () => {
  it("follows a placed order through the relay and the bridge to the delivery to a websocket subscriber", async () => {
    const { kafkaBrokers, redisUrl } = await import("../support/services.js");
    const { expectTypename } = await import("../support/shop.js");
    const { eventually, shopAt, startInstance, stockwireEnv, streamNames, subscribeStock } = support;
    const backends = { databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() };
    const names = streamNames("tracing");
    const env = (role: "api" | "relay" | "bridge") => ({ ...stockwireEnv(backends, names, [role]), OTEL_TRACES_EXPORTER: "otlp" });
    const api = await startInstance(env("api"));
    stops.push(() => api.stop());
    const relay = await startInstance(env("relay"));
    stops.push(() => relay.stop());
    const bridge = await startInstance(env("bridge"));
    stops.push(() => bridge.stop());

    const shop = await shopAt(api.url);
    const product = await shop.createProduct({ stock: 10 });
    const customer = await shop.createCustomer();
    const sub = subscribeStock(api.url, customer.token, [product.id]);
    stops.push(() => sub.close());
    await sub.waitFor("the current stock", (e) => e.reason === "CURRENT");

    expectTypename(await shop.placeOrder(customer.token, [{ productId: product.id, quantity: 3 }]), "PlaceOrderSuccess");
    await sub.waitFor("the order's stock change", (e) => e.reason === "ORDER_PLACED" && e.available === 7);

    // The GraphQL operation (@envelop/opentelemetry), inside the HTTP request's span.
    const mutation = spans().find((s) => s.name === "mutation.PlaceOrder")!;
    expect(mutation, `spans: ${spans().map((s) => s.name)}`).toBeDefined();
    const traceId = mutation.spanContext().traceId;
    // Spans are exported as they end: the relay's ends when Kafka acknowledged, which may come after the delivery.
    const ends = ["deliver stockChanged", `publish ${names.KAFKA_TOPIC_STOCK}`, `bridge ${names.KAFKA_TOPIC_STOCK}`];
    await eventually("the delivery's, relay's and bridge's spans in the order's trace", async () =>
      ends.every((name) => inTrace(traceId).some((s) => s.name === name)),
    );
    const deliver = inTrace(traceId).find((s) => s.name === "deliver stockChanged")!;
    const trace = inTrace(traceId);
    const named = (name: string) => trace.filter((s) => s.name === name);
    const http = trace.find((s) => s.spanContext().spanId === parentOf(mutation));
    expect(http?.attributes["http.route"] ?? http?.name).toMatch(/POST|graphql/);

    // Outbox -> Kafka: the relay's span for this change is a child of the mutation (context stored with the outbox row).
    const published = named(`publish ${names.KAFKA_TOPIC_STOCK}`);
    expect(published).toHaveLength(1);
    expect(parentOf(published[0]!)).toBe(mutation.spanContext().spanId);
    // Kafka -> Redis: the bridge continues it from the message headers; the Redis PUBLISH (ioredis) under it.
    const bridged = named(`bridge ${names.KAFKA_TOPIC_STOCK}`);
    expect(bridged).toHaveLength(1);
    expect(parentOf(bridged[0]!)).toBe(published[0]!.spanContext().spanId);
    const redisPublish = trace.find((s) => parentOf(s) === bridged[0]!.spanContext().spanId && /publish/i.test(s.name));
    expect(redisPublish?.instrumentationScope.name).toBe("@opentelemetry/instrumentation-ioredis");
    // Redis -> socket: the fan-out continues it from the payload, one span for the frames it wrote (here one).
    expect(parentOf(deliver)).toBe(bridged[0]!.spanContext().spanId);
    expect(deliver.attributes["stockwire.live.deliveries"]).toBe(1);

    // kafkajs' consumer instrumentation: its "process" span (ended once the batch's offsets are committed) links to the relay's.
    // @platformatic/kafka (the default client) has no instrumentation: the chain above is the whole trace there.
    if (support.testKafkaClient() === "kafkajs") {
      const relaySpanId = published[0]!.spanContext().spanId;
      await eventually("kafkajs' process span linking the relay's", async () =>
        spans().some((s) => s.name === `process ${names.KAFKA_TOPIC_STOCK}` && s.links.some((l) => l.context.spanId === relaySpanId)),
      );
    }

    // The group-commit batch that wrote the order: a span of its own linking the order, with the pg query under it.
    const batch = spans().find((s) => s.name === "placeOrders batch" && s.links.some((l) => l.context.traceId === traceId))!;
    expect(batch).toBeDefined();
    const sql = spans().filter(
      (s) => parentOf(s) === batch.spanContext().spanId && s.instrumentationScope.name.endsWith("instrumentation-pg"),
    );
    expect(sql.map((s) => s.name)).toContain(`pg.query:place-orders ${database.name}`);
  });
  it("stores the request's trace context with a hold's stock events and with the order that takes the hold", async () => {
    const { kafkaBrokers, redisUrl } = await import("../support/services.js");
    const { expectTypename, rowId } = await import("../support/shop.js");
    const { holdClient } = await import("../support/holds.js");
    const pg = (await import("pg")).default;
    const { shopAt, startInstance, stockwireEnv, streamNames } = support;
    const backends = { databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() };
    const api = await startInstance({ ...stockwireEnv(backends, streamNames("tracing-holds"), ["api"]), OTEL_TRACES_EXPORTER: "otlp" });
    stops.push(() => api.stop());
    const shop = await shopAt(api.url);
    const holds = holdClient(shop.gql);
    const product = await shop.createProduct({ stock: 5 });
    const customer = await shop.createCustomer();

    const traceOf = (operation: string) =>
      spans()
        .filter((s) => s.name === `mutation.${operation}`)
        .at(-1)!
        .spanContext().traceId;
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    stops.push(() => client.end());
    const traceparentOf = async (reason: string) => {
      const { rows } = await client.query<{ traceparent: string | null }>(
        `SELECT trace_context->>'traceparent' AS traceparent FROM outbox_event WHERE key = $1 AND payload->>'reason' = $2`,
        [rowId(product.id), reason],
      );
      expect(rows).toHaveLength(1);
      return rows[0]!.traceparent;
    };

    const hold = expectTypename(await holds.reserve(customer.token, [{ productId: product.id, quantity: 2 }]), "ReserveStockSuccess");
    expect(await traceparentOf("HOLD_PLACED")).toContain(traceOf("ReserveStock"));
    expectTypename(await holds.orderHold(customer.token, hold.hold.id), "PlaceOrderSuccess");
    expect(await traceparentOf("HOLD_CONSUMED")).toContain(traceOf("OrderHold"));
    const other = expectTypename(await holds.reserve(customer.token, [{ productId: product.id, quantity: 1 }]), "ReserveStockSuccess");
    expectTypename(await holds.release(customer.token, other.hold.id), "ReleaseHoldSuccess");
    expect(await traceparentOf("HOLD_RELEASED")).toContain(traceOf("ReleaseHold"));
  });
});
