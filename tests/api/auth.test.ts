// Who may do what: HS256 bearer tokens (sub = Customer global ID, role admin |
// customer), anonymous catalogue reads, customers limited to their own orders,
// admin-only queries and mutations, and every kind of bad token refused.
import { SignJWT, UnsecuredJWT } from "jose";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../src/auth/tokens.js";
import { startApi, type Api } from "../support/api.js";
import { expectTypename, JWT_SECRET } from "../support/shop.js";

let api: Api;
let sql: pg.Pool;
let alice: { id: string; token: string };
let bob: { id: string; token: string };
let product: { id: string; sku: string; version: number };
let aliceOrder: { id: string };
let bobOrder: { id: string };

beforeAll(async () => {
  api = await startApi();
  sql = api.sql;
  [alice, bob] = await Promise.all([api.createCustomer(), api.createCustomer()]);
  product = await api.createProduct({ stock: 100, priceCents: 500 });
  aliceOrder = expectTypename(await api.placeOrder(alice.token, [{ productId: product.id, quantity: 1 }]), "PlaceOrderSuccess").order;
  bobOrder = expectTypename(await api.placeOrder(bob.token, [{ productId: product.id, quantity: 2 }]), "PlaceOrderSuccess").order;
  expect(aliceOrder.id).toBeTruthy();
  expect(bobOrder.id).toBeTruthy();
});
afterAll(async () => {
  await api?.close();
});

const count = async (table: string) => Number((await sql.query(`SELECT count(*) FROM "${table}"`)).rows[0].count);
const codes = (res: { errors?: { extensions?: Record<string, unknown> }[] }) => (res.errors ?? []).map((e) => e.extensions?.code);
const key = new TextEncoder().encode(JWT_SECRET);
const globalId = (type: string, uuid: string) => Buffer.from(`${type}:${uuid}`).toString("base64");

/** A raw POST, to see the HTTP status as well as the body. */
async function post(query: string, headers: Record<string, string> = {}, variables?: Record<string, unknown>) {
  const res = await api.fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as { data?: any; errors?: any[] } };
}

const ORDER_FIELDS = "id status totalCents idempotencyKey customer { id email } items { quantity product { sku } }";

describe("anonymous callers", () => {
  it("can read the catalogue", async () => {
    const res = await api.gql(
      `query($id: ID!, $sku: String!) {
        products(first: 10) { edges { node { id sku stock } } }
        byId: product(id: $id) { sku priceCents }
        bySku: product(sku: $sku) { id }
        node(id: $id) { ... on Product { sku } }
      }`,
      { id: product.id, sku: product.sku },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.products.edges.map((e: any) => e.node.id)).toContain(product.id);
    expect(res.data.byId).toEqual({ sku: product.sku, priceCents: 500 });
    expect(res.data.bySku).toEqual({ id: product.id });
    expect(res.data.node).toEqual({ sku: product.sku });
  });

  it("get UNAUTHENTICATED for me", async () => {
    const r = await post(`{ me { id email } }`);
    expect(codes(r.body)).toEqual(["UNAUTHENTICATED"]);
    expect(r.body.data ?? null).toBeNull();
    // As implemented: a missing token is only refused by the resolver, so the
    // HTTP status stays 200 (a bad token is refused up front with 401, below).
    expect(r.status).toBe(200);
  });

  it("get UNAUTHENTICATED for placeOrder, and nothing is written", async () => {
    const before = { orders: await count("order"), stock: (await api.stockOf(product.id)).stock };
    const res = await api.gql(
      `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { __typename ... on PlaceOrderSuccess { order { id } } } }`,
      { input: { idempotencyKey: "anon-1", items: [{ productId: product.id, quantity: 1 }] } },
    );
    expect(codes(res)).toEqual(["UNAUTHENTICATED"]);
    expect(res.data ?? null).toBeNull();
    expect({ orders: await count("order"), stock: (await api.stockOf(product.id)).stock }).toEqual(before);
  });

  it("get UNAUTHENTICATED (and no data) for orders and customers by ID, and for admin lists", async () => {
    for (const id of [aliceOrder.id]) {
      const res = await api.gql(`query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`, { id });
      expect(codes(res)).toEqual(["UNAUTHENTICATED"]);
      expect(res.data?.order ?? null).toBeNull();
      const viaNode = await api.gql(`query($id: ID!) { node(id: $id) { id ... on Order { totalCents } } }`, { id });
      expect(codes(viaNode)).toEqual(["UNAUTHENTICATED"]);
      expect(viaNode.data?.node ?? null).toBeNull();
    }
    const customer = await api.gql(`query($id: ID!) { node(id: $id) { ... on Customer { email } } }`, { id: alice.id });
    expect(codes(customer)).toEqual(["UNAUTHENTICATED"]);
    expect(JSON.stringify(customer)).not.toContain("@example.com");
    for (const q of [`{ orders(first: 5) { edges { node { id } } } }`, `{ customers(first: 5) { edges { node { email } } } }`]) {
      const res = await api.gql(q);
      expect(codes(res), q).toEqual(["UNAUTHENTICATED"]);
      expect(res.data ?? null, q).toBeNull();
    }
  });
});

describe("customers", () => {
  it("see their own orders via me { orders }, order(id:) and node(id:)", async () => {
    const res = await api.gql(
      `query($id: ID!) {
        me { id orders(first: 10) { edges { node { id totalCents } } } }
        order(id: $id) { ${ORDER_FIELDS} }
        node(id: $id) { id ... on Order { totalCents } }
      }`,
      { id: aliceOrder.id },
      api.bearer(alice.token),
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.me.id).toBe(alice.id);
    expect(res.data.me.orders.edges.map((e: any) => e.node)).toEqual([{ id: aliceOrder.id, totalCents: 500 }]);
    expect(res.data.order).toMatchObject({
      id: aliceOrder.id,
      totalCents: 500,
      customer: { id: alice.id },
      items: [{ quantity: 1, product: { sku: product.sku } }],
    });
    expect(res.data.node).toEqual({ id: aliceOrder.id, totalCents: 500 });
  });

  it("get null, as for an order that does not exist, for another customer's order via order(id:)", async () => {
    const res = await api.gql(`query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`, { id: bobOrder.id }, api.bearer(alice.token));
    const none = await api.gql(
      `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`,
      { id: globalId("Order", "00000000-0000-4000-8000-000000000000") },
      api.bearer(alice.token),
    );
    // The same answer, cost included (only the bucket's state, which moved between the two, differs).
    const answer = (r: typeof res) => ({
      ...r,
      extensions: { ...r.extensions, cost: { ...r.extensions?.cost, throttleStatus: undefined } },
    });
    expect(answer(res)).toEqual(answer(none));
    expect(res).toEqual({ data: { order: null }, extensions: { cost: expect.any(Object) } });
    expect(JSON.stringify(res)).not.toMatch(/totalCents|idempotencyKey|@example\.com/);
  });

  it("get null and no order data for another customer's order via node(id:) and nodes(ids:), siblings unaffected", async () => {
    const res = await api.gql(
      `query($id: ID!) { node(id: $id) { id ... on Order { ${ORDER_FIELDS} } } }`,
      { id: bobOrder.id },
      api.bearer(alice.token),
    );
    expect(res).toEqual({ data: { node: null }, extensions: { cost: expect.any(Object) } });

    // Mixing an own order with someone else's must not leak the other one either.
    const mixed = await api.gql(
      `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Order { totalCents customer { email } } } }`,
      { ids: [aliceOrder.id, bobOrder.id] },
      api.bearer(alice.token),
    );
    expect(mixed.errors).toBeUndefined();
    expect(mixed.data.nodes).toEqual([{ id: aliceOrder.id, totalCents: 500, customer: { email: expect.any(String) } }, null]);
    expect(JSON.stringify(mixed.data ?? null)).not.toContain(bobOrder.id);
    expect(JSON.stringify(mixed.data ?? null)).not.toContain('totalCents":1000');
  });

  it("get null for another customer's account via node(id:)", async () => {
    const res = await api.gql(
      `query($id: ID!) { node(id: $id) { ... on Customer { email orders { edges { node { id } } } } } }`,
      { id: bob.id },
      api.bearer(alice.token),
    );
    expect(res).toEqual({ data: { node: null }, extensions: { cost: expect.any(Object) } });
    expect(JSON.stringify(res)).not.toContain("@example.com");
  });

  it("cannot cancel another customer's order", async () => {
    const res = await api.gql(
      `mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { __typename ... on CancelOrderSuccess { order { id status } } } }`,
      { input: { orderId: bobOrder.id } },
      api.bearer(alice.token),
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.cancelOrder.__typename).toBe("NotFoundError");
    const check = await api.admin(`query($id: ID!) { order(id: $id) { status } }`, { id: bobOrder.id });
    expect(check.data.order.status).toBe("PENDING");
  });

  it("get FORBIDDEN and no data for the admin queries orders and customers", async () => {
    for (const q of [
      `{ orders(first: 10) { edges { node { id totalCents } } } }`,
      `{ customers(first: 10) { edges { node { id email } } } }`,
    ]) {
      const res = await api.gql(q, {}, api.bearer(alice.token));
      expect(codes(res), q).toEqual(["FORBIDDEN"]);
      expect(res.data ?? null, q).toBeNull();
      expect(JSON.stringify(res), q).not.toMatch(/@example\.com|totalCents/);
    }
  });

  it("get FORBIDDEN for createProduct, adjustStock, updateProduct, createCustomer and updateOrderStatus, and nothing is written", async () => {
    const before = {
      products: await count("product"),
      customers: await count("customer"),
      outbox: await count("outbox_event"),
      stock: await api.stockOf(product.id),
      order: (await api.admin(`query($id: ID!) { order(id: $id) { status version } }`, { id: aliceOrder.id })).data.order,
    };
    const mutations: [string, string, Record<string, unknown>][] = [
      [
        "createProduct",
        `mutation($input: CreateProductInput!) { createProduct(input: $input) { __typename } }`,
        { input: { sku: "HACK-1", name: "Hack", priceCents: 1, currency: "EUR", initialStock: 5 } },
      ],
      [
        "adjustStock",
        `mutation($input: AdjustStockInput!) { adjustStock(input: $input) { __typename } }`,
        { input: { productId: product.id, delta: 1000, reason: "RECEIVED", note: "free stuff" } },
      ],
      [
        "updateProduct",
        `mutation($input: UpdateProductInput!) { updateProduct(input: $input) { __typename } }`,
        { input: { id: product.id, expectedVersion: before.stock.version, priceCents: 1 } },
      ],
      [
        "createCustomer",
        `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { __typename } }`,
        { input: { email: "intruder@example.org", name: "Intruder" } },
      ],
      [
        "updateOrderStatus",
        `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) { __typename } }`,
        { input: { orderId: aliceOrder.id, status: "CONFIRMED", expectedVersion: 0 } },
      ],
    ];
    for (const [name, query, variables] of mutations) {
      const res = await api.gql(query, variables, api.bearer(alice.token));
      expect(codes(res), name).toEqual(["FORBIDDEN"]);
      expect(res.data ?? null, name).toBeNull();
    }
    expect({
      products: await count("product"),
      customers: await count("customer"),
      outbox: await count("outbox_event"),
      stock: await api.stockOf(product.id),
      order: (await api.admin(`query($id: ID!) { order(id: $id) { status version } }`, { id: aliceOrder.id })).data.order,
    }).toEqual(before);
    expect((await api.gql(`{ product(sku: "HACK-1") { id } }`)).data.product).toBeNull();
  });
});

describe("admins", () => {
  it("list orders filtered by status and by customer", async () => {
    const carol = await api.createCustomer();
    const p = await api.createProduct({ stock: 50 });
    const c1 = expectTypename(await api.placeOrder(carol.token, [{ productId: p.id, quantity: 1 }]), "PlaceOrderSuccess").order;
    const c2 = expectTypename(await api.placeOrder(carol.token, [{ productId: p.id, quantity: 2 }]), "PlaceOrderSuccess").order;
    const confirm = await api.admin(
      `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) { __typename ... on UpdateOrderStatusSuccess { order { status } } } }`,
      { input: { orderId: c2.id, status: "CONFIRMED", expectedVersion: 0 } },
    );
    expect(confirm.data.updateOrderStatus).toEqual({ __typename: "UpdateOrderStatusSuccess", order: { status: "CONFIRMED" } });

    const list = async (args: string) => {
      const res = await api.admin(`{ orders(first: 100${args}) { edges { node { id status customer { id } } } } }`);
      expect(res.errors, args).toBeUndefined();
      return res.data.orders.edges.map((e: any) => e.node);
    };
    const all = await list("");
    expect(all.map((o: any) => o.id)).toEqual(expect.arrayContaining([aliceOrder.id, bobOrder.id, c1.id, c2.id]));

    const carols = await list(`, customerId: "${carol.id}"`);
    expect(carols.map((o: any) => o.id)).toEqual([c1.id, c2.id]); // oldest first
    expect(carols.every((o: any) => o.customer.id === carol.id)).toBe(true);

    const confirmed = await list(`, status: CONFIRMED`);
    expect(confirmed.length).toBeGreaterThanOrEqual(1);
    expect(confirmed.every((o: any) => o.status === "CONFIRMED")).toBe(true);
    expect(confirmed.map((o: any) => o.id)).toContain(c2.id);
    expect(confirmed.map((o: any) => o.id)).not.toContain(c1.id);

    expect(await list(`, status: PENDING, customerId: "${carol.id}"`)).toEqual([
      { id: c1.id, status: "PENDING", customer: { id: carol.id } },
    ]);
    expect(await list(`, status: SHIPPED, customerId: "${carol.id}"`)).toEqual([]);

    // A global ID of another type is a client error, not a silent empty list.
    const wrongType = await api.admin(`query($id: ID!) { orders(first: 5, customerId: $id) { edges { node { id } } } }`, { id: c1.id });
    expect(codes(wrongType)).toEqual(["BAD_USER_INPUT"]);
  });

  it("can list customers and read any order", async () => {
    const res = await api.admin(
      `query($id: ID!) { customers(first: 100) { edges { node { id } } } order(id: $id) { id customer { id } } }`,
      { id: bobOrder.id },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.customers.edges.map((e: any) => e.node.id)).toEqual(expect.arrayContaining([alice.id, bob.id]));
    expect(res.data.order).toEqual({ id: bobOrder.id, customer: { id: bob.id } });
  });

  it("without a customer sub get FORBIDDEN for me (an admin is not a customer)", async () => {
    const res = await api.admin(`{ me { id } }`);
    expect(codes(res)).toEqual(["FORBIDDEN"]);
  });
});

describe("tokens", () => {
  const PRODUCTS = `{ products(first: 1) { edges { node { id } } } }`;

  it("a valid customer token signed with signToken is accepted (control case)", async () => {
    const token = await signToken({ role: "customer", sub: alice.id }, JWT_SECRET);
    const r = await post(`{ me { id } }`, api.bearer(token));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ data: { me: { id: alice.id } }, extensions: { cost: expect.any(Object) } });
  });

  const hs = (claims: Record<string, unknown>, alg = "HS256") => new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt();

  const badTokens: [string, () => Promise<string>][] = [
    [
      "expired",
      () =>
        hs({ role: "customer", sub: alice.id })
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(key),
    ],
    [
      "expired admin",
      () =>
        hs({ role: "admin" })
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(key),
    ],
    [
      "signed with another secret",
      () => hs({ role: "admin" }).setExpirationTime("1h").sign(new TextEncoder().encode("another-secret-another-secret-1234567")),
    ],
    ["alg none", async () => new UnsecuredJWT({ role: "admin" }).setIssuedAt().setExpirationTime("1h").encode()],
    ["HS512 with the right secret", () => hs({ role: "admin" }, "HS512").setExpirationTime("1h").sign(key)],
    ["HS384 with the right secret", () => hs({ role: "admin" }, "HS384").setExpirationTime("1h").sign(key)],
    ["role customer without sub", () => signToken({ role: "customer" }, JWT_SECRET)],
    ["role customer with a Product sub", () => signToken({ role: "customer", sub: product.id }, JWT_SECRET)],
    [
      "role customer with a raw UUID sub",
      () => signToken({ role: "customer", sub: Buffer.from(alice.id, "base64").toString().split(":")[1] }, JWT_SECRET),
    ],
    ["role customer with a non-UUID Customer sub", () => signToken({ role: "customer", sub: globalId("Customer", "1") }, JWT_SECRET)],
    ["unknown role", () => hs({ role: "superuser", sub: alice.id }).setExpirationTime("1h").sign(key)],
    ["no role", () => hs({ sub: alice.id }).setExpirationTime("1h").sign(key)],
    [
      "tampered payload",
      async () => {
        const [h, , s] = (await signToken({ role: "customer", sub: alice.id }, JWT_SECRET)).split(".");
        const payload = Buffer.from(JSON.stringify({ role: "admin", exp: Math.floor(Date.now() / 1000) + 3600 })).toString("base64url");
        return `${h}.${payload}.${s}`;
      },
    ],
    ["garbage", async () => "not.a.jwt"],
  ];

  for (const [name, make] of badTokens) {
    it(`refuses a token that is ${name}: HTTP 401, UNAUTHENTICATED, no data (even for anonymous-safe queries)`, async () => {
      const token = await make();
      for (const query of [PRODUCTS, `{ me { id } }`, `{ orders(first: 1) { edges { node { id } } } }`]) {
        const r = await post(query, api.bearer(token));
        expect(r.status, `${name}: ${query}`).toBe(401);
        expect(codes(r.body), `${name}: ${query}`).toEqual(["UNAUTHENTICATED"]);
        expect(r.body.data ?? null, `${name}: ${query}`).toBeNull();
      }
    });
  }

  const malformed = ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc", "Bearer a b", "bearer", "abc.def.ghi"];
  for (const header of malformed) {
    it(`refuses a malformed Authorization header ${JSON.stringify(header)}: HTTP 401, UNAUTHENTICATED`, async () => {
      const r = await post(PRODUCTS, { authorization: header });
      expect(r.status).toBe(401);
      expect(codes(r.body)).toEqual(["UNAUTHENTICATED"]);
      expect(r.body.data ?? null).toBeNull();
    });
  }

  it("accepts the Bearer scheme case-insensitively (RFC 6750 / RFC 9110)", async () => {
    const r = await post(`{ me { id } }`, { authorization: `bearer ${alice.token}` });
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ me: { id: alice.id } });
  });

  it("a well-formed customer token for a customer that does not exist cannot read anyone's data", async () => {
    const ghost = globalId("Customer", "00000000-0000-4000-8000-000000000000");
    const token = await signToken({ role: "customer", sub: ghost }, JWT_SECRET);
    const me = await api.gql(`{ me { id } }`, {}, api.bearer(token));
    expect(codes(me)).toEqual(["NOT_FOUND"]);
    expect(me.data ?? null).toBeNull();
    const order = await api.gql(`query($id: ID!) { order(id: $id) { id } }`, { id: aliceOrder.id }, api.bearer(token));
    expect(order).toEqual({ data: { order: null }, extensions: { cost: expect.any(Object) } });
  });
});
