// Finding 2 of issue 11: text a database cannot store (a NUL byte) or UTF-8
// cannot encode (an unpaired surrogate) is refused at the schema boundary, in
// every String and ID input, as a client error naming the field; nothing written.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "../support/api.js";

let api: Api;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.close();
});

const NUL = "a\u0000b";
const LONE_HIGH = "x\uD800y";
const LONE_LOW = "\uDC00";

const count = async (table: string) => Number((await api.sql.query(`SELECT count(*) FROM "${table}"`)).rows[0].count);

describe("queries: BAD_USER_INPUT naming the argument", () => {
  it.each([
    ["product(sku:)", `query($v: String) { product(sku: $v) { id } }`, "sku"],
    ["products(search:)", `query($v: String) { products(search: $v, first: 1) { edges { node { id } } } }`, "search"],
    ["products(after:)", `query($v: String) { products(after: $v, first: 1) { edges { node { id } } } }`, "after"],
    ["nodes(ids:)", `query($v: ID!) { nodes(ids: [$v]) { id } }`, "ids[0]"],
  ])("%s", async (_name, query, field) => {
    for (const bad of [NUL, LONE_HIGH, LONE_LOW]) {
      const r = await api.gql(query, { v: bad });
      expect(r.errors, JSON.stringify(r)).toHaveLength(1);
      expect(r.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT" });
      if (!field.startsWith("ids")) expect(r.errors![0]!.extensions).toMatchObject({ field });
      expect(r.errors![0]!.message).not.toBe("Unexpected error.");
    }
  });

  it("an inline literal with \\u0000 is refused the same way", async () => {
    const r = await api.gql(`{ product(sku: "a\\u0000b") { id } }`);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "sku" });
  });

  it("well-formed text, surrogate pairs included, is accepted", async () => {
    const r = await api.gql(`query($v: String) { products(search: $v, first: 1) { edges { node { id } } } }`, {
      v: "caf\u00e9 \uD83D\uDE00",
    });
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ products: { edges: [] } });
  });
});

describe("mutations: the typed ValidationError naming the input field, nothing written", () => {
  it("createProduct", async () => {
    const before = await count("product");
    for (const [field, value] of [
      ["name", NUL],
      ["sku", LONE_LOW],
      ["description", LONE_HIGH],
      ["currency", "EU\u0000"],
    ] as const) {
      const input = { sku: `SKU-${field}`, name: "Name", priceCents: 100, currency: "EUR", initialStock: 1, [field]: value };
      const r = await api.gql(
        `mutation($input: CreateProductInput!) { createProduct(input: $input) { __typename ... on ValidationError { field message } } }`,
        { input },
        api.bearer(api.adminToken),
      );
      expect(r.errors, JSON.stringify(r)).toBeUndefined();
      expect(r.data.createProduct).toMatchObject({ __typename: "ValidationError", field });
    }
    expect(await count("product")).toBe(before);
  });

  it("placeOrder: an order line's productId and the idempotency key", async () => {
    const customer = await api.createCustomer();
    const product = await api.createProduct({ stock: 10 });
    const place = (items: { productId: string; quantity: number }[], idempotencyKey: string) =>
      api.gql(
        `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { __typename ... on ValidationError { field } } }`,
        { input: { items, idempotencyKey } },
        api.bearer(customer.token),
      );
    const orders = await count("order");
    const key = await place([{ productId: product.id, quantity: 1 }], `key-${NUL}`);
    expect(key.data.placeOrder).toEqual({ __typename: "ValidationError", field: "idempotencyKey" });
    const line = await place(
      [
        { productId: product.id, quantity: 1 },
        { productId: `${product.id}${LONE_HIGH}`, quantity: 1 },
      ],
      "key-2",
    );
    expect(line.data.placeOrder).toEqual({ __typename: "ValidationError", field: "items[1].productId" });
    expect(await count("order")).toBe(orders);
    expect((await api.stockOf(product.id)).stock).toBe(10);
  });

  it("createCustomer", async () => {
    const r = await api.gql(
      `mutation { createCustomer(input: { email: "nul\\u0000@example.com", name: "N" }) { __typename ... on ValidationError { field } } }`,
      {},
      api.bearer(api.adminToken),
    );
    expect(r.data.createCustomer).toEqual({ __typename: "ValidationError", field: "email" });
  });
});
