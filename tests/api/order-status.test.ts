// The order life cycle on real PostgreSQL: admin status changes with optimistic
// versions, customers cancelling their own orders with stock returned exactly
// once (also under concurrent cancels), refusals that change nothing, and the
// outbox rows each change writes.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { expectTypename } from "../support/shop.js";

let api: Api;
let sql: pg.Pool;

beforeAll(async () => {
  api = await startApi();
  sql = api.sql;
});
afterAll(async () => {
  await api?.close();
});

type Status = "PENDING" | "CONFIRMED" | "SHIPPED" | "DELIVERED" | "CANCELLED";

const dbId = (id: string) => Buffer.from(id, "base64").toString("utf8").split(":")[1]!;
const ghostOrderId = Buffer.from("Order:00000000-0000-4000-8000-000000000000").toString("base64");

const RESULT_FIELDS = /* GraphQL */ `
  __typename
  ... on Error { message }
  ... on InvalidTransitionError { from to }
  ... on VersionConflictError { id expectedVersion currentVersion }
  ... on NotFoundError { id }
  ... on ValidationError { field }
`;
const UPDATE_STATUS = /* GraphQL */ `
  mutation($input: UpdateOrderStatusInput!) {
    updateOrderStatus(input: $input) { ${RESULT_FIELDS} ... on UpdateOrderStatusSuccess { order { id status version } } }
  }
`;
const CANCEL = /* GraphQL */ `
  mutation($input: CancelOrderInput!) {
    cancelOrder(input: $input) { ${RESULT_FIELDS} ... on CancelOrderSuccess { order { id status version items { quantity product { id stock } } } } }
  }
`;

async function mutate(query: string, name: string, input: Record<string, unknown>, headers: Record<string, string>) {
  const res = await api.gql(query, { input }, headers);
  if (res.errors) throw new Error(`${name} errors: ${JSON.stringify(res.errors)}`);
  return res.data[name];
}
const setStatus = (orderId: string, status: Status, expectedVersion: number) =>
  mutate(UPDATE_STATUS, "updateOrderStatus", { orderId, status, expectedVersion }, api.bearer(api.adminToken));
const cancel = (token: string, orderId: string, expectedVersion?: number) =>
  mutate(CANCEL, "cancelOrder", { orderId, ...(expectedVersion != null && { expectedVersion }) }, api.bearer(token));

/** The order as stored. */
async function orderRow(orderId: string): Promise<{ status: Status; version: number }> {
  const { rows } = await sql.query(`SELECT status, version FROM "order" WHERE id = $1`, [dbId(orderId)]);
  return rows[0];
}
async function outboxFor(orderId: string) {
  const id = dbId(orderId);
  const { rows } = await sql.query(
    `SELECT topic, key, payload FROM outbox_event
     WHERE (topic = 'order-status-changed' AND key = $1) OR (topic = 'stock-changed' AND payload->>'orderId' = $1 AND payload->>'reason' = 'ORDER_CANCELLED')
     ORDER BY id`,
    [id],
  );
  return rows;
}
const outboxCount = async () => Number((await sql.query(`SELECT count(*) FROM outbox_event`)).rows[0].count);

/** A fresh customer with one PENDING order of 2 x A and 3 x B (stock 10 each). */
async function pendingOrder() {
  const customer = await api.createCustomer();
  const a = await api.createProduct({ stock: 10 });
  const b = await api.createProduct({ stock: 10 });
  const placed = expectTypename(
    await api.placeOrder(customer.token, [
      { productId: a.id, quantity: 2 },
      { productId: b.id, quantity: 3 },
    ]),
    "PlaceOrderSuccess",
  );
  expect(placed.order).toMatchObject({ status: "PENDING", version: 0 });
  return { customer, a, b, orderId: placed.order.id };
}

/** Walks a fresh order along the happy path to `status` (admin). */
async function orderIn(status: Status) {
  const o = await pendingOrder();
  const path: Status[] =
    status === "CANCELLED"
      ? ["CANCELLED"]
      : (["CONFIRMED", "SHIPPED", "DELIVERED"].slice(0, ["PENDING", "CONFIRMED", "SHIPPED", "DELIVERED"].indexOf(status)) as Status[]);
  for (const [version, s] of path.entries()) expect((await setStatus(o.orderId, s, version)).__typename).toBe("UpdateOrderStatusSuccess");
  expect(await orderRow(o.orderId)).toEqual({ status, version: path.length });
  return { ...o, version: path.length };
}

describe("updateOrderStatus (admin)", () => {
  it("walks PENDING -> CONFIRMED -> SHIPPED -> DELIVERED, bumping the version each time; shipping leaves what is orderable", async () => {
    const { orderId, a, b } = await pendingOrder();
    const stockBefore = [await api.stockOf(a.id), await api.stockOf(b.id)];
    for (const [i, status] of (["CONFIRMED", "SHIPPED", "DELIVERED"] as const).entries()) {
      const result = await setStatus(orderId, status, i);
      expect(result).toMatchObject({ __typename: "UpdateOrderStatusSuccess", order: { id: orderId, status, version: i + 1 } });
      expect(await orderRow(orderId)).toEqual({ status, version: i + 1 });
    }
    // Shipping takes the committed units off on hand (a stock change: the product's version moves), orderable stays.
    expect([await api.stockOf(a.id), await api.stockOf(b.id)]).toEqual(stockBefore.map((s) => ({ ...s, version: s.version + 1 })));
    const events = await outboxFor(orderId);
    expect(events.map((e) => [e.topic, e.payload.previousStatus, e.payload.status, e.payload.version])).toEqual([
      ["order-status-changed", "PENDING", "CONFIRMED", 1],
      ["order-status-changed", "CONFIRMED", "SHIPPED", 2],
      ["order-status-changed", "SHIPPED", "DELIVERED", 3],
    ]);
  });

  it.each([
    ["PENDING", "SHIPPED"],
    ["PENDING", "DELIVERED"],
    ["PENDING", "PENDING"],
    ["CONFIRMED", "PENDING"],
    ["CONFIRMED", "DELIVERED"],
    ["SHIPPED", "CANCELLED"],
    ["SHIPPED", "CONFIRMED"],
    ["DELIVERED", "CANCELLED"],
    ["DELIVERED", "SHIPPED"],
    ["CANCELLED", "PENDING"],
    ["CANCELLED", "CONFIRMED"],
    ["CANCELLED", "CANCELLED"],
  ] as [Status, Status][])("refuses %s -> %s with InvalidTransitionError and changes nothing", async (from, to) => {
    const { orderId, version, a } = await orderIn(from);
    const stock = await api.stockOf(a.id);
    const outbox = await outboxCount();
    expect(await setStatus(orderId, to, version)).toMatchObject({ __typename: "InvalidTransitionError", from, to });
    expect(await orderRow(orderId)).toEqual({ status: from, version });
    expect(await api.stockOf(a.id)).toEqual(stock);
    expect(await outboxCount()).toBe(outbox);
  });

  it("refuses a stale expectedVersion with VersionConflictError and changes nothing", async () => {
    const { orderId } = await orderIn("CONFIRMED");
    const outbox = await outboxCount();
    expect(await setStatus(orderId, "SHIPPED", 0)).toMatchObject({
      __typename: "VersionConflictError",
      id: orderId,
      expectedVersion: 0,
      currentVersion: 1,
    });
    expect(await orderRow(orderId)).toEqual({ status: "CONFIRMED", version: 1 });
    expect(await outboxCount()).toBe(outbox);
  });

  it("lets exactly one of 10 concurrent status changes with the same expectedVersion win", async () => {
    const { orderId } = await pendingOrder();
    const results = await Promise.all(Array.from({ length: 10 }, () => setStatus(orderId, "CONFIRMED", 0)));
    expect(results.filter((r) => r.__typename === "UpdateOrderStatusSuccess")).toHaveLength(1);
    expect(results.filter((r) => r.__typename === "VersionConflictError")).toHaveLength(9);
    expect(await orderRow(orderId)).toEqual({ status: "CONFIRMED", version: 1 });
    expect(await outboxFor(orderId)).toHaveLength(1);
  });

  it("cancelling through updateOrderStatus returns the stock too", async () => {
    const { orderId, a, b } = await orderIn("CONFIRMED");
    expect(await setStatus(orderId, "CANCELLED", 1)).toMatchObject({ order: { status: "CANCELLED", version: 2 } });
    expect(await api.stockOf(a.id)).toEqual({ stock: 10, version: 2 });
    expect(await api.stockOf(b.id)).toEqual({ stock: 10, version: 2 });
  });

  it("answers NotFoundError for a well-formed unknown order and ValidationError for a malformed id", async () => {
    expect(await setStatus(ghostOrderId, "CONFIRMED", 0)).toMatchObject({ __typename: "NotFoundError", id: ghostOrderId });
    expect(await setStatus("not-an-id", "CONFIRMED", 0)).toMatchObject({ __typename: "ValidationError", field: "orderId" });
  });

  it("is admin only: customers get FORBIDDEN (even for their own order), anonymous callers UNAUTHENTICATED", async () => {
    const { orderId, customer } = await pendingOrder();
    const outbox = await outboxCount();
    for (const [headers, code] of [
      [api.bearer(customer.token), "FORBIDDEN"],
      [{}, "UNAUTHENTICATED"],
    ] as const) {
      const res = await api.gql(UPDATE_STATUS, { input: { orderId, status: "CONFIRMED", expectedVersion: 0 } }, headers);
      expect(res.data?.updateOrderStatus ?? null).toBeNull();
      expect(res.errors?.[0]?.extensions?.code).toBe(code);
    }
    expect(await orderRow(orderId)).toEqual({ status: "PENDING", version: 0 });
    expect(await outboxCount()).toBe(outbox);
  });

  it("checks the caller before the input: a customer sending a malformed id still gets FORBIDDEN", async () => {
    const customer = await api.createCustomer();
    const res = await api.gql(
      UPDATE_STATUS,
      { input: { orderId: "malformed", status: "CONFIRMED", expectedVersion: 0 } },
      api.bearer(customer.token),
    );
    expect(res.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });
});

describe("cancelOrder", () => {
  it("lets the owner cancel a PENDING order: CANCELLED, version + 1, every line's stock returned", async () => {
    const { customer, a, b, orderId } = await pendingOrder();
    expect(await api.stockOf(a.id)).toEqual({ stock: 8, version: 1 });
    expect(await api.stockOf(b.id)).toEqual({ stock: 7, version: 1 });
    const result = await cancel(customer.token, orderId);
    expect(result).toMatchObject({ __typename: "CancelOrderSuccess", order: { id: orderId, status: "CANCELLED", version: 1 } });
    expect(await orderRow(orderId)).toEqual({ status: "CANCELLED", version: 1 });
    expect(await api.stockOf(a.id)).toEqual({ stock: 10, version: 2 });
    expect(await api.stockOf(b.id)).toEqual({ stock: 10, version: 2 });
  });

  it("writes one order-status-changed row and one stock-changed row per product", async () => {
    const { customer, a, b, orderId } = await pendingOrder();
    await cancel(customer.token, orderId);
    const events = await outboxFor(orderId);
    const statusEvents = events.filter((e) => e.topic === "order-status-changed");
    const stockEvents = events.filter((e) => e.topic === "stock-changed");
    expect(statusEvents).toEqual([
      {
        topic: "order-status-changed",
        key: dbId(orderId),
        payload: expect.objectContaining({
          orderId: dbId(orderId),
          customerId: dbId(customer.id),
          previousStatus: "PENDING",
          status: "CANCELLED",
          version: 1,
        }),
      },
    ]);
    const byKey = Object.fromEntries(stockEvents.map((e) => [e.key, e.payload]));
    expect(stockEvents).toHaveLength(2);
    expect(byKey[dbId(a.id)]).toMatchObject({
      productId: dbId(a.id),
      sku: a.sku,
      stock: 10,
      committed: 0,
      available: 10,
      version: 2,
      delta: 0,
      reason: "ORDER_CANCELLED",
      orderId: dbId(orderId),
    });
    expect(byKey[dbId(b.id)]).toMatchObject({
      productId: dbId(b.id),
      sku: b.sku,
      stock: 10,
      committed: 0,
      available: 10,
      version: 2,
      delta: 0,
      reason: "ORDER_CANCELLED",
      orderId: dbId(orderId),
    });
  });

  it("lets the owner cancel a CONFIRMED order, and honours expectedVersion", async () => {
    const { customer, a, orderId } = await orderIn("CONFIRMED");
    const outbox = await outboxCount();
    expect(await cancel(customer.token, orderId, 0)).toMatchObject({
      __typename: "VersionConflictError",
      expectedVersion: 0,
      currentVersion: 1,
    });
    expect(await orderRow(orderId)).toEqual({ status: "CONFIRMED", version: 1 });
    expect((await api.stockOf(a.id)).stock).toBe(8);
    expect(await outboxCount()).toBe(outbox);
    expect(await cancel(customer.token, orderId, 1)).toMatchObject({
      __typename: "CancelOrderSuccess",
      order: { status: "CANCELLED", version: 2 },
    });
    expect((await api.stockOf(a.id)).stock).toBe(10);
  });

  it("refuses a second cancel with InvalidTransitionError and returns the stock only once", async () => {
    const { customer, a, b, orderId } = await pendingOrder();
    await cancel(customer.token, orderId);
    const outbox = await outboxCount();
    expect(await cancel(customer.token, orderId)).toMatchObject({
      __typename: "InvalidTransitionError",
      from: "CANCELLED",
      to: "CANCELLED",
    });
    expect(await orderRow(orderId)).toEqual({ status: "CANCELLED", version: 1 });
    expect(await api.stockOf(a.id)).toEqual({ stock: 10, version: 2 });
    expect(await api.stockOf(b.id)).toEqual({ stock: 10, version: 2 });
    expect(await outboxCount()).toBe(outbox);
  });

  it("lets exactly one of 10 concurrent cancels succeed and returns the stock exactly once", async () => {
    const { customer, a, b, orderId } = await pendingOrder();
    const results = await Promise.all(Array.from({ length: 10 }, () => cancel(customer.token, orderId)));
    expect(results.filter((r) => r.__typename === "CancelOrderSuccess")).toHaveLength(1);
    const refused = results.filter((r) => r.__typename !== "CancelOrderSuccess");
    expect(refused).toHaveLength(9);
    expect(refused.every((r) => r.__typename === "InvalidTransitionError" && r.from === "CANCELLED")).toBe(true);
    expect(await orderRow(orderId)).toEqual({ status: "CANCELLED", version: 1 });
    expect(await api.stockOf(a.id)).toEqual({ stock: 10, version: 2 });
    expect(await api.stockOf(b.id)).toEqual({ stock: 10, version: 2 });
    const events = await outboxFor(orderId);
    expect(events.filter((e) => e.topic === "order-status-changed")).toHaveLength(1);
    expect(events.filter((e) => e.topic === "stock-changed")).toHaveLength(2);
  });

  it("never both ships and cancels: a cancel racing a ship leaves stock returned if and only if the order is CANCELLED", async () => {
    for (let round = 0; round < 5; round++) {
      const { customer, a, orderId } = await orderIn("CONFIRMED");
      const [shipped, ...cancels] = await Promise.all([
        setStatus(orderId, "SHIPPED", 1),
        ...Array.from({ length: 5 }, () => cancel(customer.token, orderId)),
      ]);
      const cancelled = cancels.filter((r) => r.__typename === "CancelOrderSuccess");
      expect(cancelled.length + (shipped.__typename === "UpdateOrderStatusSuccess" ? 1 : 0)).toBe(1);
      const { status } = await orderRow(orderId);
      expect((await api.stockOf(a.id)).stock).toBe(status === "CANCELLED" ? 10 : 8);
    }
  });

  it("answers NotFoundError when another customer cancels my order, and changes nothing", async () => {
    const { a, orderId } = await pendingOrder();
    const stranger = await api.createCustomer();
    const outbox = await outboxCount();
    expect(await cancel(stranger.token, orderId)).toMatchObject({ __typename: "NotFoundError", id: orderId });
    expect(await orderRow(orderId)).toEqual({ status: "PENDING", version: 0 });
    expect(await api.stockOf(a.id)).toEqual({ stock: 8, version: 1 });
    expect(await outboxCount()).toBe(outbox);
  });

  it.each(["SHIPPED", "DELIVERED"] as Status[])(
    "refuses to cancel a %s order (owner or admin) and keeps the stock sold",
    async (status) => {
      const { customer, a, b, orderId, version } = await orderIn(status);
      const outbox = await outboxCount();
      for (const token of [customer.token, api.adminToken]) {
        expect(await cancel(token, orderId)).toMatchObject({ __typename: "InvalidTransitionError", from: status, to: "CANCELLED" });
      }
      expect(await orderRow(orderId)).toEqual({ status, version });
      // Placed (version 1), shipped (version 2): nothing comes back.
      expect(await api.stockOf(a.id)).toEqual({ stock: 8, version: 2 });
      expect(await api.stockOf(b.id)).toEqual({ stock: 7, version: 2 });
      expect(await outboxCount()).toBe(outbox);
    },
  );

  it("lets an admin cancel any customer's order", async () => {
    const { a, orderId } = await pendingOrder();
    expect(await cancel(api.adminToken, orderId)).toMatchObject({ __typename: "CancelOrderSuccess", order: { status: "CANCELLED" } });
    expect((await api.stockOf(a.id)).stock).toBe(10);
  });

  it("refuses anonymous callers with UNAUTHENTICATED and unknown or malformed ids with typed errors", async () => {
    const { customer, orderId } = await pendingOrder();
    const res = await api.gql(CANCEL, { input: { orderId } });
    expect(res.data?.cancelOrder ?? null).toBeNull();
    expect(res.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(await orderRow(orderId)).toEqual({ status: "PENDING", version: 0 });
    expect(await cancel(customer.token, ghostOrderId)).toMatchObject({ __typename: "NotFoundError", id: ghostOrderId });
    expect(await cancel(customer.token, "garbage")).toMatchObject({ __typename: "ValidationError", field: "orderId" });
  });
});
