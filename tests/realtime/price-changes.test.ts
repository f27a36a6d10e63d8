// Price changes across two full instances (api + relay + bridge each) on one
// PostgreSQL, Kafka and Redis: a price set through A reaches B's in-memory
// prices as a price-changed event (outbox -> Kafka -> Redis), so B shows the
// new price without being told directly, and charges it; a customer's group
// set through A reaches B's memory of groups (Redis pub/sub). (An order priced
// before the event arrives is checked by the statement: tests/api/pricing.test.ts.)
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, sqlPool, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import { eventually, shopAt, startInstance, stockwireEnv, streamNames, type Instance } from "../support/stockwire.js";
import type { Shop } from "../support/shop.js";

let database: TestDatabase;
let sql: pg.Pool;
let a: Instance;
let b: Instance;
let viaA: Shop;
let viaB: Shop;

beforeAll(async () => {
  database = await createTestDatabase();
  sql = sqlPool(database.url);
  const env = stockwireEnv(
    { databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() },
    streamNames("price-changes"),
    ["api", "relay", "bridge"],
  );
  [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
  viaA = await shopAt(a.url);
  viaB = await shopAt(b.url);
}, 60_000);
afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await sql?.end();
  await database?.drop();
});

const PRICE = `query($id: ID!) { product(id: $id) { price { amountCents } } }`;

describe("price changes between instances", () => {
  it("a price set through one instance reaches the other's prices by event", async () => {
    const product = await viaA.createProduct({ priceCents: 1999 });
    const created = await viaA.admin(
      `mutation($input: CreatePriceListInput!) { createPriceList(input: $input) { ... on CreatePriceListSuccess { priceList { id } } } }`,
      { input: { code: `RT-${process.pid}`, name: "Members", currency: "EUR", customerGroup: "members", priority: 0 } },
    );
    const listId = created.data.createPriceList.priceList.id;
    const customer = await viaA.createCustomer();
    await viaA.admin(`mutation($input: SetCustomerGroupInput!) { setCustomerGroup(input: $input) { __typename } }`, {
      input: { customerId: customer.id, customerGroup: "members" },
    });
    const set = (cents: number) =>
      viaA.admin(`mutation($input: SetPriceListEntryInput!) { setPriceListEntry(input: $input) { __typename } }`, {
        input: { priceListId: listId, productId: product.id, unitPriceCents: cents },
      });
    await set(1899);
    const shownOnB = async () => (await viaB.gql(PRICE, { id: product.id }, viaB.bearer(customer.token))).data.product.price.amountCents;
    await eventually("B shows 1899", async () => (await shownOnB()) === 1899);
    // B now remembers 1899; the next change reaches it only as an event.
    await set(1700);
    await eventually("B shows 1700", async () => (await shownOnB()) === 1700);
    expect(await shownOnB()).toBe(1700);

    const placed = await viaB.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }]);
    expect(placed.__typename).toBe("PlaceOrderSuccess");
    const { rows } = await sql.query(`SELECT unit_price_cents FROM order_item WHERE product_id = $1::uuid`, [
      Buffer.from(product.id, "base64").toString("utf8").split(":")[1],
    ]);
    expect(rows).toEqual([{ unit_price_cents: 1700 }]);
  });

  it("a customer's group set through one instance changes the prices the other shows them", async () => {
    const product = await viaA.createProduct({ priceCents: 2500 });
    const created = await viaA.admin(
      `mutation($input: CreatePriceListInput!) { createPriceList(input: $input) { ... on CreatePriceListSuccess { priceList { id } } } }`,
      { input: { code: `GR-${process.pid}`, name: "Wholesale", currency: "EUR", customerGroup: "wholesale", priority: 0 } },
    );
    await viaA.admin(`mutation($input: SetPriceListEntryInput!) { setPriceListEntry(input: $input) { __typename } }`, {
      input: { priceListId: created.data.createPriceList.priceList.id, productId: product.id, unitPriceCents: 2000 },
    });
    const customer = await viaA.createCustomer();
    const group = (customerGroup: string | null) =>
      viaA.admin(`mutation($input: SetCustomerGroupInput!) { setCustomerGroup(input: $input) { __typename } }`, {
        input: { customerId: customer.id, customerGroup },
      });
    const shownOnB = async () => (await viaB.gql(PRICE, { id: product.id }, viaB.bearer(customer.token))).data.product.price.amountCents;
    // B remembers the customer's group (none) from here on.
    expect(await shownOnB()).toBe(2500);
    await group("wholesale");
    await eventually("B shows the wholesale price", async () => (await shownOnB()) === 2000);
    await group(null);
    await eventually("B shows the base price again", async () => (await shownOnB()) === 2500);
  });
});
