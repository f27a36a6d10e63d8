// Every stock change leaves its event in the outbox, in the same transaction,
// and each event, as the relay publishes it, matches the documented JSON schema
// (docs/events/*.schema.json) whichever code path wrote it (SQL or TypeScript).
import { readFileSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { toStreamMessage } from "../../src/realtime/stream-events.js";
import { startApi, type Api } from "../support/api.js";
import { expectTypename } from "../support/shop.js";

const schemaOf = (name: string) => JSON.parse(readFileSync(new URL(`../../docs/events/${name}.schema.json`, import.meta.url), "utf8"));
const topics = {
  stockChanged: "inventory.stock-changed",
  orderStatusChanged: "orders.status-changed",
  priceChanged: "pricing.price-changed",
};

/** The subset of JSON Schema our event schemas use. */
function conforms(value: Record<string, unknown>, schema: any): string[] {
  const problems: string[] = [];
  for (const key of schema.required ?? []) if (!(key in value)) problems.push(`missing ${key}`);
  for (const [key, v] of Object.entries(value)) {
    const prop = schema.properties[key];
    if (!prop) {
      problems.push(`unexpected ${key}`);
      continue;
    }
    const types = prop.enum ? null : [prop.type].flat();
    if (prop.enum && !prop.enum.includes(v)) problems.push(`${key}=${String(v)} not in enum`);
    if (prop.const !== undefined && v !== prop.const) problems.push(`${key}=${String(v)}, want ${String(prop.const)}`);
    if (types) {
      const actual = v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v;
      // An integer is a number too.
      if (!types.includes(actual) && !(actual === "integer" && types.includes("number"))) {
        problems.push(`${key} is ${actual}, want ${types.join("|")}`);
      }
    }
    if (Array.isArray(v) && prop.items)
      v.forEach((item, i) => problems.push(...conforms(item, prop.items).map((p) => `${key}[${i}].${p}`)));
    if (prop.minimum !== undefined && typeof v === "number" && v < prop.minimum) problems.push(`${key} below minimum`);
    if (prop.pattern && typeof v === "string" && !new RegExp(prop.pattern).test(v)) problems.push(`${key} does not match ${prop.pattern}`);
    if (prop.format === "date-time" && Number.isNaN(Date.parse(String(v)))) problems.push(`${key} is not a date-time`);
  }
  return problems;
}

let api: Api;
let sql: pg.Pool;
beforeAll(async () => {
  api = await startApi();
  sql = api.sql;
});
afterAll(async () => {
  await api?.close();
});

it("writes one event per stock change and order transition, each matching its published schema", async () => {
  const customer = await api.createCustomer();
  const product = await api.createProduct({ stock: 10 }); // CREATED (TypeScript path)
  const placed = expectTypename(await api.placeOrder(customer.token, [{ productId: product.id, quantity: 3 }]), "PlaceOrderSuccess"); // ORDER_PLACED (SQL path)
  await api.admin(`mutation($i: AdjustStockInput!) { adjustStock(input: $i) { __typename } }`, {
    i: { productId: product.id, delta: 5, reason: "RECEIVED", note: "delivery" },
  }); // RESTOCK (SQL)
  await api.gql(
    `mutation($i: CancelOrderInput!) { cancelOrder(input: $i) { __typename } }`,
    { i: { orderId: placed.order.id } },
    api.bearer(customer.token),
  ); // ORDER_CANCELLED + status

  const { rows } = await sql.query(`SELECT id, topic, key, payload FROM outbox_event ORDER BY id`);
  const events = rows.map((r) => {
    const m = toStreamMessage({ id: BigInt(r.id), topic: r.topic, payload: r.payload }, topics);
    return { topic: m.topic, key: m.key, event: JSON.parse(m.value) };
  });
  const stock = events.filter((e) => e.topic === topics.stockChanged);
  // [reason, stock (on hand), committed, available, delta (of on hand), version]: an order commits units, on hand stays.
  expect(stock.map((e) => [e.event.reason, e.event.stock, e.event.committed, e.event.available, e.event.delta, e.event.version])).toEqual([
    ["CREATED", 10, 0, 10, 10, 0],
    ["ORDER_PLACED", 10, 3, 7, 0, 1],
    ["RESTOCK", 15, 3, 12, 5, 2],
    ["ORDER_CANCELLED", 15, 0, 15, 0, 3],
  ]);
  for (const e of stock) {
    expect(conforms(e.event, schemaOf("stock-changed")), JSON.stringify(e.event)).toEqual([]);
    expect(e.key).toBe(product.id); // keyed by product: one product's events stay in one partition
    expect(e.event.productId).toBe(product.id);
  }
  expect(stock.find((e) => e.event.reason === "ORDER_PLACED")!.event.orderId).toBe(placed.order.id);
  // Schema version 2: each event lists the level it changed (the one default location here), as after the change.
  const [level] = (
    await api.admin(`query($id: ID!) { node(id: $id) { ... on Product { stockLevels { location { id code } } } } }`, { id: product.id })
  ).data.node.stockLevels;
  expect(stock.map((e) => [e.event.schemaVersion, e.event.levels])).toEqual(
    [
      [10, 0, 0, 0],
      [10, 3, 0, 1],
      [15, 3, 0, 2],
      [15, 0, 0, 3],
    ].map(([onHand, committed, reserved, version]) => [
      2,
      [
        {
          locationId: level.location.id,
          locationCode: level.location.code,
          onHand,
          committed,
          reserved,
          incoming: 0,
          available: onHand! - committed! - reserved!,
          version,
          fulfilsOrders: true,
        },
      ],
    ]),
  );

  const status = events.filter((e) => e.topic === topics.orderStatusChanged);
  expect(status).toHaveLength(1);
  expect(conforms(status[0]!.event, schemaOf("order-status-changed")), JSON.stringify(status[0]!.event)).toEqual([]);
  expect(status[0]!.event).toMatchObject({
    orderId: placed.order.id,
    customerId: customer.id,
    status: "CANCELLED",
    previousStatus: "PENDING",
    version: 1,
  });
});

it("a refused order leaves no event", async () => {
  const customer = await api.createCustomer();
  const product = await api.createProduct({ stock: 1 });
  const before = Number((await sql.query(`SELECT count(*) FROM outbox_event`)).rows[0].count);
  const refused = await api.placeOrder(customer.token, [{ productId: product.id, quantity: 2 }]);
  expect(refused.__typename).toBe("InsufficientStockError");
  expect(Number((await sql.query(`SELECT count(*) FROM outbox_event`)).rows[0].count)).toBe(before);
});
