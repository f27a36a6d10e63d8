// The pieces of the rate limits that need no server: whose bucket a request
// is charged to (client address behind proxies) and what an operation cost.
import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { clientAddress, clientOf } from "../../src/protection/client.js";
import { actualCost, requestedCost } from "../../src/protection/query-cost.js";
import { schema } from "../../src/schema/index.js";

describe("clientAddress", () => {
  it("is the socket's address unless TRUST_PROXY says proxies stand in front", () => {
    expect(clientAddress("10.0.0.1", "203.0.113.9", 0)).toBe("10.0.0.1");
    expect(clientAddress("10.0.0.1", undefined, 1)).toBe("10.0.0.1");
  });

  it("reads X-Forwarded-For as many hops back as there are trusted proxies, never further left", () => {
    // client -> proxy A -> proxy B -> us: B appended A's address, A the client's.
    const xff = "198.51.100.1, 203.0.113.9, 10.0.0.7";
    expect(clientAddress("10.0.0.8", xff, 1)).toBe("10.0.0.7");
    expect(clientAddress("10.0.0.8", xff, 2)).toBe("203.0.113.9");
    expect(clientAddress("10.0.0.8", ["198.51.100.1", "203.0.113.9"], 1)).toBe("203.0.113.9");
    // Fewer entries than trusted proxies: the leftmost there is.
    expect(clientAddress("10.0.0.8", "203.0.113.9", 3)).toBe("203.0.113.9");
  });

  it("keys customers and admins by subject and anyone else by address", () => {
    expect(clientOf({ kind: "customer", customerId: "c1" }, "a")).toEqual({ key: "customer:c1", tier: "customer" });
    expect(clientOf({ kind: "admin", customerId: "c2" }, "a")).toEqual({ key: "admin:c2", tier: "admin" });
    expect(clientOf({ kind: "admin" }, "a")).toEqual({ key: "admin:-", tier: "admin" });
    expect(clientOf({ kind: "anonymous" }, "203.0.113.9")).toEqual({ key: "address:203.0.113.9", tier: "anonymous" });
  });
});

describe("query cost", () => {
  const doc = parse(`
    query Two { __typename }
    query Page($n: Int) { products(first: $n) { edges { node { ...P name } } pageInfo { hasNextPage } } }
    fragment P on Product { id name }
  `);

  it("requested: the operation that runs, with its variables (the schema's complexity)", () => {
    // products 1 + n x (edges 1 + node 1 + id 1 + name 1 + name again (the plugin counts selections,
    // not response keys) 1 + pageInfo 1 + hasNextPage 1)
    expect(requestedCost(schema, doc, "Page", { n: 50 })).toBe(1 + 50 * 7);
    expect(requestedCost(schema, doc, "Two", {})).toBe(1);
  });

  it("actual: each field in the result once (fragments merged by response key), lists by their items", () => {
    const data = {
      products: { edges: [{ node: { id: "a", name: "A" } }, { node: { id: "b", name: "B" } }], pageInfo: { hasNextPage: false } },
    };
    // products 1 + edges 1 + 2 x (node 1 + id 1 + name 1) + pageInfo 1 + hasNextPage 1
    expect(actualCost(doc, "Page", data)).toBe(1 + 1 + 2 * 3 + 2);
    expect(actualCost(doc, "Page", { products: { edges: [], pageInfo: { hasNextPage: false } } })).toBe(4);
    // Nothing returned still costs the minimum of 1.
    expect(actualCost(doc, "Page", null)).toBe(1);
  });
});
