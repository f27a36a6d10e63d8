// The public catalogue on real PostgreSQL: keyset paging forwards and
// backwards (no gaps, no duplicates, oldest first, ties on created_at broken
// by id), search and inStock filters, single lookups, node(id), and client
// errors for malformed IDs, cursors and page sizes.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_PAGE_SIZE } from "../../src/schema/pagination.js";
import { startApi, type Api } from "../support/api.js";

let api: Api;
let sql: pg.Pool;

const globalId = (type: string, uuid: string) => Buffer.from(`${type}:${uuid}`).toString("base64");
const dbId = (id: string) => Buffer.from(id, "base64").toString("utf8").split(":")[1]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PRODUCTS = /* GraphQL */ `
  query Products($first: Int, $after: String, $last: Int, $before: String, $search: String, $inStock: Boolean) {
    products(first: $first, after: $after, last: $last, before: $before, search: $search, inStock: $inStock) {
      edges {
        cursor
        node {
          id
          sku
          name
          stock
          createdAt
        }
      }
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
    }
  }
`;

interface Page {
  ids: string[];
  edges: { cursor: string; node: { id: string; sku: string; name: string; stock: number; createdAt: string } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

async function products(vars: Record<string, unknown>): Promise<Page> {
  const res = await api.gql(PRODUCTS, vars);
  if (res.errors) throw new Error(`products errors: ${JSON.stringify(res.errors)}`);
  const conn = res.data.products;
  return { ...conn, ids: conn.edges.map((e: any) => e.node.id) };
}

/** Every product id (global), in the order the API promises: (created_at, id) ascending. */
async function expectedOrder(): Promise<string[]> {
  const { rows } = await sql.query(`SELECT id FROM product ORDER BY created_at, id`);
  return rows.map((r) => globalId("Product", r.id));
}

/** Pages forward with `first: size` until hasNextPage is false; returns the pages. */
async function pageForward(size: number, filter: Record<string, unknown> = {}, from?: string): Promise<Page[]> {
  const pages: Page[] = [];
  let after: string | undefined = from;
  for (let guard = 0; guard < 500; guard++) {
    const page = await products({ ...filter, first: size, after });
    pages.push(page);
    if (!page.pageInfo.hasNextPage) return pages;
    expect(page.ids).toHaveLength(size);
    after = page.pageInfo.endCursor!;
  }
  throw new Error("paging did not terminate");
}

async function pageBackward(size: number, filter: Record<string, unknown> = {}): Promise<Page[]> {
  const pages: Page[] = [];
  let before: string | undefined;
  for (let guard = 0; guard < 500; guard++) {
    const page = await products({ ...filter, last: size, before });
    pages.push(page);
    if (!page.pageInfo.hasPreviousPage) return pages;
    expect(page.ids).toHaveLength(size);
    before = page.pageInfo.startCursor!;
  }
  throw new Error("paging did not terminate");
}

// The catalogue every test below starts from (created one at a time, a few ms
// apart, so creation order is the promised oldest-first order).
const seed = [
  { sku: "CAT-A01", name: "Blue Widget", stock: 5 },
  { sku: "CAT-A02", name: "Red Widget", stock: 0 },
  { sku: "CAT-B01", name: "Green Gadget", stock: 12 },
  { sku: "CAT-B02", name: "Yellow gadget", stock: 0 },
  { sku: "cat-c01", name: "Tiny Sprocket", stock: 1 },
  { sku: "CAT-C02", name: "Huge Sprocket", stock: 40 },
  { sku: "CAT-D01", name: "Plain Box", stock: 3 },
  { sku: "CAT-D02", name: "Fancy Box", stock: 0 },
  { sku: "CAT-E01", name: "Steel Hammer", stock: 7 },
  { sku: "CAT-E02", name: "Rubber Mallet", stock: 2 },
  { sku: "CAT-F01", name: "Brass Hinge", stock: 9 },
  { sku: "XYZ-WIDGET-9", name: "Mystery Item", stock: 4 },
];
const created: { id: string; sku: string }[] = [];

beforeAll(async () => {
  api = await startApi();
  sql = api.sql;
  for (const p of seed) {
    const product = await api.createProduct({ sku: p.sku, stock: p.stock });
    await api.admin(`mutation($input: UpdateProductInput!) { updateProduct(input: $input) { __typename } }`, {
      input: { id: product.id, expectedVersion: 0, name: p.name },
    });
    created.push(product);
    await sleep(3);
  }
});
afterAll(async () => {
  await api?.close();
});

describe("products connection: paging", () => {
  it("lists exactly the seeded products of the fresh database, oldest first", async () => {
    const all = await products({ first: 50 });
    expect(all.ids).toEqual(created.map((p) => p.id));
    expect(all.ids).toEqual(await expectedOrder());
    expect(all.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
    const times = all.edges.map((e) => Date.parse(e.node.createdAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it.each([1, 4, 5, 11, 12, 13])("pages forward with first: %i through every product, no gaps, no duplicates", async (size) => {
    const pages = await pageForward(size);
    const ids = pages.flatMap((p) => p.ids);
    expect(ids).toEqual(await expectedOrder());
    expect(new Set(ids).size).toBe(ids.length);
    expect(pages).toHaveLength(Math.max(1, Math.ceil(seed.length / size)));
    expect(pages.at(-1)!.pageInfo.hasNextPage).toBe(false);
    expect(pages[0]!.pageInfo.hasPreviousPage).toBe(false);
    // Each page's cursors bracket it.
    for (const p of pages) {
      expect(p.pageInfo.startCursor).toBe(p.edges[0]!.cursor);
      expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)!.cursor);
    }
  });

  it.each([1, 5, 12])("pages backward with last: %i / before, each page oldest first", async (size) => {
    const pages = await pageBackward(size);
    // Pages come newest page first; within a page, oldest first.
    const ids = pages.reverse().flatMap((p) => p.ids);
    expect(ids).toEqual(await expectedOrder());
    expect(new Set(ids).size).toBe(ids.length);
    expect(pages[0]!.pageInfo.hasPreviousPage).toBe(false);
  });

  it("last: n without a cursor gives the newest n products", async () => {
    const page = await products({ last: 3 });
    expect(page.ids).toEqual(created.slice(-3).map((p) => p.id));
    expect(page.pageInfo.hasPreviousPage).toBe(true);
  });

  it("after and before together give the products strictly between the two cursors", async () => {
    const all = await products({ first: 50 });
    const page = await products({ first: 50, after: all.edges[2]!.cursor, before: all.edges[7]!.cursor });
    expect(page.ids).toEqual(all.ids.slice(3, 7));
  });

  it("a cursor stays valid when newer products are added: the next page continues where it left off", async () => {
    const first = await products({ first: 4 });
    const extra = await api.createProduct({ sku: "CAT-LATE-1" });
    try {
      const rest = (await pageForward(100, {}, first.pageInfo.endCursor!)).flatMap((p) => p.ids);
      expect([...first.ids, ...rest]).toEqual(await expectedOrder());
      expect(rest.at(-1)).toBe(extra.id);
    } finally {
      // Its ledger rows first (stock_movement references the product).
      await sql.query(`DELETE FROM stock_movement WHERE product_id = (SELECT id FROM product WHERE sku = 'CAT-LATE-1')`);
      await sql.query(`DELETE FROM product WHERE sku = 'CAT-LATE-1'`);
    }
  });

  it("breaks created_at ties by id: products sharing a timestamp are neither skipped nor repeated", async () => {
    // Products created in the same millisecond share created_at: force that for
    // five of them (ids sort randomly relative to creation), then page one by one.
    const tied = created.slice(3, 8).map((p) => dbId(p.id));
    const { rows } = await sql.query(`SELECT created_at FROM product WHERE id = $1`, [tied[0]]);
    const original = await sql.query(`SELECT id, created_at FROM product WHERE id = ANY($1::uuid[])`, [tied]);
    await sql.query(`UPDATE product SET created_at = $1 WHERE id = ANY($2::uuid[])`, [rows[0].created_at, tied]);
    try {
      const expected = await expectedOrder();
      for (const size of [1, 2, 3]) {
        expect((await pageForward(size)).flatMap((p) => p.ids)).toEqual(expected);
        expect((await pageBackward(size)).reverse().flatMap((p) => p.ids)).toEqual(expected);
      }
    } finally {
      for (const r of original.rows) await sql.query(`UPDATE product SET created_at = $1 WHERE id = $2`, [r.created_at, r.id]);
    }
  });
});

describe("products connection: filters", () => {
  it("search matches name or SKU, case-insensitively, and pages within the matches", async () => {
    const skus = async (search: string) => (await pageForward(2, { search })).flatMap((p) => p.edges.map((e) => e.node.sku));
    // By name, any case (one SKU also contains WIDGET).
    expect(await skus("wIdGeT")).toEqual(["CAT-A01", "CAT-A02", "XYZ-WIDGET-9"]);
    expect(await skus("GADGET")).toEqual(["CAT-B01", "CAT-B02"]);
    // By SKU, any case.
    expect(await skus("cat-c0")).toEqual(["cat-c01", "CAT-C02"]);
    expect(await skus("xyz")).toEqual(["XYZ-WIDGET-9"]);
    // Surrounding whitespace is ignored; no match is an empty page.
    expect(await skus("  sprocket ")).toEqual(["cat-c01", "CAT-C02"]);
    const none = await products({ first: 5, search: "no-such-thing" });
    expect(none.ids).toEqual([]);
    expect(none.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
  });

  it("search treats LIKE wildcards literally", async () => {
    expect((await products({ first: 50, search: "%" })).ids).toEqual([]);
    expect((await products({ first: 50, search: "CAT_A" })).ids).toEqual([]);
  });

  it("inStock: true gives only stock > 0, false only sold-out products, both oldest first", async () => {
    const inStock = (await pageForward(3, { inStock: true })).flatMap((p) => p.edges.map((e) => e.node));
    const soldOut = (await pageForward(3, { inStock: false })).flatMap((p) => p.edges.map((e) => e.node));
    expect(inStock.map((n) => n.sku)).toEqual(seed.filter((p) => p.stock > 0).map((p) => p.sku));
    expect(soldOut.map((n) => n.sku)).toEqual(seed.filter((p) => p.stock === 0).map((p) => p.sku));
    expect(inStock.every((n) => n.stock > 0)).toBe(true);
    expect(soldOut.every((n) => n.stock === 0)).toBe(true);
    // Combined with search.
    const widgets = await products({ first: 10, search: "widget", inStock: true });
    expect(widgets.edges.map((e) => e.node.sku)).toEqual(["CAT-A01", "XYZ-WIDGET-9"]);
  });

  it("totalCount counts every page's matches, whatever the page size", async () => {
    const count = async (vars: Record<string, unknown>) => {
      const res = await api.gql(
        `query($search: String, $inStock: Boolean) { products(first: 1, search: $search, inStock: $inStock) { totalCount } }`,
        vars,
      );
      return (res.data as { products: { totalCount: number } }).products.totalCount;
    };
    expect(await count({})).toBe(seed.length);
    expect(await count({ inStock: true })).toBe(seed.filter((p) => p.stock > 0).length);
    expect(await count({ inStock: false })).toBe(seed.filter((p) => p.stock === 0).length);
    expect(await count({ search: "widget", inStock: true })).toBe(2);
    expect(await count({ search: "%" })).toBe(0);
  });
});

describe("single lookups", () => {
  const PRODUCT = `query($id: ID, $sku: String) { product(id: $id, sku: $sku) { id sku name stock version } }`;

  it("product(id:) and product(sku:) find the same product", async () => {
    const target = created[2]!;
    const byId = await api.gql(PRODUCT, { id: target.id });
    const bySku = await api.gql(PRODUCT, { sku: target.sku });
    expect(byId.errors).toBeUndefined();
    expect(byId.data.product).toEqual({ id: target.id, sku: "CAT-B01", name: "Green Gadget", stock: 12, version: 1 });
    expect(bySku.data.product).toEqual(byId.data.product);
  });

  it("product(id:, sku:) with both is refused (BAD_USER_INPUT), not answered by the ID alone", async () => {
    const [a, b] = [created[0]!, created[5]!];
    const res = await api.gql(PRODUCT, { id: a.id, sku: b.sku });
    expect(res.data?.product ?? null).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT" });
  });

  it("Product.stock is described as on hand, not as what can be ordered (that is available)", async () => {
    const res = await api.gql(`{ __type(name: "Product") { fields(includeDeprecated: true) { name description } } }`);
    const stock = (res.data.__type.fields as { name: string; description: string | null }[]).find((f) => f.name === "stock")!;
    expect(stock.description).toMatch(/on hand/i);
    expect(stock.description).not.toMatch(/available to order/i);
  });

  it("unknown but well-formed lookups are null, not errors", async () => {
    const ghost = globalId("Product", "00000000-0000-4000-8000-000000000000");
    expect(await api.gql(PRODUCT, { id: ghost })).toEqual({ data: { product: null }, extensions: { cost: expect.any(Object) } });
    expect(await api.gql(PRODUCT, { sku: "NO-SUCH-SKU" })).toEqual({ data: { product: null }, extensions: { cost: expect.any(Object) } });
    // A valid ID of another type is not a product.
    const customer = await api.createCustomer();
    expect(await api.gql(PRODUCT, { id: customer.id })).toEqual({ data: { product: null }, extensions: { cost: expect.any(Object) } });
  });

  it("node(id:) and nodes(ids:) resolve products", async () => {
    const [a, b] = [created[0]!, created[5]!];
    const res = await api.gql(
      `query($id: ID!, $ids: [ID!]!) {
        node(id: $id) { __typename id ... on Product { sku } }
        nodes(ids: $ids) { __typename id ... on Product { sku } }
      }`,
      { id: a.id, ids: [b.id, a.id] },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.node).toEqual({ __typename: "Product", id: a.id, sku: a.sku });
    expect(res.data.nodes).toEqual([
      { __typename: "Product", id: b.id, sku: b.sku },
      { __typename: "Product", id: a.id, sku: a.sku },
    ]);
  });
});

describe("client errors", () => {
  const badIds = ["not-an-id", "!!!", Buffer.from("Product:not-a-uuid").toString("base64"), Buffer.from("nonsense").toString("base64")];

  it.each(badIds)("product(id: %j) is a BAD_USER_INPUT error, not an unexpected one", async (id) => {
    const res = await api.gql(`query($id: ID) { product(id: $id) { id } }`, { id });
    expect(res.data?.product ?? null).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]!.extensions?.code).toBe("BAD_USER_INPUT");
    expect(res.errors![0]!.message).not.toBe("Unexpected error.");
  });

  it.each(badIds)("node(id: %j) is a BAD_USER_INPUT error, not an unexpected one", async (id) => {
    const res = await api.gql(`query($id: ID!) { node(id: $id) { id } }`, { id });
    expect(res.data?.node ?? null).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]!.extensions?.code).toBe("BAD_USER_INPUT");
    expect(res.errors![0]!.message).not.toBe("Unexpected error.");
  });

  const badCursors = [
    "garbage",
    Buffer.from("2024-01-01T00:00:00.000Z|not-a-uuid").toString("base64url"),
    Buffer.from("not-a-date|00000000-0000-4000-8000-000000000000").toString("base64url"),
    Buffer.from("2024-01-01T00:00:00.000Z|00000000-0000-4000-8000-000000000000|x").toString("base64url"),
  ];

  it.each(badCursors)("an invalid cursor %j is a BAD_USER_INPUT error for after and for before", async (cursor) => {
    for (const vars of [
      { first: 5, after: cursor },
      { last: 5, before: cursor },
    ]) {
      const res = await api.gql(PRODUCTS, vars);
      expect(res.data?.products ?? null).toBeNull();
      expect(res.errors).toHaveLength(1);
      expect(res.errors![0]!.extensions?.code).toBe("BAD_USER_INPUT");
      expect(res.errors![0]!.message).not.toBe("Unexpected error.");
    }
  });

  it("first and last together are refused (BAD_USER_INPUT), as Relay servers do; last was ignored", async () => {
    const res = await api.gql(PRODUCTS, { first: 2, last: 1 });
    expect(res.data?.products ?? null).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]!.extensions).toMatchObject({ code: "BAD_USER_INPUT" });
  });

  it.each([{ first: -1 }, { last: -1 }])("a negative page size %j is a BAD_USER_INPUT error, not an unexpected one", async (vars) => {
    const res = await api.gql(PRODUCTS, vars);
    expect(res.data?.products ?? null).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]!.message).not.toBe("Unexpected error.");
    expect(res.errors![0]!.extensions?.code).toBe("BAD_USER_INPUT");
  });
});

// Last, because it grows the catalogue past one maximum page.
describe("page size limit", () => {
  it(`first/last above ${MAX_PAGE_SIZE} are clamped to ${MAX_PAGE_SIZE}, and paging on from there is complete`, async () => {
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => api.createProduct({ sku: `BULK-${batch}-${i}`, stock: 1 })));
    }
    const expected = await expectedOrder();
    expect(expected.length).toBeGreaterThan(MAX_PAGE_SIZE);

    const forward = await products({ first: 500 });
    expect(forward.ids).toHaveLength(MAX_PAGE_SIZE);
    expect(forward.ids).toEqual(expected.slice(0, MAX_PAGE_SIZE));
    expect(forward.pageInfo.hasNextPage).toBe(true);
    const rest = await products({ first: 500, after: forward.pageInfo.endCursor });
    expect([...forward.ids, ...rest.ids]).toEqual(expected);
    expect(rest.pageInfo.hasNextPage).toBe(false);

    const backward = await products({ last: 500 });
    expect(backward.ids).toEqual(expected.slice(-MAX_PAGE_SIZE));
    expect(backward.pageInfo.hasPreviousPage).toBe(true);

    // The schema says so: a larger page is cut to the maximum, not refused.
    const args = (await api.gql(`{ __type(name: "Query") { fields { name args { name description } } } }`)).data.__type.fields.find(
      (f: { name: string }) => f.name === "products",
    ).args as { name: string; description: string | null }[];
    for (const name of ["first", "last"]) expect(args.find((a) => a.name === name)!.description).toContain(`at most ${MAX_PAGE_SIZE}`);

    // Without first/last the default page is smaller than the maximum.
    const byDefault = await products({});
    expect(byDefault.ids.length).toBeLessThanOrEqual(MAX_PAGE_SIZE);
    expect(byDefault.ids).toEqual(expected.slice(0, byDefault.ids.length));
    expect(byDefault.pageInfo.hasNextPage).toBe(true);
  });
});
