// The catalogue response cache on one instance over real PostgreSQL (RESPONSE_CACHE=on): anonymous
// catalogue reads are answered from memory (proved by a row changed with SQL by hand, which no event
// announces, staying unseen), and every write through this instance (adjustment, product update,
// order, hold) is seen by the very next read after its response. Nothing a signed-in viewer reads
// is shared; the LRU bound holds; anonymous GETs carry an ETag and get 304 while the page is unchanged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { expectTypename, type Product } from "../support/shop.js";

let api: Api;
let customer: { id: string; token: string };

beforeAll(async () => {
  api = await startApi({ RESPONSE_CACHE: "on", RESPONSE_CACHE_MAX_ENTRIES: "50", HTTP_CACHE_MAX_AGE: "2" });
  await api.app.responseCache!.ready;
  customer = await api.createCustomer();
});
afterAll(async () => {
  await api?.close();
});

const PRODUCT = `query ($id: ID!) { product(id: $id) { id sku name priceCents stock available version } }`;
const stats = () => api.app.responseCache!.report();
const dbId = (id: string) => Buffer.from(id, "base64").toString("utf8").split(":")[1]!;

async function read(id: string, headers?: Record<string, string>) {
  const res = await api.gql(PRODUCT, { id }, headers);
  expect(res.errors).toBeUndefined();
  return res.data.product as { name: string; stock: number; available: number; version: number };
}

/** A product whose anonymous read is cached: a rename by SQL (no event) stays unseen. */
async function cachedProduct(stock = 10): Promise<Product> {
  const product = await api.createProduct({ stock });
  await read(product.id);
  await api.sql.query(`UPDATE product SET name = 'renamed by hand' WHERE id = $1`, [dbId(product.id)]);
  const hits = stats().hits;
  expect((await read(product.id)).name).toBe(product.name);
  expect(stats().hits).toBe(hits + 1);
  return product;
}

describe("response cache, one instance", () => {
  it("an adjustment through this instance is in the next anonymous read after its response", async () => {
    const product = await cachedProduct();
    const adjusted = await api.adjustStock(product.id, 5);
    const after = await read(product.id);
    expect(after).toMatchObject({ stock: 15, version: adjusted.version, name: "renamed by hand" });
  });

  it("caches node and nodes lookups of products the same way, and a new product ends a cached 'nothing there'", async () => {
    const product = await cachedProduct();
    const NODES = `query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on Product { name stock } } }`;
    const NODE = `query ($sku: String!) { product(sku: $sku) { id } }`;
    await api.gql(NODES, { ids: [product.id] });
    await api.sql.query(`UPDATE product SET name = 'renamed again' WHERE id = $1`, [dbId(product.id)]);
    expect((await api.gql(NODES, { ids: [product.id] })).data.nodes[0].name).toBe("renamed by hand"); // cached
    const sku = `NEW-${Date.now()}`;
    expect((await api.gql(NODE, { sku })).data.product).toBeNull();
    expect((await api.gql(NODE, { sku })).data.product).toBeNull();
    await api.adjustStock(product.id, 1);
    expect((await api.gql(NODES, { ids: [product.id] })).data.nodes[0]).toMatchObject({ name: "renamed again", stock: 11 });
    const created = await api.createProduct({ sku });
    expect((await api.gql(NODE, { sku })).data.product).toEqual({ id: created.id });
  });

  it("an order and a hold are in the next read; an answer with a hold is cached until the hold lapses (no event says so then)", async () => {
    const product = await cachedProduct(10);
    expectTypename(await api.placeOrder(customer.token, [{ productId: product.id, quantity: 2 }]), "PlaceOrderSuccess");
    expect(await read(product.id)).toMatchObject({ stock: 10, available: 8 }); // the order's 2 are committed, still on hand

    const HOLD = `mutation ($input: ReserveStockInput!) { reserveStock(input: $input) { __typename ... on ReserveStockSuccess { hold { expiresAt } } } }`;
    const held = await api.gql(
      HOLD,
      { input: { items: [{ productId: product.id, quantity: 3 }], idempotencyKey: `h-${Date.now()}`, ttlSeconds: 2 } },
      api.bearer(customer.token),
    );
    expect(held.data.reserveStock.__typename).toBe("ReserveStockSuccess");
    const expiresAt = new Date(held.data.reserveStock.hold.expiresAt).getTime();
    expect(await read(product.id)).toMatchObject({ stock: 10, available: 5 });
    const hits = stats().hits;
    expect(await read(product.id)).toMatchObject({ stock: 10, available: 5 });
    expect(stats().hits).toBe(hits + 1);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 50));
    expect(await read(product.id)).toMatchObject({ stock: 10, available: 8 }); // the order's 2 are committed, still on hand
  });

  it("updateProduct is in the next read of the product and of a search that now finds it", async () => {
    const product = await api.createProduct({ stock: 4 });
    const SEARCH = `query ($q: String!) { products(first: 5, search: $q) { totalCount edges { node { id name } } } }`;
    const term = `zebra${Date.now()}`;
    expect((await api.gql(SEARCH, { q: term })).data.products.totalCount).toBe(0);
    await read(product.id);
    const UPDATE = `mutation ($input: UpdateProductInput!) { updateProduct(input: $input) { __typename } }`;
    const r = await api.admin(UPDATE, { input: { id: product.id, expectedVersion: product.version, name: `The ${term}` } });
    expect(r.data.updateProduct.__typename).toBe("UpdateProductSuccess");
    expect((await read(product.id)).name).toBe(`The ${term}`);
    expect((await api.gql(SEARCH, { q: term })).data.products).toMatchObject({ totalCount: 1, edges: [{ node: { id: product.id } }] });
  });

  it("a product coming back in stock enters inStock pages that did not show it", async () => {
    const product = await api.createProduct({ stock: 1 });
    expectTypename(await api.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]), "PlaceOrderSuccess");
    const IN_STOCK = `{ products(last: 3, inStock: true) { edges { node { id } } } }`;
    const ids = async () => ((await api.gql(IN_STOCK)).data.products.edges as { node: { id: string } }[]).map((e) => e.node.id);
    expect(await ids()).not.toContain(product.id);
    await ids(); // cached
    await api.adjustStock(product.id, 2);
    expect(await ids()).toContain(product.id);
  });

  it("never shares what a signed-in viewer reads: authenticated requests neither read nor fill the cache", async () => {
    const product = await cachedProduct();
    // A signed-in viewer always gets the database (read-your-writes): the rename is visible to them.
    expect((await read(product.id, api.bearer(customer.token))).name).toBe("renamed by hand");
    const LEDGER = `query ($id: ID!) { product(id: $id) { id stockMovements(first: 1) { edges { node { reason } } } } }`;
    const ME = `{ me { id email } }`;
    const entries = stats().entries;
    const asAdmin = await api.admin(LEDGER, { id: product.id });
    expect(asAdmin.data.product.stockMovements.edges).toHaveLength(1);
    expect((await api.gql(ME, {}, api.bearer(customer.token))).data.me.id).toBe(customer.id);
    expect(stats().entries).toBe(entries);
    // The same documents anonymously: refused as for anyone anonymous, never the admin's or customer's answer.
    const anonLedger = await api.gql(LEDGER, { id: product.id });
    expect(anonLedger.data.product.stockMovements).toBeNull();
    expect(anonLedger.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const anonMe = await api.gql(ME);
    expect(anonMe.data).toBeNull();
    expect(anonMe.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    // Nor is an anonymous answer with an error stored and served again.
    expect(stats().entries).toBe(entries);
  });

  it("charges a cached answer 1 point and says so in extensions.cost", async () => {
    const product = await api.createProduct();
    const first = await api.gql(PRODUCT, { id: product.id });
    const second = await api.gql(PRODUCT, { id: product.id });
    expect(first.extensions?.cost).toMatchObject({ requestedQueryCost: expect.any(Number) });
    expect(second.extensions?.cost).toMatchObject({ requestedQueryCost: 1, actualQueryCost: 1 });
    expect(second.data).toEqual(first.data);
  });

  it("keeps at most RESPONSE_CACHE_MAX_ENTRIES results (least recently used out first)", async () => {
    const products = await Promise.all(Array.from({ length: 60 }, () => api.createProduct()));
    for (const p of products) await read(p.id);
    expect(stats().entries).toBeLessThanOrEqual(50);
    expect(stats().evictions).toBeGreaterThanOrEqual(10);
    const metrics = await (await api.fetch("/metrics")).text();
    expect(metrics).toMatch(/^stockwire_response_cache_entries [1-9]\d*$/m);
    expect(metrics).toMatch(/^stockwire_response_cache_hits_total [1-9]\d*$/m);
  });
});

describe("HTTP caching", () => {
  const PAGE = `{ products(first: 3) { edges { node { id stock version } } } }`;
  const get = (headers: Record<string, string> = {}) =>
    api.fetch(`/graphql?query=${encodeURIComponent(PAGE)}`, { headers: { accept: "application/graphql-response+json", ...headers } });

  it("gives anonymous GETs Cache-Control and an ETag of the answer, 304 while it is unchanged, 200 after a change", async () => {
    await get();
    const first = await get();
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("public, max-age=2");
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^W\/"[\w-]+"$/);
    const page = await first.json();
    // Shared by everyone behind a CDN: without this client's budget (body and headers).
    expect(page.extensions).toBeUndefined();
    expect(first.headers.get("ratelimit")).toBeNull();
    const again = await get({ "if-none-match": etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");

    const firstId = page.data.products.edges[0].node.id;
    await api.adjustStock(firstId, 1);
    const changed = await get({ "if-none-match": etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
  });

  it("answers authenticated requests and mutations with private, no-store", async () => {
    const authed = await get(api.bearer(customer.token));
    expect(authed.status).toBe(200);
    expect(authed.headers.get("cache-control")).toBe("private, no-store");
    expect(authed.headers.get("etag")).toBeNull();
    const mutation = await api.fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", ...api.bearer(api.adminToken) },
      body: JSON.stringify({
        query: `mutation { createCustomer(input: { email: "x${Date.now()}@example.com", name: "X" }) { __typename } }`,
      }),
    });
    expect(mutation.headers.get("cache-control")).toBe("private, no-store");
  });
});
