// The N+1 check: nested reads cost a constant number of SQL statements,
// whatever the page size, because every nested lookup goes through a
// per-request DataLoader that batches it into one query. Statements are
// counted with openDatabase's `onQuery` hook, i.e. what is really sent (through Prisma, and the raw
// statements sent past it to the pg driver, such as the catalogue's product reads).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { expectTypename } from "../support/shop.js";

/** A small constant: one statement per level (page, customers, items, products) plus slack. */
const MAX_STATEMENTS = 6;

let api: Api;
const statements: string[] = [];
let recording = false;
let customers: { id: string; token: string }[];
let products: { id: string; sku: string }[];
const orderIds: string[] = [];

beforeAll(async () => {
  // No hold sweeper, and a bulk import runner that looks for work once an hour: their polling would be counted with the request's statements.
  api = await startApi(
    { HOLD_SWEEP_INTERVAL_MS: "0" },
    { onQuery: (sql) => recording && statements.push(sql) },
    { bulkImport: { pollMs: 3_600_000 } },
  );
  customers = await Promise.all(Array.from({ length: 6 }, () => api.createCustomer()));
  products = await Promise.all(Array.from({ length: 8 }, () => api.createProduct({ stock: 10_000 })));
  // 60 orders, 10 per customer, each with one to three distinct products.
  for (let i = 0; i < 60; i++) {
    const lines = Array.from({ length: 1 + (i % 3) }, (_, j) => ({ productId: products[(i + j * 3) % 8]!.id, quantity: 1 + j }));
    const result = expectTypename(await api.placeOrder(customers[i % 6]!.token, lines), "PlaceOrderSuccess");
    orderIds.push(result.order.id);
  }
});
afterAll(async () => {
  await api?.close();
});

/** Runs one admin query and returns its response with the SQL statements it caused. */
async function record(query: string, variables?: Record<string, unknown>) {
  statements.length = 0;
  recording = true;
  try {
    const res = await api.admin(query, variables);
    return { res, sql: [...statements] };
  } finally {
    recording = false;
  }
}

const show = (label: string, sql: string[]) =>
  `${label}: ${sql.length} statements\n${sql.map((s, i) => `  [${i + 1}] ${s.replace(/\s+/g, " ").slice(0, 300)}`).join("\n")}`;

describe("DataLoader batching (no N+1)", () => {
  it("onQuery sees the statements of a plain read (the counter works)", async () => {
    const { res, sql } = await record(`{ products(first: 3) { edges { node { sku } } } }`);
    expect(res.errors).toBeUndefined();
    expect(res.data.products.edges).toHaveLength(3);
    expect(sql.length, show("products(first: 3)", sql)).toBeGreaterThanOrEqual(1);
    expect(
      sql.some((s) => /from\s+("public"\.)?"?product"?\s/i.test(s)),
      show("products(first: 3)", sql),
    ).toBe(true);
  });

  const ORDERS = /* GraphQL */ `
    query ($first: Int!) {
      orders(first: $first) {
        edges {
          node {
            customer {
              name
            }
            items {
              quantity
              product {
                sku
                stock
              }
            }
          }
        }
      }
    }
  `;

  it("orders -> customer, items -> product costs the same few statements for 5 and for 50 orders", async () => {
    const five = await record(ORDERS, { first: 5 });
    const fifty = await record(ORDERS, { first: 50 });
    for (const [label, run, n] of [
      ["first: 5", five, 5],
      ["first: 50", fifty, 50],
    ] as const) {
      expect(run.res.errors, label).toBeUndefined();
      const edges = run.res.data.orders.edges;
      expect(edges).toHaveLength(n);
      // The nested data really was resolved (so the statements counted did the work).
      for (const { node } of edges) {
        expect(node.customer.name).toBe("Test Customer");
        expect(node.items.length).toBeGreaterThanOrEqual(1);
        for (const item of node.items) expect(products.map((p) => p.sku)).toContain(item.product.sku);
      }
      expect(run.sql.length, show(label, run.sql)).toBeLessThanOrEqual(MAX_STATEMENTS);
    }
    expect(fifty.sql.length, `${show("first: 5", five.sql)}\n${show("first: 50", fifty.sql)}`).toBe(five.sql.length);
  });

  const CUSTOMERS = /* GraphQL */ `
    query ($first: Int!) {
      customers(first: $first) {
        edges {
          node {
            orders(first: 10) {
              edges {
                node {
                  items {
                    product {
                      sku
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  `;

  it("customers -> orders -> items -> product costs the same few statements for 1 and for all customers", async () => {
    const one = await record(CUSTOMERS, { first: 1 });
    const all = await record(CUSTOMERS, { first: 20 });
    expect(one.res.errors).toBeUndefined();
    expect(all.res.errors).toBeUndefined();
    expect(one.res.data.customers.edges).toHaveLength(1);
    expect(all.res.data.customers.edges).toHaveLength(customers.length);
    for (const { node } of all.res.data.customers.edges) {
      expect(node.orders.edges).toHaveLength(10);
      for (const o of node.orders.edges) expect(o.node.items.length).toBeGreaterThanOrEqual(1);
    }
    expect(one.sql.length, show("customers(first: 1)", one.sql)).toBeLessThanOrEqual(MAX_STATEMENTS);
    expect(all.sql.length, show("customers(first: 20)", all.sql)).toBeLessThanOrEqual(MAX_STATEMENTS);
    expect(all.sql.length, `${show("first: 1", one.sql)}\n${show("first: 20", all.sql)}`).toBe(one.sql.length);
  });

  it("nodes(ids:) over 50 orders batches the order, item and product lookups", async () => {
    const query = `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Order { id customer { name } items { product { sku } } } } }`;
    const few = await record(query, { ids: orderIds.slice(0, 2) });
    const many = await record(query, { ids: orderIds.slice(0, 50) });
    expect(few.res.errors).toBeUndefined();
    expect(many.res.errors).toBeUndefined();
    expect(many.res.data.nodes.map((n: any) => n.id)).toEqual(orderIds.slice(0, 50));
    expect(many.sql.length, show("nodes(50)", many.sql)).toBeLessThanOrEqual(MAX_STATEMENTS);
    expect(many.sql.length, `${show("nodes(2)", few.sql)}\n${show("nodes(50)", many.sql)}`).toBe(few.sql.length);
  });

  it("products { price priceTiers } for a grouped customer: one statement for every product's prices, none once they are in memory", async () => {
    const [c] = customers;
    const grouped = await api.admin(`mutation($input: SetCustomerGroupInput!) { setCustomerGroup(input: $input) { __typename } }`, {
      input: { customerId: c!.id, customerGroup: "members" },
    });
    expect(grouped.data.setCustomerGroup.__typename).toBe("SetCustomerGroupSuccess");
    const query = `{ products(first: 8) { edges { node { price(quantity: 5) { amountCents } priceTiers { minQuantity } } } } }`;
    const asCustomer = async () => {
      statements.length = 0;
      recording = true;
      try {
        const res = await api.gql(query, {}, api.bearer(c!.token));
        expect(res.errors).toBeUndefined();
        expect(res.data.products.edges).toHaveLength(8);
        return [...statements];
      } finally {
        recording = false;
      }
    };
    const pricingReads = (sql: string[]) => sql.filter((s) => /price_list_entry/i.test(s));
    api.app.services.prices.dropAll(); // the orders above priced these products already
    const first = await asCustomer();
    expect(pricingReads(first), show("first", first)).toHaveLength(1);
    expect(first.length, show("first", first)).toBeLessThanOrEqual(MAX_STATEMENTS);
    const again = await asCustomer();
    expect(pricingReads(again), show("again", again)).toHaveLength(0);
  });
});
