// Finding 5 (and node(id:) of finding 4) of issue 11: nodes(ids:) answers each
// ID on its own, and nobody learns whether someone else's order or account
// exists: a customer gets null as for an ID of nothing; an anonymous caller gets
// UNAUTHENTICATED for any order or customer ID, existing or not.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeGlobalId } from "../../src/ids/index.js";
import { startApi, type Api } from "../support/api.js";
import { expectTypename } from "../support/shop.js";
import { withoutCost } from "../support/client.js";
import { holdClient } from "../support/holds.js";

let api: Api;
let mine: { id: string; token: string };
let other: { id: string; token: string };
let product: { id: string };
let myOrder: string;
let othersOrder: string;
const missing = (type: string) => encodeGlobalId(type, "00000000-0000-4000-8000-000000000000");

beforeAll(async () => {
  api = await startApi();
  [mine, other] = [await api.createCustomer(), await api.createCustomer()];
  product = await api.createProduct({ stock: 10 });
  const place = async (token: string) => {
    const r = await api.placeOrder(token, [{ productId: product.id, quantity: 1 }]);
    return expectTypename(r, "PlaceOrderSuccess").order.id;
  };
  [myOrder, othersOrder] = [await place(mine.token), await place(other.token)];
});
afterAll(async () => {
  await api?.close();
});

const NODES = `query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`;

describe("nodes(ids:)", () => {
  it("a malformed ID is null at its position with an error for it; its siblings are answered", async () => {
    const r = await api.gql(NODES, { ids: [product.id, "not-an-id", myOrder] }, api.bearer(mine.token));
    expect(r.data).toEqual({
      nodes: [{ __typename: "Product", id: product.id }, null, { __typename: "Order", id: myOrder }],
    });
    expect(r.errors).toHaveLength(1);
    expect(r.errors![0]).toMatchObject({ path: ["nodes", 1], extensions: { code: "BAD_USER_INPUT" } });
  });

  it("anonymous: an order or customer ID is UNAUTHENTICATED at its position (existing or not); the product is answered", async () => {
    const r = await api.gql(NODES, { ids: [product.id, othersOrder, missing("Order"), mine.id] });
    expect(r.data).toEqual({ nodes: [{ __typename: "Product", id: product.id }, null, null, null] });
    expect(r.errors!.map((e) => [e.path, e.extensions?.code])).toEqual([
      [["nodes", 1], "UNAUTHENTICATED"],
      [["nodes", 2], "UNAUTHENTICATED"],
      [["nodes", 3], "UNAUTHENTICATED"],
    ]);
  });

  it("a customer: someone else's order and account are null with no error, exactly as IDs of nothing", async () => {
    const theirs = await api.gql(NODES, { ids: [othersOrder, other.id, myOrder] }, api.bearer(mine.token));
    const nothing = await api.gql(NODES, { ids: [missing("Order"), missing("Customer"), myOrder] }, api.bearer(mine.token));
    expect(withoutCost(theirs)).toEqual(withoutCost(nothing));
    expect(withoutCost(theirs)).toEqual({ data: { nodes: [null, null, { __typename: "Order", id: myOrder }] } });
  });
});

describe("order(id:) and node(id:) tell nobody whether someone else's order exists", () => {
  const ask = (id: string, headers?: Record<string, string>) =>
    api.gql(`query($id: ID!) { order(id: $id) { id } node(id: $id) { id } }`, { id }, headers);

  it("a customer gets null for another customer's order, as for a missing one", async () => {
    const theirs = await ask(othersOrder, api.bearer(mine.token));
    expect(withoutCost(theirs)).toEqual({ data: { order: null, node: null } });
    expect(withoutCost(await ask(missing("Order"), api.bearer(mine.token)))).toEqual(withoutCost(theirs));
    expect((await ask(myOrder, api.bearer(mine.token))).data).toEqual({ order: { id: myOrder }, node: { id: myOrder } });
  });

  it("anonymous gets the same UNAUTHENTICATED for an existing and a missing order", async () => {
    const existing = await ask(othersOrder);
    const absent = await ask(missing("Order"));
    expect(withoutCost(existing)).toEqual(withoutCost(absent));
    expect(existing.data).toEqual({ order: null, node: null });
    expect(existing.errors!.map((e) => e.extensions?.code)).toEqual(["UNAUTHENTICATED", "UNAUTHENTICATED"]);
  });

  it("node(id:) finds a WaitlistEntry (it implements Node) for its customer; for others it is null", async () => {
    const soldOut = await api.createProduct({ stock: 0 });
    const joined = expectTypename(await holdClient(api.gql).join(mine.token, soldOut.id), "JoinWaitlistSuccess").entry;
    const node = (token: string) =>
      api.gql(`query($id: ID!) { node(id: $id) { __typename id ... on WaitlistEntry { status } } }`, { id: joined.id }, api.bearer(token));
    expect(withoutCost(await node(mine.token))).toEqual({
      data: { node: { __typename: "WaitlistEntry", id: joined.id, status: "WAITING" } },
    });
    expect(withoutCost(await node(other.token))).toEqual({ data: { node: null } });
  });

  it("node(id:) with an unknown type name is null with no library message", async () => {
    const r = await api.gql(`query($id: ID!) { node(id: $id) { id } }`, { id: missing("Foo") }, api.bearer(mine.token));
    expect(withoutCost(r)).toEqual({ data: { node: null } });
  });
});
