// Bad input and abuse: parse errors, the graphql-armor limits
// (REQUEST_LIMITS), the request body limit, input bounds on placeOrder,
// variable coercion errors, error masking of unexpected failures, GraphiQL.
import http from "node:http";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REQUEST_LIMITS } from "../../src/app.js";
import { COMPLEXITY_LIMIT } from "../../src/schema/complexity.js";
import { startApi, type Api } from "../support/api.js";
import { source, withoutCost } from "../support/client.js";
import { PLACE_ORDER } from "../support/operations.js";
import { postgresAdminUrl } from "../support/services.js";

let api: Api;
let sql: pg.Pool;
let baseUrl: string;
beforeAll(async () => {
  api = await startApi();
  sql = api.sql;
  // Also listen on a real port, for requests that need real HTTP framing
  // (Content-Length, chunked transfer encoding). api.close() stops it.
  baseUrl = await api.app.start();
});
afterAll(async () => {
  await api?.close();
});

interface Raw {
  status: number;
  text: string;
  body: { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function toRaw(res: Response): Promise<Raw> {
  const text = await res.text();
  let body: Raw["body"];
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`not JSON (HTTP ${res.status}): ${text.slice(0, 300)}`);
  }
  return { status: res.status, text, body };
}

/** POST /graphql in process with a raw body. */
async function postRaw(body: BodyInit, headers: Record<string, string> = {}, target: Api = api): Promise<Raw> {
  return toRaw(
    await target.fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json", ...headers },
      body,
      ...(body instanceof ReadableStream && { duplex: "half" }),
    } as RequestInit),
  );
}

const post = (query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}, target: Api = api) =>
  postRaw(JSON.stringify({ query, variables }), headers, target);
const asAdmin = (query: string, variables?: Record<string, unknown>) => post(query, variables, api.bearer(api.adminToken));

const codes = (r: Raw) => (r.body.errors ?? []).map((e) => e.extensions?.code);

/** Nothing that hints at internals: stack frames, SQL, Prisma, driver or database details. */
function expectNoInternals(text: string) {
  expect(text).not.toMatch(/\bat (async )?[\w$.<>]+ \(|\bat (file|node):|node:internal|\.(ts|js|mjs|cjs):\d+/); // stack frames
  expect(text).not.toMatch(/"stack"/i);
  expect(text).not.toMatch(/SELECT|INSERT|UPDATE |FROM "|relation "|database "/i);
  expect(text).not.toMatch(/prisma|postgres|adapter|pg-pool|ECONN|driver/i);
}

/** For masked server failures: not even the words a stack or the original error would bring. */
function expectNothingButTheMask(text: string) {
  expectNoInternals(text);
  expect(text).not.toMatch(/\bat /);
  expect(text).not.toMatch(/stack/i);
  expect(text).not.toMatch(/originalError/);
  expect(text).not.toMatch(/database|does not exist|terminat|connection|pool/i);
}

const count = async (table: string) => Number((await sql.query(`SELECT count(*) FROM "${table}"`)).rows[0].count);
async function snapshot(productId: string) {
  return {
    orders: await count("order"),
    items: await count("order_item"),
    outbox: await count("outbox_event"),
    product: await api.stockOf(productId),
  };
}

/** A selection nested `depth` fields deep (customers > edges > node > orders > edges > node > customer > ...). */
// Page sizes of 1 keep the cost low, so these queries test depth, not complexity.
function nestedQuery(depth: number): string {
  const cycle = ["orders(first: 1)", "edges", "node", "customer"];
  const path = ["customers(first: 1)", "edges", "node"];
  while (path.length < depth - 1) path.push(cycle[(path.length - 3) % 4]!);
  return `{ ${path.reduceRight((inner, field) => `${field} { ${inner} }`, "id")} }`;
}

describe("malformed requests", () => {
  it("malformed GraphQL gets a clear parse error (GRAPHQL_PARSE_FAILED), HTTP 400, no stack", async () => {
    const r = await post(`{ products(first: 1) { edges `);
    expect(r.status).toBe(400);
    expect(r.body.data).toBeUndefined();
    expect(r.body.errors).toHaveLength(1);
    expect(r.body.errors![0]!.message).toMatch(/^Syntax Error: /);
    expect(codes(r)).toEqual(["GRAPHQL_PARSE_FAILED"]);
    expectNoInternals(r.text);
  });

  it("a body that is not JSON, or has no query, is a 400 client error, not 'Unexpected error.'", async () => {
    for (const body of ["{ not json", JSON.stringify({ variables: {} }), JSON.stringify({ query: 42 })]) {
      const r = await postRaw(body);
      expect(r.status, body).toBe(400);
      expect(r.text, body).not.toContain("Unexpected error.");
      expectNoInternals(r.text);
    }
  });

  it("batched requests (a JSON array) are refused", async () => {
    const r = await postRaw(JSON.stringify([{ query: "{ __typename }" }, { query: "{ __typename }" }]));
    expect(r.status).toBe(400);
    expect(r.body.data).toBeUndefined();
    expect(r.body.errors![0]!.message).toMatch(/batching/i);
  });

  it("a mutation over GET is refused with 405 and does nothing", async () => {
    const before = await count("customer");
    const query = `mutation { createCustomer(input: { email: "via-get@example.com", name: "Get" }) { __typename } }`;
    const res = await api.fetch(`/graphql?query=${encodeURIComponent(query)}`, {
      headers: { ...api.bearer(api.adminToken), accept: "application/json" },
    });
    const r = await toRaw(res);
    expect(r.status).toBe(405);
    expect(r.body.data).toBeUndefined();
    expect(await count("customer")).toBe(before);
  });
});

describe("graphql-armor limits (REQUEST_LIMITS)", () => {
  it(`accepts a query exactly maxDepth (${REQUEST_LIMITS.maxDepth}) deep`, async () => {
    const r = await asAdmin(nestedQuery(REQUEST_LIMITS.maxDepth));
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data).toEqual({ customers: { edges: [] } });
  });

  it(`rejects a query deeper than maxDepth with a clear error (not called a syntax error) and no data`, async () => {
    const r = await asAdmin(nestedQuery(REQUEST_LIMITS.maxDepth + 1));
    expect(r.body.data ?? null).toBeNull();
    // The depth error comes first (validation goes on: this query also selects id on a connection).
    expect(r.body.errors![0]!.extensions?.code).toBe("QUERY_TOO_DEEP");
    expect(r.body.errors![0]!.message).toBe(
      `Query depth limit of ${REQUEST_LIMITS.maxDepth} exceeded, found ${REQUEST_LIMITS.maxDepth + 1}.`,
    );
    expectNoInternals(r.text);
  });

  it("counts depth the same whether or not the query uses fragments (a maxDepth-deep query with fragments is accepted)", async () => {
    // Depth 12, like nestedQuery(12), split into two fragments as client libraries do.
    const inline = nestedQuery(REQUEST_LIMITS.maxDepth);
    const withFragments = /* GraphQL */ `
      query {
        customers(first: 1) {
          edges {
            node {
              ...A
            }
          }
        }
      }
      fragment A on Customer {
        orders(first: 1) {
          edges {
            node {
              customer {
                ...B
              }
            }
          }
        }
      }
      fragment B on Customer {
        orders(first: 1) {
          edges {
            node {
              customer {
                id
              }
            }
          }
        }
      }
    `;
    expect(inline).toBe(
      "{ customers(first: 1) { edges { node { orders(first: 1) { edges { node { customer { orders(first: 1) { edges { node { customer { id } } } } } } } } } } } }",
    );
    const r = await asAdmin(withFragments);
    expect(r.body.errors, r.text).toBeUndefined();
    expect(r.body.data).toEqual({ customers: { edges: [] } });
  });

  it("rejects depth hidden in fragments as well", async () => {
    // Depth 13: customers > edges > node > orders > edges > node > customer > orders > edges > node > items > product > sku
    const query = /* GraphQL */ `
      query {
        customers {
          edges {
            node {
              ...A
            }
          }
        }
      }
      fragment A on Customer {
        orders {
          edges {
            node {
              customer {
                orders {
                  edges {
                    node {
                      ...B
                    }
                  }
                }
              }
            }
          }
        }
      }
      fragment B on Order {
        items {
          product {
            sku
          }
        }
      }
    `;
    const r = await asAdmin(query);
    expect(r.body.data ?? null, r.text).toBeNull();
    expect(r.body.errors![0]!.message).toMatch(/^Query depth limit of 12 exceeded, found \d+\.$/);
  });

  it(`accepts ${REQUEST_LIMITS.maxAliases} aliases and rejects ${REQUEST_LIMITS.maxAliases + 1}, also when hidden in a fragment`, async () => {
    const aliases = (n: number) => Array.from({ length: n }, (_, i) => `a${i}: products(first: 1) { edges { node { id } } }`).join(" ");
    const ok = await post(`{ ${aliases(REQUEST_LIMITS.maxAliases)} }`);
    expect(ok.body.errors).toBeUndefined();
    expect(Object.keys(ok.body.data)).toHaveLength(REQUEST_LIMITS.maxAliases);

    const tooMany = await post(`{ ${aliases(REQUEST_LIMITS.maxAliases + 1)} }`);
    expect(tooMany.body.data ?? null).toBeNull();
    expect(tooMany.body.errors![0]!.message).toBe(
      `Aliases limit of ${REQUEST_LIMITS.maxAliases} exceeded, found ${REQUEST_LIMITS.maxAliases + 1}.`,
    );

    // 11 aliases in a fragment, spread twice: 22.
    const viaFragment = await post(
      `{ x: products { ...F } y: products { ...F } } fragment F on QueryProductsConnection { ${Array.from({ length: 11 }, (_, i) => `b${i}: pageInfo { hasNextPage }`).join(" ")} }`,
    );
    expect(viaFragment.body.data ?? null).toBeNull();
    expect(viaFragment.body.errors![0]!.message).toMatch(/Aliases limit of 20 exceeded/);
  });

  it(`rejects more than maxTokens (${REQUEST_LIMITS.maxTokens}) tokens before parsing them all`, async () => {
    const r = await post(`{ ${Array.from({ length: REQUEST_LIMITS.maxTokens + 10 }, () => "__typename").join(" ")} }`);
    expect(r.status).toBe(400);
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors![0]!.message).toBe(`Syntax Error: Token limit of ${REQUEST_LIMITS.maxTokens} exceeded.`);
    expect(codes(r)).toEqual(["GRAPHQL_PARSE_FAILED"]);

    const ok = await post(`{ ${Array.from({ length: 500 }, () => "__typename").join(" ")} }`);
    expect(ok.body).toEqual({ data: { __typename: "Query" }, extensions: { cost: expect.any(Object) } });
  });

  it("rejects too many directives", async () => {
    const r = await post(`{ ${Array.from({ length: 51 }, () => "__typename @include(if: true)").join(" ")} }`);
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors![0]!.message).toMatch(/Directives limit of 50 exceeded/);
  });

  it(`rejects a query above the complexity limit (${COMPLEXITY_LIMIT.complexity}) when page sizes are literals`, async () => {
    const r = await asAdmin(`{ customers(first: 100) { edges { node { orders(first: 100) { edges { node { id } } } } } } }`);
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors![0]!.message).toMatch(new RegExp(`exceeds the limit of ${COMPLEXITY_LIMIT.complexity}`));
    expect(r.body.errors![0]!.extensions?.code).toBe("QUERY_TOO_COMPLEX");
  });

  it("rejects the same over-complex query when the page sizes come in as variables", async () => {
    // The same query as above; clients normally send `first` as a variable.
    const r = await asAdmin(`query($n: Int) { customers(first: $n) { edges { node { orders(first: $n) { edges { node { id } } } } } } }`, {
      n: 100,
    });
    expect(r.body.data ?? null, r.text).toBeNull();
    expect(r.body.errors?.[0]?.extensions?.code, r.text).toBe("QUERY_TOO_COMPLEX");
  });

  it("accepts the same query with storefront-sized pages", async () => {
    const r = await asAdmin(`query($n: Int) { customers(first: $n) { edges { node { orders(first: $n) { edges { node { id } } } } } } }`, {
      n: 20,
    });
    expect(r.body.errors, r.text).toBeUndefined();
  });

  it("limits introspection depth", async () => {
    let inner = "name";
    for (let i = 0; i < 4; i++) inner = `fields { type { ofType { fields { type { ${inner} } } } } }`;
    const r = await post(`{ __schema { types { ${inner} } } }`);
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors![0]!.message).toMatch(/introspection depth/i);
  });
});

describe("fragments that expand exponentially (REQUEST_LIMITS.maxFields)", () => {
  /** Fragment Fi spreads F(i-1) twice: `levels` levels select 2^levels fields from a document of ~40 bytes a level. */
  const doubling = (levels: number, spread = (p: string) => `...${p} ...${p}`) => {
    let fragments = "fragment F0 on Product { id }";
    for (let i = 1; i <= levels; i++) fragments += ` fragment F${i} on Product { ${spread(`F${i - 1}`)} }`;
    return `{ products(first: 1) { edges { node { ...F${levels} } } } } ${fragments}`;
  };

  it("refuses 25 doubling levels (a 1 kB document of 33 million fields) with QUERY_TOO_COMPLEX, HTTP 400, before validating or compiling it", async () => {
    const query = doubling(25);
    expect(query.length).toBeLessThan(1_200);
    const r = await post(query);
    expect(r.status).toBe(400);
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors).toHaveLength(1);
    expect(r.body.errors![0]!.message).toBe(
      `Query too broad: breadth ${2 ** 25 + 3} (fields with fragments expanded) exceeds the limit of ${REQUEST_LIMITS.maxFields}`,
    );
    expect(codes(r)).toEqual(["QUERY_TOO_COMPLEX"]);
  });

  it("refuses the same through inline fragments, aliases and directives, and 40 levels (10^12 fields)", async () => {
    const shapes = [
      doubling(24, (p) => `... on Product { ...${p} } ... { ...${p} }`),
      doubling(24, (p) => `a: id ...${p} ...${p}`),
      doubling(24, (p) => `...${p} @include(if: true) ...${p} @skip(if: false)`),
      doubling(40),
    ];
    for (const query of shapes) {
      const r = await post(query);
      expect(codes(r), query.slice(0, 200)).toEqual(["QUERY_TOO_COMPLEX"]);
      expect(r.status).toBe(400);
    }
  });

  it(`accepts ${REQUEST_LIMITS.maxFields} fields through fragments and refuses one more`, async () => {
    // products + edges + node + 2^8 ids = 259; 41 more leaves make 300.
    const extra = (n: number) => Array.from({ length: n }, () => "name").join(" ");
    const ok = await post(doubling(8).replace("{ ...F8 }", `{ ...F8 ${extra(41)} }`));
    expect(ok.body.errors, ok.text).toBeUndefined();
    expect(ok.body.data).toEqual({ products: { edges: [] } });
    const over = await post(doubling(8).replace("{ ...F8 }", `{ ...F8 ${extra(42)} }`));
    expect(codes(over)).toEqual(["QUERY_TOO_COMPLEX"]);
  });

  it("a document of two operations runs the one asked for each time (compiled plans are per operation)", async () => {
    const query = `query A { __typename } query B { products(first: 1) { edges { node { id } } } }`;
    const a = await postRaw(JSON.stringify({ query, operationName: "A" }));
    expect(a.body.data).toEqual({ __typename: "Query" });
    const b = await postRaw(JSON.stringify({ query, operationName: "B" }));
    expect(b.body.data, b.text).toEqual({ products: { edges: expect.any(Array) } });
    const again = await postRaw(JSON.stringify({ query, operationName: "A" }));
    expect(again.body.data).toEqual({ __typename: "Query" });
  });
});

describe("request body size", () => {
  const body = (size: number) => JSON.stringify({ query: "{ __typename }" }).padEnd(size, " ");

  it(`accepts a body of exactly maxBodyBytes (${REQUEST_LIMITS.maxBodyBytes}) and refuses one byte more with 413 (Content-Length over HTTP)`, async () => {
    const ok = await fetch(`${baseUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: body(REQUEST_LIMITS.maxBodyBytes),
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ data: { __typename: "Query" }, extensions: { cost: expect.any(Object) } });

    const tooBig = await fetch(`${baseUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: body(REQUEST_LIMITS.maxBodyBytes + 1),
    });
    const r = await toRaw(tooBig);
    expect(r.status).toBe(413);
    expect(r.body.data).toBeUndefined();
    expect(codes(r)).toEqual(["REQUEST_ENTITY_TOO_LARGE"]);
  });

  it("refuses a multi-megabyte body with 413", async () => {
    const r = await toRaw(
      await fetch(`${baseUrl}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: body(5_000_000) }),
    );
    expect(r.status).toBe(413);
  });

  /** A JSON body streamed in 5 kB chunks with no Content-Length. */
  const chunked = (size: number) => {
    const enc = new TextEncoder();
    const text = body(size);
    return new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < text.length; i += 5000) controller.enqueue(enc.encode(text.slice(i, i + 5000)));
        controller.close();
      },
    });
  };

  it("refuses an oversized chunked body (no Content-Length) with 413 over HTTP", async () => {
    const res = await fetch(`${baseUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chunked(REQUEST_LIMITS.maxBodyBytes + 50_000),
      duplex: "half",
    } as RequestInit);
    const r = await toRaw(res);
    expect(r.status).toBe(413);
    expect(codes(r)).toEqual(["REQUEST_ENTITY_TOO_LARGE"]);
  });

  it("after a 413 for a chunked body, the client's next request on its keep-alive connection is answered (the 413 closes it)", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    /** POST over the one pooled socket, the body written in 5 kB chunks (chunked) or with a Content-Length. */
    const send = (text: string, chunkedBody: boolean) =>
      new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
        const headers = { "content-type": "application/json", ...(!chunkedBody && { "content-length": String(Buffer.byteLength(text)) }) };
        const req = http.request(`${baseUrl}/graphql`, { method: "POST", agent, headers }, (res) => {
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode!, connection: res.headers.connection, body }));
        });
        req.on("error", reject);
        for (let i = 0; i < text.length; i += 5000) req.write(text.slice(i, i + 5000));
        req.end();
      });
    try {
      const refused = await send(body(REQUEST_LIMITS.maxBodyBytes + 100_000), true);
      expect(refused.status).toBe(413);
      expect(refused.connection).toBe("close");
      const next = await send(JSON.stringify({ query: "{ __typename }" }), false);
      expect(next.status).toBe(200);
      expect(withoutCost(JSON.parse(next.body))).toEqual({ data: { __typename: "Query" } });
    } finally {
      agent.destroy();
    }
  });

  it("in process, a Content-Length that understates the body proves nothing: the body is still counted (413)", async () => {
    const r = await postRaw(chunked(REQUEST_LIMITS.maxBodyBytes + 50_000), { "content-length": "100" });
    expect(r.status).toBe(413);
    expect(codes(r)).toEqual(["REQUEST_ENTITY_TOO_LARGE"]);
  });

  it("refuses a Content-Length that is not one integer with 400", async () => {
    const r = await postRaw(JSON.stringify({ query: "{ __typename }" }), { "content-length": "-1" });
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(["BAD_REQUEST"]);
  });

  it("refuses an oversized streamed body in process (yoga.fetch) with 413, and accepts a small streamed one", async () => {
    const big = await postRaw(chunked(REQUEST_LIMITS.maxBodyBytes + 50_000), {});
    expect(big.status).toBe(413);
    const small = await postRaw(chunked(20_000));
    expect(small.status).toBe(200);
    expect(small.body).toEqual({ data: { __typename: "Query" }, extensions: { cost: expect.any(Object) } });
  });
});

describe("placeOrder input bounds: a ValidationError naming the field, nothing written", () => {
  let customer: { id: string; token: string };
  let product: { id: string; sku: string };
  beforeAll(async () => {
    customer = await api.createCustomer();
    product = await api.createProduct({ stock: 5000 });
  });

  const place = (items: { productId: string; quantity: number }[], idempotencyKey: string) =>
    post(source(PLACE_ORDER), { input: { items, idempotencyKey } }, api.bearer(customer.token));

  async function expectRefused(items: { productId: string; quantity: number }[], idempotencyKey: string, field: string) {
    const before = await snapshot(product.id);
    const r = await place(items, idempotencyKey);
    expect(r.body.errors, r.text).toBeUndefined();
    expect(r.body.data.placeOrder, r.text).toMatchObject({ __typename: "ValidationError", field });
    expect(r.body.data.placeOrder.message).toEqual(expect.any(String));
    expect(await snapshot(product.id)).toEqual(before);
  }

  const line = (quantity: number) => ({
    get productId() {
      return product.id;
    },
    quantity,
  });

  it("51 order lines", async () => {
    await expectRefused(
      Array.from({ length: 51 }, () => line(1)),
      "lines-51",
      "items",
    );
  });

  it("no order lines", async () => {
    await expectRefused([], "lines-0", "items");
  });

  it("50 order lines is fine (the boundary)", async () => {
    const r = await place(
      Array.from({ length: 50 }, () => ({ productId: product.id, quantity: 1 })),
      "lines-50",
    );
    expect(r.body.data.placeOrder.__typename, r.text).toBe("PlaceOrderSuccess");
  });

  for (const q of [0, -1, 1001]) {
    it(`quantity ${q}`, async () => {
      await expectRefused(
        [
          { productId: product.id, quantity: 1 },
          { productId: product.id, quantity: q },
        ],
        `qty-${q}`,
        "items[1].quantity",
      );
    });
  }

  it("quantity 1000 is fine (the boundary)", async () => {
    const r = await place([{ productId: product.id, quantity: 1000 }], "qty-1000");
    expect(r.body.data.placeOrder.__typename, r.text).toBe("PlaceOrderSuccess");
  });

  it("repeated lines that add up to more than 1000", async () => {
    await expectRefused(
      [
        { productId: product.id, quantity: 600 },
        { productId: product.id, quantity: 600 },
      ],
      "qty-merged",
      "items.quantity",
    );
  });

  it("quantity 2^31 cannot even be sent: Int coercion refuses it as a GraphQL error (HTTP 400), nothing written", async () => {
    const before = await snapshot(product.id);
    const r = await place([{ productId: product.id, quantity: 2 ** 31 }], "qty-2^31");
    expect(r.status).toBe(400);
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors![0]!.message).toMatch(
      /^Variable "\$input" got invalid value 2147483648 at "input\.items\[0\]\.quantity"; Int cannot represent non 32-bit signed integer value/,
    );
    expect(r.text).not.toContain("Unexpected error.");
    expect(await snapshot(product.id)).toEqual(before);
  });

  it("an idempotencyKey of 129 characters (128 is fine)", async () => {
    await expectRefused([{ productId: product.id, quantity: 1 }], "k".repeat(129), "idempotencyKey");
    const r = await place([{ productId: product.id, quantity: 1 }], "k".repeat(128));
    expect(r.body.data.placeOrder.__typename, r.text).toBe("PlaceOrderSuccess");
  });

  for (const key of ["with space", " leading", "tab\tkey", "", "schlüssel", "new\nline"]) {
    it(`an idempotencyKey ${JSON.stringify(key)}`, async () => {
      await expectRefused([{ productId: product.id, quantity: 1 }], key, "idempotencyKey");
    });
  }

  it("a productId that is not a Product ID", async () => {
    await expectRefused([{ productId: "not-an-id", quantity: 1 }], "bad-pid-1", "items[0].productId");
    await expectRefused([{ productId: customer.id, quantity: 1 }], "bad-pid-2", "items[0].productId");
  });
});

describe("wrong variables and arguments are client errors, not 'Unexpected error.'", () => {
  const cases: [string, string, Record<string, unknown> | undefined, RegExp][] = [
    [
      "a string for Int",
      `query($n: Int!) { products(first: $n) { edges { node { id } } } }`,
      { n: "ten" },
      /Variable "\$n" got invalid value "ten"; Int cannot represent non-integer value/,
    ],
    [
      "a float for Int",
      `query($n: Int!) { products(first: $n) { edges { node { id } } } }`,
      { n: 1.5 },
      /Variable "\$n" got invalid value 1\.5/,
    ],
    [
      "a missing required variable",
      `query($n: Int!) { products(first: $n) { edges { node { id } } } }`,
      {},
      /Variable "\$n" of required type "Int!" was not provided/,
    ],
    [
      "an unknown enum value",
      `query($s: OrderStatus) { orders(status: $s) { edges { node { id } } } }`,
      { s: "LOST" },
      /Variable "\$s" got invalid value "LOST"/,
    ],
    [
      "an unknown input field",
      `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { __typename } }`,
      { input: { idempotencyKey: "k", items: [], admin: true } },
      /Field "admin" is not defined by type "PlaceOrderInput"/,
    ],
    [
      "an object for a list",
      `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { __typename } }`,
      { input: { idempotencyKey: "k", items: { productId: "x" } } },
      /Variable "\$input" got invalid value/,
    ],
  ];
  for (const [name, query, variables, message] of cases) {
    it(name, async () => {
      const r = await asAdmin(query, variables);
      expect(r.status).toBe(400);
      expect(r.body.data ?? null).toBeNull();
      expect(r.body.errors).toHaveLength(1);
      expect(r.body.errors![0]!.message).toMatch(message);
      expect(r.text).not.toContain("Unexpected error.");
      expectNoInternals(r.text);
    });
  }

  it("a literal of the wrong type is a GRAPHQL_VALIDATION_FAILED error", async () => {
    const r = await post(`{ products(first: "ten") { edges { node { id } } } }`);
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    expect(r.body.errors![0]!.message).toMatch(/Int cannot represent non-integer value: "ten"/);
  });

  it("a malformed global ID or cursor is BAD_USER_INPUT", async () => {
    for (const [query, variables] of [
      [`query($id: ID!) { node(id: $id) { id } }`, { id: "%%%not-base64%%%" }],
      [`query($id: ID!) { product(id: $id) { id } }`, { id: Buffer.from("Product:123").toString("base64") }],
      [`query($id: ID!) { order(id: $id) { id } }`, { id: "garbage" }],
      [`query($c: String!) { products(first: 2, after: $c) { edges { node { id } } } }`, { c: "not-a-cursor" }],
    ] as const) {
      const r = await asAdmin(query, variables);
      expect(codes(r), `${query} ${JSON.stringify(variables)}: ${r.text}`).toEqual(["BAD_USER_INPUT"]);
      expect(r.text).not.toContain("Unexpected error.");
      expectNoInternals(r.text);
    }
  });
});

describe("unexpected server failures are masked", () => {
  let broken: Api;
  let customer: { id: string; token: string };
  let product: { id: string };
  beforeAll(async () => {
    broken = await startApi();
    customer = await broken.createCustomer();
    product = await broken.createProduct({ stock: 10 });
    // Pull the database out from under the running app.
    const name = decodeURIComponent(new URL(broken.dbUrl).pathname.slice(1));
    const admin = new pg.Client({ connectionString: postgresAdminUrl() });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  });
  afterAll(async () => {
    // Its database is gone already; close() may complain about it.
    await broken?.close().catch(() => {});
  });

  async function expectMasked(r: Raw, field: string) {
    expect(r.body.errors, r.text).toHaveLength(1);
    expect(r.body.errors![0]!.message).toBe("Unexpected error.");
    expect(r.body.errors![0]!.extensions ?? {}).not.toHaveProperty("originalError");
    expect(r.body.errors![0]).toMatchObject({ path: [field] });
    expect(r.body.data ?? null).toBeNull();
    expectNothingButTheMask(r.text);
  }

  it("a query against a dropped database answers 'Unexpected error.' and nothing more", async () => {
    await expectMasked(await post(`{ products(first: 5) { edges { node { id sku } } } }`, undefined, {}, broken), "products");
    await expectMasked(await post(`{ me { id } }`, undefined, broken.bearer(customer.token), broken), "me");
  });

  it("a mutation against a dropped database answers 'Unexpected error.' (not a typed error result)", async () => {
    await expectMasked(
      await post(
        source(PLACE_ORDER),
        { input: { idempotencyKey: "masked-1", items: [{ productId: product.id, quantity: 1 }] } },
        broken.bearer(customer.token),
        broken,
      ),
      "placeOrder",
    );
    await expectMasked(
      await post(
        `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { __typename } }`,
        { input: { email: "masked@example.com", name: "M" } },
        broken.bearer(broken.adminToken),
        broken,
      ),
      "createCustomer",
    );
  });

  it("after the connection pool is closed, queries still answer 'Unexpected error.' only", async () => {
    await broken.db.close().catch(() => {});
    await expectMasked(await post(`{ products(first: 5) { edges { node { id } } } }`, undefined, {}, broken), "products");
  });
});

describe("GraphiQL", () => {
  it("GET /graphql with Accept: text/html serves the GraphiQL page", async () => {
    const res = await api.fetch("/graphql", { headers: { accept: "text/html" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/<title>[^<]*GraphiQL<\/title>/);
    expect(html).toMatch(/graphiql/i);
  });

  it("GET /graphql without text/html is a GraphQL request, not the page", async () => {
    const res = await api.fetch(`/graphql?query=${encodeURIComponent("{ __typename }")}`, { headers: { accept: "application/json" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: "Query" }, extensions: { cost: expect.any(Object) } });
  });
});
