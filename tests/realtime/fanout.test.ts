// The shared stockChanged fan-out on a real instance (PostgreSQL, Kafka,
// Redis): one execution per operation shape per change however many
// subscribe, maxUpdatesPerSecond, a reader that stops reading closed on its
// own without holding up the others, and the WebSocket limits.
import http from "node:http";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import { graphql } from "../support/graphql.js";
import { STOCK_CHANGED as STOCK } from "../support/operations.js";
import {
  shopAt,
  sleep,
  startInstance,
  stockwireEnv,
  streamNames,
  subscribe,
  type Instance,
  type Subscription,
} from "../support/stockwire.js";
import { expectTypename, JWT_SECRET, type Shop } from "../support/shop.js";
import { scrape } from "../support/metrics.js";
import { signToken } from "../../src/auth/tokens.js";
import { channelName } from "../../src/realtime/pubsub.js";
import { idOfType } from "../../src/ids/index.js";
import type { StockChangedEvent } from "../../src/events/stock-changed.event.js";

const STOCK_WITH_SKU = graphql(`
  subscription FanoutStockSku($ids: [ID!]!, $sku: Boolean!) {
    stockChanged(productIds: $ids) {
      product {
        id
        sku @include(if: $sku)
      }
      stock
      available
      version
      reason
    }
  }
`);
const STOCK_RATED = graphql(`
  subscription FanoutStockRated($ids: [ID!]!, $max: Int) {
    stockChanged(productIds: $ids, maxUpdatesPerSecond: $max) {
      stock
      available
      version
      reason
      delta
    }
  }
`);

let database: TestDatabase;
let api: Instance;
let shop: Shop;
let raw: Redis;
const subscriptions: Subscription<unknown>[] = [];
const track = <T>(s: Subscription<T>) => (subscriptions.push(s as Subscription<unknown>), s);
const fanout = () => api.running.app!.fanout.stats;

beforeAll(async () => {
  database = await createTestDatabase();
  const env = stockwireEnv({ databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() }, streamNames("fanout"), [
    "api",
    "relay",
    "bridge",
  ]);
  api = await startInstance({ ...env, LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: "3", LIVE_SLOW_SUBSCRIBER_CLOSE_SECONDS: "1" });
  shop = await shopAt(api.url);
  raw = new Redis(redisUrl());
});
afterAll(async () => {
  await Promise.allSettled(subscriptions.map((s) => s.close()));
  raw?.disconnect();
  await api?.stop();
  await database?.drop();
});

async function orders(productId: string, n: number) {
  const customer = await shop.createCustomer();
  for (let i = 0; i < n; i++) expectTypename(await shop.placeOrder(customer.token, [{ productId, quantity: 1 }]), "PlaceOrderSuccess");
}

describe("shared execution", () => {
  it("runs a selection set once per change for all subscribers of one shape, once more per other shape", async () => {
    const product = await shop.createProduct({ stock: 100 });
    const customer = await shop.createCustomer();
    const same = Array.from({ length: 12 }, () => track(subscribe(api.url, customer.token, STOCK, { ids: [product.id] }, "stockChanged")));
    const withSku = track(subscribe(api.url, customer.token, STOCK_WITH_SKU, { ids: [product.id], sku: true }, "stockChanged"));
    const withoutSku = track(subscribe(api.url, customer.token, STOCK_WITH_SKU, { ids: [product.id], sku: false }, "stockChanged"));
    for (const s of [...same, withSku, withoutSku]) await s.waitFor("CURRENT", (e) => e.reason === "CURRENT");

    const hub = () => api.running.app!.services.live.stock.stats;
    const before = { ...fanout() };
    const changesBefore = hub().changes;
    await orders(product.id, 3);
    for (const s of [...same, withSku, withoutSku]) await s.waitFor("version 3", (e) => e.version === 3);

    // Three shapes (the same document with sku on and off counts twice): one execution each per change
    // the hub passed on (three, unless a busy process conflated some), and one message per subscriber.
    const changes = hub().changes - changesBefore;
    expect(changes).toBeGreaterThanOrEqual(1);
    expect(fanout().executions - before.executions).toBe(3 * changes);
    expect(fanout().deliveries - before.deliveries).toBe(14 * changes);
    const expected = [["CURRENT", 100, 0], ...[1, 2, 3].map((v) => ["ORDER_PLACED", 100 - v, v])];
    for (const s of same) {
      // available: orders commit units, on hand (stock) stays until they ship
      const got = s.events.map((e) => [e.reason, e.available, e.version]);
      expect(got).toEqual(same[0]!.events.map((e) => [e.reason, e.available, e.version]));
      expect(got).toEqual(expected.filter((row) => got.some((g) => g[2] === row[2])));
      expect(got.length).toBe(1 + changes);
      expect(got.at(-1)).toEqual(["ORDER_PLACED", 97, 3]);
    }
    expect(withSku.events.at(-1)!.product).toEqual({ id: product.id, sku: product.sku });
    expect(withoutSku.events.at(-1)!.product).toEqual({ id: product.id });
  }, 60_000);
});

describe("conflation", () => {
  it("maxUpdatesPerSecond: at most that many a second, versions only rising, and the final state arrives", async () => {
    const product = await shop.createProduct({ stock: 1_000 });
    const customer = await shop.createCustomer();
    const times: number[] = [];
    const rated = track(subscribe(api.url, customer.token, STOCK_RATED, { ids: [product.id], max: 2 }, "stockChanged"));
    await rated.waitFor("CURRENT", (e) => e.reason === "CURRENT");
    const every = track(subscribe(api.url, customer.token, STOCK, { ids: [product.id] }, "stockChanged"));
    await every.waitFor("CURRENT", (e) => e.reason === "CURRENT");
    const count = rated.events.length;
    const poll = setInterval(() => rated.events.length > count + times.length && times.push(Date.now()), 5);
    try {
      await Promise.all(Array.from({ length: 4 }, () => orders(product.id, 10)));
      await rated.waitFor("the final version", (e) => e.version === 40);
    } finally {
      clearInterval(poll);
    }
    await every.waitFor("the final version", (e) => e.version === 40);

    const versions = rated.events.map((e) => e.version);
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    expect(new Set(versions).size).toBe(versions.length);
    expect(rated.events.at(-1)).toMatchObject({ stock: 1_000, available: 960, version: 40 });
    // 40 changes, but never more than 2 in any second (plus one of timer jitter).
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(3);
    expect(rated.events.length).toBeLessThan(40);
    // The unrated subscriber on the same product got every version the process did not conflate
    // (it conflates only when it falls behind, e.g. on a busy machine), in order, up to the last.
    const all = every.events.map((e) => e.version);
    expect(all).toEqual([...all].sort((x, y) => x - y));
    expect(all.at(-1)).toBe(40);
    expect(41 - all.length).toBeLessThanOrEqual(api.running.app!.services.live.stock.stats.conflated);
  }, 90_000);

  it("counts the updates a rate-limited subscriber skipped as conflated (stats and metric)", async () => {
    const product = await shop.createProduct({ stock: 1_000 });
    const customer = await shop.createCustomer();
    const rated = track(subscribe(api.url, customer.token, STOCK_RATED, { ids: [product.id], max: 2 }, "stockChanged"));
    await rated.waitFor("CURRENT", (e) => e.reason === "CURRENT");
    const before = { ...fanout() };
    const hub = () => api.running.app!.services.live.stock.stats;
    const hubConflatedBefore = hub().conflated;
    await Promise.all(Array.from({ length: 4 }, () => orders(product.id, 5)));
    await rated.waitFor("the final version", (e) => e.version === 20);
    // What reached this product's stream (the hub conflates only when the process falls behind) and was not sent.
    const updates = rated.events.filter((e) => e.reason !== "CURRENT").length;
    const skipped = 20 - (hub().conflated - hubConflatedBefore) - updates;
    expect(updates).toBeLessThan(20);
    expect(fanout().conflated - before.conflated).toBeGreaterThanOrEqual(skipped);
    expect(fanout().conflated - before.conflated).toBeGreaterThan(0);
    const counted = fanout().conflated;
    expect((await scrape(api.url)).value("stockwire_live_conflated_total")).toBeGreaterThanOrEqual(counted);
  }, 90_000);

  it("delta is per event, as its description says: a conflated update carries its own change's delta, stock is absolute", async () => {
    const described = await shop.gql<{ __type: { fields: { name: string; description: string | null }[] } }>(
      `{ __type(name: "StockChange") { fields { name description } } }`,
    );
    expect(described.data!.__type.fields.find((f) => f.name === "delta")!.description).toMatch(/Per event, not summed/);

    const product = await shop.createProduct({ stock: 1_000 });
    const customer = await shop.createCustomer();
    const rated = track(subscribe(api.url, customer.token, STOCK_RATED, { ids: [product.id], max: 2 }, "stockChanged"));
    await rated.waitFor("CURRENT", (e) => e.reason === "CURRENT");
    // Write-offs of one unit each (an order's delta is 0 now: it commits units, on hand stays).
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 3; i++) await shop.adjustStock(product.id, -1);
      }),
    );
    await rated.waitFor("the final version", (e) => e.version === 12);
    const updates = rated.events.filter((e) => e.reason !== "CURRENT");
    expect(updates.length).toBeLessThan(12);
    for (const e of updates) expect(e).toMatchObject({ reason: "ADJUSTMENT", delta: -1, stock: 1_000 - e.version });
  }, 90_000);

  it("refuses a maxUpdatesPerSecond outside 1-1000 with BAD_USER_INPUT naming the argument, and subscribes nothing", async () => {
    const product = await shop.createProduct({ stock: 5 });
    const customer = await shop.createCustomer();
    const before = fanout().subscribers;
    for (const max of [0, -1, 1001]) {
      const sub = track(subscribe(api.url, customer.token, STOCK_RATED, { ids: [product.id], max }, "stockChanged"));
      expect(await sub.waitForError()).toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "maxUpdatesPerSecond" } });
      expect(sub.events).toEqual([]);
    }
    expect(fanout().subscribers).toBe(before);
  });

  it("a subscriber that stops reading is closed (1008) after a while; the others get every change", async () => {
    // The longest description allowed: ~5 kB per frame, so the stalled socket backs up (past the kernel's
    // buffers) in a few hundred deliveries, even when a busy machine makes the hub conflate most changes.
    const product = await shop.createProduct({ stock: 1_000_000, description: "x".repeat(5_000) });
    const productUuid = idOfType("Product", product.id)!;
    const healthy = track(subscribe(api.url, shop.adminToken, STOCK, { ids: [product.id] }, "stockChanged"));
    await healthy.waitFor("CURRENT", (e) => e.reason === "CURRENT");

    // A client that subscribes, then stops reading from its socket.
    const stalled = new WebSocket(`${api.url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
    const closed = new Promise<number>((resolve) => stalled.on("close", (code) => resolve(code)));
    await new Promise((resolve) => stalled.once("open", resolve));
    stalled.send(JSON.stringify({ type: "connection_init" }));
    await new Promise((resolve) => stalled.once("message", resolve));
    stalled.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: STOCK_QUERY_LONG, variables: { ids: [product.id] } } }));
    await new Promise((resolve) => stalled.once("message", resolve));
    (stalled as unknown as { _socket: { pause(): void } })._socket.pause();
    const slowBefore = fanout().slowClosed;

    // Many changes, as the bridge would publish them, until the stalled socket's backlog passes the mark.
    const event = (version: number): StockChangedEvent => ({
      eventId: String(version),
      productId: product.id,
      sku: product.sku,
      stock: 1_000_000 - version,
      version,
      delta: -1,
      reason: "ORDER_PLACED",
      orderId: null,
      occurredAt: new Date().toISOString(),
    });
    let version = 0;
    const deadline = Date.now() + 30_000;
    while (fanout().slowClosed === slowBefore && Date.now() < deadline) {
      const batch = raw.pipeline();
      for (let i = 0; i < 500; i++) batch.publish(channelName("stock", productUuid), JSON.stringify(event(++version)));
      await batch.exec();
      await sleep(20);
    }
    expect(fanout().slowClosed).toBe(slowBefore + 1);
    await healthy.waitFor("the last version", (e) => e.version === version, 30_000);
    const seen = healthy.events.map((e) => e.version);
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
    (stalled as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await closed).toBe(1008);
  }, 90_000);

  it("an SSE subscriber that stops reading is closed after a while too; the others get every change", async () => {
    const product = await shop.createProduct({ stock: 1_000_000, description: "x".repeat(5_000) });
    const productUuid = idOfType("Product", product.id)!;
    const healthy = track(subscribe(api.url, shop.adminToken, STOCK, { ids: [product.id] }, "stockChanged"));
    await healthy.waitFor("CURRENT", (e) => e.reason === "CURRENT");

    // A client that subscribes over Server-Sent Events, reads the first event, then stops reading.
    const request = http.request(`${api.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
    });
    request.end(JSON.stringify({ query: STOCK_QUERY_LONG, variables: { ids: [product.id] } }));
    const response = await new Promise<http.IncomingMessage>((resolve) => request.once("response", resolve));
    expect(response.headers["content-type"]).toMatch(/^text\/event-stream/);
    await new Promise((resolve) => response.once("data", resolve));
    response.pause();
    const closed = new Promise<void>((resolve) => response.socket.once("close", () => resolve()));
    const slowBefore = fanout().slowClosed;

    let version = 0;
    const deadline = Date.now() + 30_000;
    while (fanout().slowClosed === slowBefore && Date.now() < deadline) {
      const batch = raw.pipeline();
      for (let i = 0; i < 500; i++) {
        const v = ++version;
        const event: StockChangedEvent = {
          eventId: String(v),
          productId: product.id,
          sku: product.sku,
          stock: 1_000_000 - v,
          version: v,
          delta: -1,
          reason: "ORDER_PLACED",
          orderId: null,
          occurredAt: new Date().toISOString(),
        };
        batch.publish(channelName("stock", productUuid), JSON.stringify(event));
      }
      await batch.exec();
      await sleep(20);
    }
    expect(fanout().slowClosed).toBe(slowBefore + 1);
    await healthy.waitFor("the last version", (e) => e.version === version, 30_000);
    response.resume();
    await closed;
  }, 90_000);
});

// A long selection: each frame carries the product's description, so a stalled socket backs up sooner.
const STOCK_QUERY_LONG = `subscription($ids: [ID!]!) { stockChanged(productIds: $ids) { product { id sku name description } stock version reason } }`;

describe("WebSocket limits", () => {
  const open = async (headers: Record<string, string> = {}) => {
    const ws = new WebSocket(`${api.url.replace("http", "ws")}/graphql`, "graphql-transport-ws", { headers });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })),
    );
    const messages: { id?: string; type: string; payload?: unknown }[] = [];
    ws.on("message", (m) => messages.push(JSON.parse(String(m))));
    await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
    return { ws, closed, messages };
  };

  it("a message over 100 kB closes the connection with 1009", async () => {
    const { ws, closed } = await open();
    ws.send(JSON.stringify({ type: "connection_init", payload: { pad: "x".repeat(120_000) } }));
    expect((await closed).code).toBe(1009);
  });

  it("more subscriptions than the cap on one connection get an error; the others keep working", async () => {
    const product = await shop.createProduct({ stock: 5 });
    const { ws, messages } = await open();
    ws.send(JSON.stringify({ type: "connection_init" }));
    await new Promise((resolve) => ws.once("message", resolve)); // connection_ack
    for (const id of ["a", "b", "c", "d"]) {
      ws.send(JSON.stringify({ id, type: "subscribe", payload: { query: STOCK_QUERY_LONG, variables: { ids: [product.id] } } }));
    }
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 200 && !check(); i++) await sleep(50);
    };
    await until(
      () =>
        messages.some((m) => m.type === "error") && ["a", "b", "c"].every((id) => messages.some((m) => m.id === id && m.type === "next")),
    );
    expect(messages.filter((m) => m.type === "error")).toEqual([
      { id: "d", type: "error", payload: [expect.objectContaining({ extensions: { code: "TOO_MANY_SUBSCRIPTIONS" } })] },
    ]);
    expect(["a", "b", "c"].map((id) => messages.some((m) => m.id === id && m.type === "next"))).toEqual([true, true, true]);
    // Queries and mutations over the same socket do not count against the cap.
    ws.send(JSON.stringify({ id: "q", type: "subscribe", payload: { query: "{ __typename }" } }));
    await until(() => messages.some((m) => m.id === "q" && m.type === "complete"));
    expect(messages.filter((m) => m.id === "q")).toEqual([
      { id: "q", type: "next", payload: { data: { __typename: "Query" }, extensions: { cost: expect.any(Object) } } },
      { id: "q", type: "complete" },
    ]);
    ws.close();
  });

  it("subscriptions refused before they run (here: the token expired since connecting) take no place under the cap", async () => {
    const product = await shop.createProduct({ stock: 5 });
    const customer = await shop.createCustomer();
    const token = await signToken({ role: "customer", sub: customer.id }, JWT_SECRET, "2s");
    const { ws, messages } = await open();
    ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } }));
    await new Promise((resolve) => ws.once("message", resolve)); // connection_ack
    await sleep(3_000);
    const ids = ["a", "b", "c", "d", "e"]; // more than the cap of 3, one after the other
    for (const [i, id] of ids.entries()) {
      ws.send(JSON.stringify({ id, type: "subscribe", payload: { query: STOCK_QUERY_LONG, variables: { ids: [product.id] } } }));
      for (let n = 0; n < 200 && messages.filter((m) => m.type === "error").length <= i; n++) await sleep(50);
    }
    const codes = messages
      .filter((m) => m.type === "error")
      .map((m) => (m.payload as { extensions?: { code?: string } }[])[0]?.extensions?.code);
    expect(codes).toEqual(ids.map(() => "UNAUTHENTICATED"));
    ws.close();
  });

  it("a bad token in the upgrade request closes with 4403, like one in connection_init", async () => {
    const viaHeader = await open({ authorization: "Bearer not-a-token" });
    expect((await viaHeader.closed).code).toBe(4403);
    const viaInit = await open();
    viaInit.ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: "Bearer not-a-token" } }));
    expect((await viaInit.closed).code).toBe(4403);
  });

  it("a subscription ends with UNAUTHENTICATED when its token expires", async () => {
    const product = await shop.createProduct({ stock: 5 });
    const customer = await shop.createCustomer();
    const token = await signToken({ role: "customer", sub: customer.id }, JWT_SECRET, "3s");
    const sub = track(subscribe(api.url, token, STOCK, { ids: [product.id] }, "stockChanged"));
    await sub.waitFor("CURRENT", (e) => e.reason === "CURRENT");
    const error = await sub.waitForError(15_000);
    expect(JSON.stringify(error)).toContain("UNAUTHENTICATED");
    expect(sub.events).toHaveLength(1);
  }, 30_000);
});

describe("SSE", () => {
  it("gets CURRENT, then the change, from the same shared executions", async () => {
    const product = await shop.createProduct({ stock: 9 });
    const controller = new AbortController();
    const res = await fetch(`${api.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({
        query: `subscription($ids: [ID!]!) { stockChanged(productIds: $ids) { available version reason } }`,
        variables: { ids: [product.id] },
      }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    let text = "";
    const events = () => [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]!).data?.stockChanged);
    const readUntil = async (n: number) => {
      while (events().length < n) text += new TextDecoder().decode((await reader.read()).value);
    };
    await readUntil(1);
    await orders(product.id, 1);
    await readUntil(2);
    controller.abort();
    expect(events()).toEqual([
      { available: 9, version: 0, reason: "CURRENT" },
      { available: 8, version: 1, reason: "ORDER_PLACED" },
    ]);
  }, 30_000);
});
