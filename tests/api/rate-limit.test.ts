// Cost-based rate limits (src/protection): a bucket per customer, per admin
// and per anonymous client address, charged each operation's requested cost
// up front and refunded to its actual cost; extensions.cost, the RateLimit
// headers, 429 + Retry-After + THROTTLED with nothing executed, X-Forwarded-For
// only behind TRUST_PROXY, the subscription charge and cap over graphql-ws, and
// buckets shared by two instances on one real Redis. Over real HTTP on port 0:
// the client address is the socket's.
import { parse, print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documentCost } from "../../src/protection/query-cost.js";
import { documentSize } from "../../src/schema/document-size.js";
import { seedDemoData } from "../../src/db/seed.js";
import { startApi, type Api } from "../support/api.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { redisUrl } from "../support/services.js";
import { STOCK_CHANGED } from "../support/operations.js";
import { subscribe } from "../support/stockwire.js";
import { JWT_SECRET } from "../support/shop.js";
import { source } from "../support/client.js";

interface Reply {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: { message: string; extensions?: Record<string, any> }[]; extensions?: Record<string, any> };
}

async function post(url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const codes = (r: Reply) => (r.body.errors ?? []).map((e) => e.extensions?.code);
const SCRAPE = `{ products(first: 100) { edges { node { id sku name priceCents currency stock } } pageInfo { hasNextPage endCursor } } }`;
const PAGE = `{ products(first: 12) { edges { node { id sku name priceCents currency stock version } } pageInfo { hasNextPage endCursor } } }`;

/** Sends `query` until it is throttled; returns the throttled reply and how many went through before it. */
async function drain(url: string, query: string, headers: Record<string, string> = {}, max = 2_000) {
  for (let sent = 0; sent < max; sent++) {
    const r = await post(url, query, undefined, headers);
    if (r.status === 429) return { throttled: r, passed: sent };
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }
  throw new Error(`not throttled after ${max} requests`);
}

describe("with the default settings", () => {
  let api: Api;
  let url: string;
  beforeAll(async () => {
    api = await startApi();
    await seedDemoData(api.db.prisma); // the demo catalogue: 320 products, so a page of 100 is full
    url = await api.app.start();
  });
  afterAll(() => api?.close());

  it("throttles an anonymous scraper looping products(first: 100) within 300 requests; a customer browsing meanwhile is not", async () => {
    const customer = await api.createCustomer();
    let scraperDone = false;
    const scraper = drain(url, SCRAPE, {}, 300).finally(() => (scraperDone = true));
    const browsed: number[] = [];
    while (!scraperDone) browsed.push((await post(url, PAGE, undefined, bearer(customer.token))).status);
    const { throttled, passed } = await scraper;
    expect(passed).toBeLessThan(300);
    expect(codes(throttled)).toEqual(["THROTTLED"]);
    // The customer kept browsing the whole time, then some more.
    for (let i = 0; i < 20; i++) browsed.push((await post(url, PAGE, undefined, bearer(customer.token))).status);
    expect(browsed.length).toBeGreaterThan(20);
    expect(browsed.every((s) => s === 200)).toBe(true);
  });

  it("puts extensions.cost on every result, refunded to the actual cost, and the RateLimit headers on the response", async () => {
    const customer = await api.createCustomer();
    // A search that matches 2 products: 100 asked for, 2 returned.
    const query = `{ products(first: 100, search: "Classic Mug") { edges { node { id name } } } }`;
    const r = await post(url, query, undefined, bearer(customer.token));
    expect(r.status).toBe(200);
    expect(r.body.data.products.edges.length).toBeGreaterThan(0);
    const cost = r.body.extensions!.cost;
    // products 1 + 100 x (edges 1 + node 1 + id 1 + name 1)
    expect(cost.requestedQueryCost).toBe(401);
    // products 1 + edges 1 + per product (node 1 + id 1 + name 1)
    expect(cost.actualQueryCost).toBe(2 + 3 * r.body.data.products.edges.length);
    // A fresh customer's bucket, charged only the actual cost (and the document's, new to this server):
    // what drained while the request ran (200/s) is far less than the refund (requested - actual, ~390),
    // so without it this would be below.
    expect(cost.throttleStatus).toMatchObject({ maximumAvailable: 20_000, restoreRate: 200 });
    expect(cost.documentCost).toBeGreaterThan(0);
    expect(cost.throttleStatus.currentlyAvailable).toBeGreaterThanOrEqual(20_000 - cost.actualQueryCost - cost.documentCost);
    expect(r.headers.get("ratelimit-policy")).toBe(`"cost";q=20000;w=100`);
    expect(r.headers.get("ratelimit")).toMatch(new RegExp(`^"cost";r=${cost.throttleStatus.currentlyAvailable};t=\\d+$`));

    // Mutations too (admin here: its own, larger bucket).
    const m = await post(
      url,
      `mutation { createCustomer(input: { email: "cost@example.com", name: "C" }) { __typename } }`,
      undefined,
      bearer(api.adminToken),
    );
    expect(m.body.extensions!.cost).toMatchObject({
      requestedQueryCost: 2,
      actualQueryCost: 2,
      throttleStatus: { maximumAvailable: 100_000 },
    });
  });
});

describe("with small buckets", () => {
  let api: Api;
  let url: string;
  let product: { id: string };
  beforeAll(async () => {
    api = await startApi({
      RATE_LIMIT_ANONYMOUS_BUCKET: "300",
      RATE_LIMIT_ANONYMOUS_RESTORE: "1",
      RATE_LIMIT_CUSTOMER_BUCKET: "300",
      RATE_LIMIT_CUSTOMER_RESTORE: "1",
      RATE_LIMIT_ADMIN_BUCKET: "100000",
      RATE_LIMIT_ADMIN_RESTORE: "1",
      RATE_LIMIT_MAX_SUBSCRIPTIONS: "2",
    });
    url = await api.app.start();
    product = await api.createProduct({ stock: 10 });
    for (let i = 0; i < 4; i++) await api.createProduct();
  });
  afterAll(() => api?.close());

  it("answers a throttled request with 429, Retry-After and THROTTLED, and executes nothing (a mutation writes nothing)", async () => {
    const customer = await api.createCustomer();
    await drain(url, PAGE, bearer(customer.token));
    await drain(url, `{ __typename }`, bearer(customer.token));
    const orders = async () => Number((await api.sql.query(`SELECT count(*) FROM "order"`)).rows[0].count);
    const before = { orders: await orders(), stock: (await api.stockOf(product.id)).stock };

    const r = await post(
      url,
      `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { __typename } }`,
      { input: { items: [{ productId: product.id, quantity: 1 }], idempotencyKey: "throttled-order" } },
      bearer(customer.token),
    );
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(r.headers.get("ratelimit-policy")).toBe(`"cost";q=300;w=300`);
    expect(r.body.data).toBeUndefined();
    expect(codes(r)).toEqual(["THROTTLED"]);
    expect(r.body.extensions!.cost).toMatchObject({ actualQueryCost: 0, throttleStatus: { maximumAvailable: 300, restoreRate: 1 } });
    expect(r.body.extensions!.cost.throttleStatus.currentlyAvailable).toBeLessThan(r.body.extensions!.cost.requestedQueryCost);
    expect(await orders()).toBe(before.orders);
    expect((await api.stockOf(product.id)).stock).toBe(before.stock);
  });

  it("charges each customer and the anonymous address separately; admins have a larger bucket", async () => {
    const [a, b] = [await api.createCustomer(), await api.createCustomer()];
    const { passed } = await drain(url, PAGE, bearer(a.token));
    expect((await post(url, PAGE, undefined, bearer(b.token))).status).toBe(200);
    expect((await post(url, PAGE)).status).toBe(200);
    // The admin bucket outlasts what throttled a customer several times over.
    for (let i = 0; i < 3 * (passed + 1); i++) expect((await post(url, PAGE, undefined, bearer(api.adminToken))).status).toBe(200);
    const admin = await post(url, PAGE, undefined, bearer(api.adminToken));
    expect(admin.body.extensions!.cost.throttleStatus.maximumAvailable).toBe(100_000);
  });

  it("ignores X-Forwarded-For without TRUST_PROXY", async () => {
    await drain(url, PAGE, { "x-forwarded-for": "203.0.113.1" });
    const other = await post(url, PAGE, undefined, { "x-forwarded-for": "203.0.113.2" });
    expect(other.status).toBe(429);
  });

  it("charges subscribing and caps a client's concurrent subscriptions over graphql-ws (across its connections)", async () => {
    const customer = await api.createCustomer();
    const available = async () =>
      (await post(url, `{ __typename }`, undefined, bearer(customer.token))).body.extensions!.cost.throttleStatus.currentlyAvailable;
    const start = await available(); // the probe itself costs 1
    const first = subscribe(url, customer.token, STOCK_CHANGED, { ids: [product.id] }, "stockChanged");
    const second = subscribe(url, customer.token, STOCK_CHANGED, { ids: [product.id] }, "stockChanged");
    try {
      // Both run: each gets the current stock (this app runs no relay, so no changes follow).
      await Promise.all([first, second].map((s) => s.waitFor("the current stock", (e) => e.reason === "CURRENT")));
      // Each subscribe is charged its requested cost: stockChanged 1 + product 1 + id 1 + stock, available,
      // version, delta, reason, orderId 6 = 9 (one object per event: no multiplier); plus the second probe's 1;
      // plus, once, parsing and validating the subscription's document, new to this server.
      const subscriptionDocument = documentCost(documentSize(parse(print(STOCK_CHANGED))));
      expect(start - (await available())).toBe(2 * 9 + 1 + subscriptionDocument);

      const third = subscribe(url, customer.token, STOCK_CHANGED, { ids: [product.id] }, "stockChanged");
      expect(JSON.stringify(await third.waitForError())).toContain("TOO_MANY_SUBSCRIPTIONS");
      await third.close();

      // Ending one gives its place back.
      await first.close();
      const again = subscribe(url, customer.token, STOCK_CHANGED, { ids: [product.id] }, "stockChanged");
      try {
        await again.waitFor("the current stock", (e) => e.reason === "CURRENT");
        expect(again.errors).toEqual([]);
      } finally {
        await again.close();
      }
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it("charges subscribing over SSE too, against the same per-client cap", async () => {
    const customer = await api.createCustomer();
    const available = async () =>
      (await post(url, `{ __typename }`, undefined, bearer(customer.token))).body.extensions!.cost.throttleStatus.currentlyAvailable;
    const start = await available();
    const sse = new AbortController();
    const res = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", ...bearer(customer.token) },
      body: JSON.stringify({ query: source(STOCK_CHANGED), variables: { ids: [product.id] } }),
      signal: sse.signal,
    });
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("CURRENT")) text += new TextDecoder().decode((await reader.read()).value);
    try {
      expect(start - (await available())).toBe(9 + 1); // the subscription's 9 (above) and the probe's 1
      // The SSE subscription holds one of the customer's 2 places.
      const ws = subscribe(url, customer.token, STOCK_CHANGED, { ids: [product.id] }, "stockChanged");
      const refused = subscribe(url, customer.token, STOCK_CHANGED, { ids: [product.id] }, "stockChanged");
      try {
        await ws.waitFor("the current stock", (e) => e.reason === "CURRENT");
        expect(JSON.stringify(await refused.waitForError())).toContain("TOO_MANY_SUBSCRIPTIONS");
      } finally {
        await Promise.all([ws.close(), refused.close()]);
      }
    } finally {
      sse.abort();
    }
  });

  it("refuses a subscription with THROTTLED when the client's bucket is empty", async () => {
    const customer = await api.createCustomer();
    // Down to the last point: a page, then single points.
    await drain(url, PAGE, bearer(customer.token));
    await drain(url, `{ __typename }`, bearer(customer.token));
    const sub = subscribe(url, customer.token, STOCK_CHANGED, { ids: [product.id] }, "stockChanged");
    try {
      expect(JSON.stringify(await sub.waitForError())).toContain("THROTTLED");
    } finally {
      await sub.close();
    }
  });
});

describe("behind a proxy (TRUST_PROXY=1)", () => {
  let api: Api;
  let url: string;
  beforeAll(async () => {
    api = await startApi({ RATE_LIMIT_ANONYMOUS_BUCKET: "300", RATE_LIMIT_ANONYMOUS_RESTORE: "1", TRUST_PROXY: "1" });
    url = await api.app.start();
    for (let i = 0; i < 5; i++) await api.createProduct();
  });
  afterAll(() => api?.close());

  it("charges the address the proxy saw, not what the client wrote further left", async () => {
    await drain(url, PAGE, { "x-forwarded-for": "203.0.113.1" });
    expect((await post(url, PAGE, undefined, { "x-forwarded-for": "203.0.113.2" })).status).toBe(200);
    // A client prepending a fresh address to look new is still 203.0.113.1 to the proxy.
    expect((await post(url, PAGE, undefined, { "x-forwarded-for": "198.51.100.9, 203.0.113.1" })).status).toBe(429);
  });

  it("charges a request refused before it executes (invalid, bad token) 1 point and its new document's cost: it carries extensions.cost, and a flood of them is throttled", async () => {
    const from = { "x-forwarded-for": "203.0.113.50" };
    const invalid = await post(url, `{ noSuchField }`, undefined, from);
    expect(codes(invalid)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    // New to this server: 20 + 1 per 10 tokens (3) + 1 per 10 fields (1).
    expect(invalid.body.extensions!.cost).toEqual({
      requestedQueryCost: 1,
      actualQueryCost: 1,
      documentCost: 22,
      throttleStatus: { maximumAvailable: 300, currentlyAvailable: 277, restoreRate: 1 },
    });
    expect(invalid.headers.get("ratelimit")).toMatch(/^"cost";r=277;t=\d+$/);
    // PAGE was parsed before (the test above): 1 point.
    const badToken = await post(url, PAGE, undefined, { ...from, authorization: "Bearer not-a-token" });
    expect(badToken.status).toBe(401);
    expect(badToken.body.extensions!.cost.throttleStatus.currentlyAvailable).toBe(276);
    const t0 = Date.now();
    let sent = 2;
    while (sent < 400 && (await post(url, `{ noSuchField }`, undefined, from)).status !== 429) sent++;
    // 300 points, plus the 1 a second that drained meanwhile.
    expect(sent).toBeLessThanOrEqual(301 + Math.ceil((Date.now() - t0) / 1000));
  });

  it("charges parsing and validating a document new to the server: a stream of different documents is throttled, a repeated one costs 1 point", async () => {
    const from = { "x-forwarded-for": "203.0.113.60" };
    // Different text each time, as in a flood meant to miss the parse and validation caches.
    const fresh = (i: number) => `query Q${i} { __typename x${i} }`;
    const first = await post(url, fresh(0), undefined, from);
    expect(codes(first)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    expect(first.body.extensions!.cost).toMatchObject({ requestedQueryCost: 1, documentCost: 22 });
    // The same text again: parsed and validated already, so the request's 1 point only.
    const repeated = await post(url, fresh(0), undefined, from);
    expect(repeated.body.extensions!.cost).toMatchObject({ requestedQueryCost: 1, documentCost: 0 });
    expect(repeated.body.extensions!.cost.throttleStatus.currentlyAvailable).toBeGreaterThanOrEqual(300 - 23 - 1);
    let sent = 1;
    while (sent < 400 && (await post(url, fresh(sent), undefined, from)).status !== 429) sent++;
    // 300 points at 23 a document (at 1 a request, 300 would pass): 13, and what drained meanwhile.
    expect(sent).toBeLessThan(20);
    const throttled = await post(url, fresh(1_000), undefined, from);
    expect(throttled.status).toBe(429);
    expect(throttled.body.errors![0]!.message).toMatch(/23 points \(22 of them for parsing and validating a new document\)/);
  });
});

describe("on Redis", () => {
  let a: Api;
  let b: TestApp;
  let urls: [string, string];
  beforeAll(async () => {
    const env = { REDIS_URL: redisUrl(), RATE_LIMIT_CUSTOMER_BUCKET: "300", RATE_LIMIT_CUSTOMER_RESTORE: "1" };
    a = await startApi(env);
    b = await startTestApp({ DATABASE_URL: a.dbUrl, JWT_SECRET, ...env });
    urls = [await a.app.start(), await b.app.start()];
    for (let i = 0; i < 5; i++) await a.createProduct();
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it("shares each client's bucket between two API instances", async () => {
    const customer = await a.createCustomer();
    // Alternating instances: together they throttle as one would.
    let sent = 0;
    for (; sent < 2_000; sent++) {
      const r = await post(urls[sent % 2]!, PAGE, undefined, bearer(customer.token));
      if (r.status === 429) break;
    }
    expect(sent).toBeLessThan(2_000);
    // Throttled on both, and each reports the same bucket.
    const [ra, rb] = [
      await post(urls[0], PAGE, undefined, bearer(customer.token)),
      await post(urls[1], PAGE, undefined, bearer(customer.token)),
    ];
    expect([ra.status, rb.status]).toEqual([429, 429]);
    expect(ra.body.extensions!.cost.throttleStatus.currentlyAvailable).toBe(rb.body.extensions!.cost.throttleStatus.currentlyAvailable);
    // A single instance alone would have let through about twice as many: check the count against one bucket.
    const one = await a.createCustomer();
    let alone = 0;
    for (; alone < 2_000; alone++) if ((await post(urls[0], PAGE, undefined, bearer(one.token))).status === 429) break;
    expect(Math.abs(sent - alone)).toBeLessThanOrEqual(1);
  });
});
