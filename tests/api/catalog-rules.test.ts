// Finding 8 of issue 11: SKUs unique regardless of case, currency an ISO 4217
// code, and introspection plus field suggestions behind STOCKWIRE_INTROSPECTION.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { startApi, type Api } from "../support/api.js";

let api: Api;
let closed: Api;
beforeAll(async () => {
  [api, closed] = await Promise.all([startApi(), startApi({ STOCKWIRE_INTROSPECTION: "off" })]);
});
afterAll(async () => {
  await Promise.all([api?.close(), closed?.close()]);
});

const CREATE = `mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    __typename
    ... on CreateProductSuccess { product { id sku } }
    ... on ValidationError { field }
    ... on DuplicateSkuError { sku }
  }
}`;
const create = (sku: string, currency = "EUR") =>
  api.gql(CREATE, { input: { sku, name: "N", priceCents: 100, currency, initialStock: 1 } }, api.bearer(api.adminToken));
const count = async () => Number((await api.sql.query(`SELECT count(*) FROM product`)).rows[0].count);

describe("SKUs", () => {
  it("are unique regardless of case: a second product whose SKU differs only in case is a DuplicateSkuError, nothing written", async () => {
    expect((await create("case-Sku-1")).data.createProduct.__typename).toBe("CreateProductSuccess");
    const before = await count();
    for (const sku of ["CASE-SKU-1", "case-sku-1"]) {
      expect((await create(sku)).data.createProduct).toEqual({ __typename: "DuplicateSkuError", sku });
    }
    expect(await count()).toBe(before);
  });

  it("are found regardless of case, and '_' in a SKU is not a wildcard", async () => {
    const made = (await create("under_score")).data.createProduct.product;
    const bySku = async (sku: string) => (await api.gql(`query($s: String) { product(sku: $s) { id } }`, { s: sku })).data.product;
    expect(await bySku("UNDER_SCORE")).toEqual({ id: made.id });
    expect(await bySku("underXscore")).toBeNull();
    expect(await bySku("no such sku")).toBeNull();
  });
});

describe("currency", () => {
  it.each(["XYZ", "eur", "EURO", "E1R"])("%s is refused as a ValidationError on currency", async (currency) => {
    const before = await count();
    expect((await create(`cur-${currency}`, currency)).data.createProduct).toEqual({
      __typename: "ValidationError",
      field: "currency",
    });
    expect(await count()).toBe(before);
  });

  it.each(["EUR", "USD", "JPY", "CHF"])("%s is accepted", async (currency) => {
    expect((await create(`ok-${currency}`, currency)).data.createProduct.__typename).toBe("CreateProductSuccess");
  });
});

describe("STOCKWIRE_INTROSPECTION", () => {
  it("defaults to on in development only; on|off override", () => {
    expect(loadConfig({}).introspection).toBe(true);
    expect(loadConfig({ NODE_ENV: "test" }).introspection).toBe(false);
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(40), STOCKWIRE_INTROSPECTION: "on" }).introspection).toBe(true);
    expect(loadConfig({ STOCKWIRE_INTROSPECTION: "off" }).introspection).toBe(false);
    expect(() => loadConfig({ STOCKWIRE_INTROSPECTION: "yes" })).toThrow(/^invalid STOCKWIRE_INTROSPECTION/);
  });

  it("on: introspection answers and unknown fields get suggestions", async () => {
    const schema = await api.gql(`{ __schema { queryType { name } } }`);
    expect(schema.data).toEqual({ __schema: { queryType: { name: "Query" } } });
    expect((await api.gql(`{ product { skus } }`)).errors?.[0]?.message).toMatch(/Did you mean/);
  });

  it("off: __schema and __type are refused, and no error suggests field names", async () => {
    for (const q of [`{ __schema { queryType { name } } }`, `{ __type(name: "Product") { fields { name } } }`]) {
      const r = await closed.gql(q);
      expect(r.data ?? null).toBeNull();
      expect(r.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    }
    const unknown = await closed.gql(`{ product { skus } }`);
    expect(unknown.errors?.[0]?.message).not.toMatch(/Did you mean/);
    // Ordinary queries (and __typename) still work.
    expect((await closed.gql(`{ __typename }`)).data).toEqual({ __typename: "Query" });
  });
});
