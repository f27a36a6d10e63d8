// documentSize: a document's tokens and its largest operation's fields with
// fragments expanded, counted without expanding them (pure, no schema).
import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { documentSize } from "../../src/schema/document-size.js";
import { documentCost } from "../../src/protection/query-cost.js";

/** Fragment Fi spreads F(i-1) twice, F0 selects one field: the operation selects 2^levels + 2. */
function doubling(levels: number): string {
  let fragments = "fragment F0 on Product { id }";
  for (let i = 1; i <= levels; i++) fragments += ` fragment F${i} on Product { ...F${i - 1} ...F${i - 1} }`;
  return `{ product(sku: "x") { ...F${levels} } } ${fragments}`;
}

describe("documentSize", () => {
  it("counts fields with fragments expanded, as often as they are spread", () => {
    expect(documentSize(parse(`{ products { edges { node { id sku } } } }`)).fields).toBe(5);
    expect(
      documentSize(parse(`{ a: product(sku: "a") { ...P } b: product(sku: "b") { ...P } } fragment P on Product { id name }`)).fields,
    ).toBe(6);
  });

  it("measures fragments that double per level without expanding them: 2^60 fields at once", () => {
    expect(documentSize(parse(doubling(10))).fields).toBe(2 ** 10 + 1);
    expect(documentSize(parse(doubling(60))).fields).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("counts inline fragments' fields and aliases as fields, whatever their directives", () => {
    const query = `{ product(sku: "x") { ... on Product { a: id b: id } ... @include(if: true) { sku } ...F @skip(if: true) } } fragment F on Product { ... { name } }`;
    expect(documentSize(parse(query)).fields).toBe(5);
  });

  it("counts a leaf repeated under one response key in one selection set once (it merges for free)", () => {
    expect(documentSize(parse(`{ __typename __typename __typename }`)).fields).toBe(1);
    // Not through spreads: those are what doubles.
    expect(documentSize(parse(`{ ...Q ...Q } fragment Q on Query { __typename }`)).fields).toBe(2);
  });

  it("takes the largest operation, and ends on fragment cycles (which validation then refuses)", () => {
    expect(documentSize(parse(`query A { __typename } query B { product(sku: "x") { id sku } }`)).fields).toBe(3);
    expect(
      documentSize(parse(`{ product(sku: "x") { ...A } } fragment A on Product { id ...B } fragment B on Product { ...A }`)).fields,
    ).toBe(2);
  });

  it("counts tokens, without the start and end of the source", () => {
    expect(documentSize(parse(`{ __typename }`)).tokens).toBe(3);
    expect(documentSize(parse(`query Q($a: Int) { products(first: $a) { totalCount } }`)).tokens).toBe(20);
  });
});

describe("documentCost", () => {
  it("is a base plus a point per 10 tokens and per 10 fields, fields counted only up to the breadth limit", () => {
    expect(documentCost({ tokens: 3, fields: 1 })).toBe(22);
    expect(documentCost({ tokens: 2_000, fields: 300 })).toBe(20 + 200 + 30);
    expect(documentCost({ tokens: 400, fields: Number.MAX_SAFE_INTEGER })).toBe(20 + 40 + 30);
  });
});
