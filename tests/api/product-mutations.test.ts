// Product writes on real PostgreSQL: createProduct, updateProduct (optimistic
// versions) and adjustStock (relative or compare-and-set, never below zero),
// including races, typed refusals that write nothing, and admin-only access.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../src/auth/tokens.js";
import { startApi, type Api } from "../support/api.js";
import { JWT_SECRET } from "../support/shop.js";

let api: Api;
let sql: pg.Pool;
let customerToken: string;

beforeAll(async () => {
  api = await startApi();
  sql = api.sql;
  customerToken = (await api.createCustomer()).token;
});
afterAll(async () => {
  await api?.close();
});

const dbId = (id: string) => Buffer.from(id, "base64").toString("utf8").split(":")[1]!;
const ghostId = Buffer.from("Product:00000000-0000-4000-8000-000000000000").toString("base64");
let skuCounter = 0;
const sku = () => `PM-${process.pid}-${++skuCounter}`;

const PRODUCT_FIELDS = "id sku name description priceCents currency stock version";

const CREATE = /* GraphQL */ `
  mutation($input: CreateProductInput!) {
    createProduct(input: $input) {
      __typename
      ... on CreateProductSuccess { product { ${PRODUCT_FIELDS} } }
      ... on Error { message }
      ... on DuplicateSkuError { sku }
      ... on ValidationError { field }
    }
  }
`;

const UPDATE = /* GraphQL */ `
  mutation($input: UpdateProductInput!) {
    updateProduct(input: $input) {
      __typename
      ... on UpdateProductSuccess { product { ${PRODUCT_FIELDS} } }
      ... on Error { message }
      ... on VersionConflictError { id expectedVersion currentVersion }
      ... on NotFoundError { id }
      ... on ValidationError { field }
    }
  }
`;

const ADJUST = /* GraphQL */ `
  mutation ($input: AdjustStockInput!) {
    adjustStock(input: $input) {
      __typename
      ... on AdjustStockSuccess {
        product {
          id
          stock
          version
        }
      }
      ... on Error {
        message
      }
      ... on VersionConflictError {
        id
        expectedVersion
        currentVersion
      }
      ... on InsufficientStockError {
        productId
        sku
        requested
        available
      }
      ... on NotFoundError {
        id
      }
      ... on ValidationError {
        field
      }
    }
  }
`;

/** Runs a mutation as admin and returns its result field; any GraphQL error fails the test. */
async function asAdmin(query: string, name: string, input: Record<string, unknown>) {
  const res = await api.admin(query, { input });
  if (res.errors) throw new Error(`${name} errors: ${JSON.stringify(res.errors)}`);
  return res.data[name];
}
const create = (input: Record<string, unknown>) => asAdmin(CREATE, "createProduct", input);
const update = (input: Record<string, unknown>) => asAdmin(UPDATE, "updateProduct", input);
const adjust = (input: Record<string, unknown>) => asAdmin(ADJUST, "adjustStock", { reason: "CORRECTION", ...input });

/** The product row as stored, by global ID. */
async function row(id: string) {
  const { rows } = await sql.query(
    `SELECT sku, name, description, price_cents AS "priceCents", currency, stock, version FROM product WHERE id = $1`,
    [dbId(id)],
  );
  return rows[0];
}
const count = async (table: string) => Number((await sql.query(`SELECT count(*) FROM "${table}"`)).rows[0].count);
const snapshot = async () => ({ products: await count("product"), outbox: await count("outbox_event") });
const stockEvents = async (id: string) =>
  (await sql.query(`SELECT payload FROM outbox_event WHERE topic = 'stock-changed' AND key = $1 ORDER BY id`, [dbId(id)])).rows.map(
    (r) => r.payload,
  );

const validInput = () => ({ sku: sku(), name: "Walnut Desk", description: "Solid", priceCents: 45_000, currency: "EUR", initialStock: 7 });

describe("createProduct", () => {
  it("creates the product at version 0 with its initial stock and one CREATED stock event", async () => {
    const input = validInput();
    const result = await create(input);
    expect(result.__typename).toBe("CreateProductSuccess");
    expect(result.product).toMatchObject({
      sku: input.sku,
      name: "Walnut Desk",
      description: "Solid",
      priceCents: 45_000,
      currency: "EUR",
      stock: 7,
      version: 0,
    });
    expect(await row(result.product.id)).toEqual({
      sku: input.sku,
      name: "Walnut Desk",
      description: "Solid",
      priceCents: 45_000,
      currency: "EUR",
      stock: 7,
      version: 0,
    });
    expect(await stockEvents(result.product.id)).toEqual([
      expect.objectContaining({ productId: dbId(result.product.id), sku: input.sku, stock: 7, version: 0, delta: 7, reason: "CREATED" }),
    ]);
  });

  it("trims the name and defaults a missing description to empty", async () => {
    const { description: _d, ...input } = validInput();
    const result = await create({ ...input, name: "  Oak Shelf  " });
    expect(result.product).toMatchObject({ name: "Oak Shelf", description: "" });
  });

  it("refuses a taken SKU with DuplicateSkuError and writes nothing", async () => {
    const input = validInput();
    await create(input);
    const before = await snapshot();
    const again = await create({ ...input, name: "Other", initialStock: 99 });
    expect(again).toMatchObject({ __typename: "DuplicateSkuError", sku: input.sku });
    expect(await snapshot()).toEqual(before);
    const { rows } = await sql.query(`SELECT name, stock FROM product WHERE sku = $1`, [input.sku]);
    expect(rows).toEqual([{ name: "Walnut Desk", stock: 7 }]);
  });

  it("creates exactly one product when the same new SKU is created 10 times at once", async () => {
    const input = validInput();
    const results = await Promise.all(Array.from({ length: 10 }, () => create(input)));
    expect(results.filter((r) => r.__typename === "CreateProductSuccess")).toHaveLength(1);
    expect(results.filter((r) => r.__typename === "DuplicateSkuError")).toHaveLength(9);
    const { rows } = await sql.query(`SELECT count(*)::int AS n FROM product WHERE sku = $1`, [input.sku]);
    expect(rows[0].n).toBe(1);
  });

  it.each([
    ["sku", { sku: "" }],
    ["sku", { sku: "has space" }],
    ["sku", { sku: "-leading-dash" }],
    ["sku", { sku: "X".repeat(65) }],
    ["name", { name: "" }],
    ["name", { name: "   " }],
    ["name", { name: "n".repeat(201) }],
    ["description", { description: "d".repeat(5_001) }],
    ["priceCents", { priceCents: -1 }],
    ["priceCents", { priceCents: 100_000_001 }],
    ["currency", { currency: "eur" }],
    ["currency", { currency: "EURO" }],
    ["currency", { currency: "" }],
    ["initialStock", { initialStock: -1 }],
    ["initialStock", { initialStock: 1_000_000_001 }],
  ])("refuses a bad %s (%j) with a ValidationError on that field, writing nothing", async (field, patch) => {
    const before = await snapshot();
    const input = { ...validInput(), ...patch };
    const result = await create(input);
    expect(result).toMatchObject({ __typename: "ValidationError", field });
    expect(result.message).toEqual(expect.any(String));
    expect(await snapshot()).toEqual(before);
  });
});

describe("updateProduct", () => {
  it("changes the given fields, leaves the rest and bumps the version by one", async () => {
    const p = await api.createProduct({ stock: 4, priceCents: 1000 });
    const first = await update({ id: p.id, expectedVersion: 0, name: "Renamed", priceCents: 1200 });
    expect(first.__typename).toBe("UpdateProductSuccess");
    expect(first.product).toMatchObject({ id: p.id, name: "Renamed", priceCents: 1200, stock: 4, version: 1 });
    const second = await update({ id: p.id, expectedVersion: 1, description: "new text" });
    expect(second.product).toMatchObject({ name: "Renamed", description: "new text", priceCents: 1200, version: 2 });
    expect(await row(p.id)).toMatchObject({ name: "Renamed", description: "new text", priceCents: 1200, stock: 4, version: 2 });
    const { rows } = await sql.query(`SELECT created_at, updated_at FROM product WHERE id = $1`, [dbId(p.id)]);
    expect(rows[0].updated_at.getTime()).toBeGreaterThan(rows[0].created_at.getTime());
  });

  it("refuses a stale expectedVersion with VersionConflictError and changes nothing", async () => {
    const p = await api.createProduct({ priceCents: 1000 });
    await update({ id: p.id, expectedVersion: 0, name: "Fresh" });
    const before = await row(p.id);
    const stale = await update({ id: p.id, expectedVersion: 0, name: "Stale write", priceCents: 1 });
    expect(stale).toMatchObject({ __typename: "VersionConflictError", id: p.id, expectedVersion: 0, currentVersion: 1 });
    const ahead = await update({ id: p.id, expectedVersion: 5, name: "Future write" });
    expect(ahead).toMatchObject({ __typename: "VersionConflictError", expectedVersion: 5, currentVersion: 1 });
    expect(await row(p.id)).toEqual(before);
    expect(before).toMatchObject({ name: "Fresh", priceCents: 1000, version: 1 });
  });

  it("answers NotFoundError for a well-formed unknown id", async () => {
    expect(await update({ id: ghostId, expectedVersion: 0, name: "x" })).toMatchObject({ __typename: "NotFoundError", id: ghostId });
  });

  it.each([
    ["a malformed id", { id: "nope" }, "id"],
    ["another type's id", { id: Buffer.from("Customer:00000000-0000-4000-8000-000000000000").toString("base64") }, "id"],
    ["an empty name", { name: "  " }, "name"],
    ["a negative price", { priceCents: -5 }, "priceCents"],
    ["a negative expectedVersion", { expectedVersion: -1 }, "expectedVersion"],
    ["no field to change", { name: null }, "input"],
  ])("refuses %s with a ValidationError on that field and changes nothing", async (_what, patch, field) => {
    const p = await api.createProduct();
    const before = await row(p.id);
    const result = await update({ id: p.id, expectedVersion: 0, name: "Valid", ...patch });
    expect(result).toMatchObject({ __typename: "ValidationError", field });
    expect(await row(p.id)).toEqual(before);
  });

  it("lets exactly one of 20 concurrent updates with the same expectedVersion win", async () => {
    const p = await api.createProduct();
    await update({ id: p.id, expectedVersion: 0, name: "v1" });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => update({ id: p.id, expectedVersion: 1, name: `writer ${i}` })));
    const won = results.filter((r) => r.__typename === "UpdateProductSuccess");
    const lost = results.filter((r) => r.__typename === "VersionConflictError");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(19);
    expect(lost.every((r) => r.expectedVersion === 1 && r.currentVersion === 2)).toBe(true);
    expect(await row(p.id)).toMatchObject({ name: won[0].product.name, version: 2 });
  });
});

describe("adjustStock", () => {
  it("restocks and writes off relative to the current stock, bumping the version and logging each change", async () => {
    const p = await api.createProduct({ stock: 10 });
    expect(await adjust({ productId: p.id, delta: 5, reason: "RECEIVED", note: "delivery 4711" })).toMatchObject({
      __typename: "AdjustStockSuccess",
      product: { id: p.id, stock: 15, version: 1 },
    });
    expect(await adjust({ productId: p.id, delta: -12, reason: "DAMAGED", note: "damaged" })).toMatchObject({
      product: { stock: 3, version: 2 },
    });
    expect(await adjust({ productId: p.id, delta: -3, reason: "SHRINKAGE", note: "lost" })).toMatchObject({
      product: { stock: 0, version: 3 },
    });
    expect(await row(p.id)).toMatchObject({ stock: 0, version: 3 });
    const events = await stockEvents(p.id);
    expect(events.map((e) => [e.reason, e.delta, e.stock, e.version, e.note ?? null])).toEqual([
      ["CREATED", 10, 10, 0, null],
      ["RESTOCK", 5, 15, 1, "delivery 4711"],
      ["ADJUSTMENT", -12, 3, 2, "damaged"],
      ["ADJUSTMENT", -3, 0, 3, "lost"],
    ]);
  });

  it("with expectedVersion is a compare-and-set: a stale version is a VersionConflictError and changes nothing", async () => {
    const p = await api.createProduct({ stock: 10 });
    expect(await adjust({ productId: p.id, delta: 2, expectedVersion: 0 })).toMatchObject({ product: { stock: 12, version: 1 } });
    const stale = await adjust({ productId: p.id, delta: 100, expectedVersion: 0 });
    expect(stale).toMatchObject({ __typename: "VersionConflictError", id: p.id, expectedVersion: 0, currentVersion: 1 });
    expect(await row(p.id)).toMatchObject({ stock: 12, version: 1 });
    expect(await stockEvents(p.id)).toHaveLength(2);
  });

  it("refuses a compare-and-set write-off below zero with InsufficientStockError, even with the right version", async () => {
    const p = await api.createProduct({ stock: 2 });
    expect(await adjust({ productId: p.id, delta: -3, expectedVersion: 0 })).toMatchObject({
      __typename: "InsufficientStockError",
      requested: 3,
      available: 2,
    });
    expect(await row(p.id)).toMatchObject({ stock: 2, version: 0 });
  });

  it("refuses a write-off below zero with InsufficientStockError and changes nothing", async () => {
    const p = await api.createProduct({ stock: 4 });
    const before = await snapshot();
    const result = await adjust({ productId: p.id, delta: -5 });
    expect(result).toMatchObject({ __typename: "InsufficientStockError", productId: p.id, sku: p.sku, requested: 5, available: 4 });
    expect(await row(p.id)).toMatchObject({ stock: 4, version: 0 });
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ["delta 0", { delta: 0 }, "delta"],
    ["a huge delta", { delta: 1_000_001 }, "delta"],
    ["a huge negative delta", { delta: -1_000_001 }, "delta"],
    ["a note over 200 characters", { note: "x".repeat(201) }, "note"],
    ["a malformed productId", { productId: "xyz" }, "productId"],
    ["a negative expectedVersion", { expectedVersion: -1 }, "expectedVersion"],
  ])("refuses %s with a ValidationError and changes nothing", async (_what, patch, field) => {
    const p = await api.createProduct({ stock: 10 });
    const before = await snapshot();
    const result = await adjust({ productId: p.id, delta: 1, ...patch });
    expect(result).toMatchObject({ __typename: "ValidationError", field });
    expect(await row(p.id)).toMatchObject({ stock: 10, version: 0 });
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a restock past the stock ceiling with a ValidationError on delta", async () => {
    const p = await api.createProduct({ stock: 999_999_999 });
    const result = await adjust({ productId: p.id, delta: 2 });
    expect(result).toMatchObject({ __typename: "ValidationError", field: "delta" });
    expect(await row(p.id)).toMatchObject({ stock: 999_999_999, version: 0 });
  });

  it("answers NotFoundError for a well-formed unknown product", async () => {
    expect(await adjust({ productId: ghostId, delta: 1 })).toMatchObject({ __typename: "NotFoundError", id: ghostId });
  });

  it("ends at exactly the arithmetic result after 50 restocks and 30 write-offs at once", async () => {
    const p = await api.createProduct({ stock: 100 });
    const deltas = [...Array(50).fill(1), ...Array(30).fill(-1)].sort(() => Math.random() - 0.5);
    const results = await Promise.all(deltas.map((delta) => adjust({ productId: p.id, delta })));
    expect(results.every((r) => r.__typename === "AdjustStockSuccess")).toBe(true);
    expect(await row(p.id)).toMatchObject({ stock: 120, version: 80 });
    // Every success reports a distinct version: the changes were serialised.
    expect(new Set(results.map((r) => r.product.version)).size).toBe(80);
    expect(await stockEvents(p.id)).toHaveLength(81);
  });

  it("never takes stock below zero when 30 write-offs race for 10 units", async () => {
    const p = await api.createProduct({ stock: 10 });
    const results = await Promise.all(Array.from({ length: 30 }, () => adjust({ productId: p.id, delta: -1 })));
    const won = results.filter((r) => r.__typename === "AdjustStockSuccess");
    const lost = results.filter((r) => r.__typename === "InsufficientStockError");
    expect(won).toHaveLength(10);
    expect(lost).toHaveLength(20);
    expect(lost.every((r) => r.available === 0 && r.requested === 1)).toBe(true);
    expect(await row(p.id)).toMatchObject({ stock: 0, version: 10 });
  });

  it("lets exactly one of 20 compare-and-set adjustments with the same expectedVersion win", async () => {
    const p = await api.createProduct({ stock: 10 });
    const results = await Promise.all(Array.from({ length: 20 }, () => adjust({ productId: p.id, delta: 3, expectedVersion: 0 })));
    expect(results.filter((r) => r.__typename === "AdjustStockSuccess")).toHaveLength(1);
    const lost = results.filter((r) => r.__typename === "VersionConflictError");
    expect(lost).toHaveLength(19);
    expect(lost.every((r) => r.currentVersion === 1)).toBe(true);
    expect(await row(p.id)).toMatchObject({ stock: 13, version: 1 });
  });
});

describe("adjustStock while another transaction changes the stock", () => {
  // The statement waits for the row lock the other transaction holds, then must work from the row as that
  // transaction left it, not from the snapshot it started with (which said 0 and failed the CHECK).
  it("a write-off waiting behind an uncommitted restock lands on the restocked row", async () => {
    const product = (await create({ ...validInput(), initialStock: 0 })).product;
    const other = await sql.connect();
    try {
      await other.query("BEGIN");
      await other.query("UPDATE product SET stock = stock + 2, version = version + 1 WHERE id = $1", [dbId(product.id)]);
      await other.query("UPDATE stock_level SET on_hand = on_hand + 2, version = version + 1 WHERE product_id = $1", [dbId(product.id)]);
      const writeOff = adjust({ productId: product.id, delta: -1 });
      // The write-off is queued on the row lock before the restock commits.
      for (let i = 0; i < 200; i++) {
        const { rows } = await sql.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%adjust-stock%'`,
        );
        if (rows[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await other.query("COMMIT");
      const result = await writeOff;
      expect(result).toMatchObject({ __typename: "AdjustStockSuccess", product: { stock: 1 } });
      expect((await row(product.id)).stock).toBe(1);
    } finally {
      other.release();
    }
  });
});

describe("admin only", () => {
  const mutations = (productId: string) =>
    [
      ["createProduct", CREATE, { input: validInput() }],
      ["updateProduct", UPDATE, { input: { id: productId, expectedVersion: 0, name: "Hijacked" } }],
      ["adjustStock", ADJUST, { input: { productId, delta: -1, reason: "SHRINKAGE" } }],
    ] as const;

  const cases: [string, () => Promise<Record<string, string>>, string][] = [
    ["anonymous callers", async () => ({}), "UNAUTHENTICATED"],
    ["customers", async () => api.bearer(customerToken), "FORBIDDEN"],
    [
      "an invalid token",
      async () => api.bearer(await signToken({ role: "admin" }, "some-other-secret-some-other-secret")),
      "UNAUTHENTICATED",
    ],
  ];

  it.each(cases)("refuses %s with %s on every product mutation, changing nothing", async (_who, headers, code) => {
    const p = await api.createProduct({ stock: 5 });
    const before = { row: await row(p.id), ...(await snapshot()) };
    for (const [name, query, vars] of mutations(p.id)) {
      const res = await api.gql(query, vars as Record<string, unknown>, await headers());
      expect(res.data?.[name as never] ?? null, name).toBeNull();
      expect(res.errors?.[0]?.extensions?.code, name).toBe(code);
    }
    expect({ row: await row(p.id), ...(await snapshot()) }).toEqual(before);
  });

  it("checks the caller before the input: a malformed id from an anonymous caller or a customer is still refused as such", async () => {
    for (const [headers, code] of [
      [{}, "UNAUTHENTICATED"],
      [api.bearer(customerToken), "FORBIDDEN"],
    ] as const) {
      const upd = await api.gql(UPDATE, { input: { id: "malformed", expectedVersion: 0, name: "x" } }, headers);
      expect(upd.errors?.[0]?.extensions?.code, `updateProduct ${code}`).toBe(code);
      const adj = await api.gql(ADJUST, { input: { productId: "malformed", delta: 1, reason: "OTHER" } }, headers);
      expect(adj.errors?.[0]?.extensions?.code, `adjustStock ${code}`).toBe(code);
    }
  });

  it("the same token signed with the right secret is accepted (the refusals above are about the caller)", async () => {
    const token = await signToken({ role: "admin" }, JWT_SECRET);
    const res = await api.gql(CREATE, { input: validInput() }, api.bearer(token));
    expect(res.data?.createProduct.__typename).toBe("CreateProductSuccess");
  });
});
