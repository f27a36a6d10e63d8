// Price changes across two full instances (api + relay + bridge each) on one
// PostgreSQL, Kafka and Redis: a price set through A reaches B's in-memory
// prices as a price-changed event (outbox -> Kafka -> Redis), so B shows the
// new price without being told directly, and charges it; a customer's group
// set through A reaches B's memory of groups (Redis pub/sub); a priceChanged
// subscriber on B sees each change made through A with its own group's price. (An order priced
// before the event arrives is checked by the statement: tests/api/pricing.test.ts.)
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, sqlPool, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import { graphql } from "../support/graphql.js";
import { eventually, shopAt, startInstance, stockwireEnv, streamNames, subscribe, type Instance } from "../support/stockwire.js";
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

  it("priceChanged on B: the member's price and tiers first, then each change made through A, with the base price", async () => {
    const product = await viaA.createProduct({ priceCents: 3000 });
    const created = await viaA.admin(
      `mutation($input: CreatePriceListInput!) { createPriceList(input: $input) { ... on CreatePriceListSuccess { priceList { id } } } }`,
      { input: { code: `PC-${process.pid}`, name: "Staff", currency: "EUR", customerGroup: "staff", priority: 0 } },
    );
    const listId = created.data.createPriceList.priceList.id;
    const entry = (unitPriceCents: number, tiers: { minQuantity: number; unitPriceCents: number }[] = []) =>
      viaA.admin(`mutation($input: SetPriceListEntryInput!) { setPriceListEntry(input: $input) { __typename } }`, {
        input: { priceListId: listId, productId: product.id, unitPriceCents, tiers },
      });
    await entry(2800);
    const staff = await viaA.createCustomer();
    await viaA.admin(`mutation($input: SetCustomerGroupInput!) { setCustomerGroup(input: $input) { __typename } }`, {
      input: { customerId: staff.id, customerGroup: "staff" },
    });
    const other = await viaA.createCustomer();
    const watch = (token: string) => subscribe(b.url, token, PRICE_CHANGED, { ids: [product.id] }, "priceChanged");
    const member = watch(staff.token);
    const everyone = watch(other.token);
    try {
      await member.waitFor("the current member price", (e) => e.price.amountCents === 2800);
      await everyone.waitFor("the current base price", (e) => e.price.amountCents === 3000);

      await entry(2500, [{ minQuantity: 3, unitPriceCents: 2200 }]);
      const changed = await member.waitFor("the new member price", (e) => e.price.amountCents === 2500);
      expect(changed).toMatchObject({ productId: product.id, basePrice: { amountCents: 3000 }, three: { amountCents: 2200 } });
      expect(changed.priceTiers).toEqual([{ minQuantity: 3, unitPriceCents: 2200 }]);

      const updated = await viaA.admin(`mutation($input: UpdateProductInput!) { updateProduct(input: $input) { __typename } }`, {
        input: { id: product.id, expectedVersion: product.version, priceCents: 3300 },
      });
      expect(updated.data.updateProduct.__typename).toBe("UpdateProductSuccess");
      await everyone.waitFor("the new base price", (e) => e.price.amountCents === 3300 && e.basePrice.amountCents === 3300);
      await member.waitFor("the base price under the member's", (e) => e.basePrice.amountCents === 3300 && e.price.amountCents === 2500);
      // Versions only grow, and nobody was shown another group's list.
      for (const sub of [member, everyone]) {
        const versions = sub.events.map((e) => e.priceVersion);
        expect(versions).toEqual([...versions].sort((x, y) => x - y));
        expect(new Set(versions).size).toBe(versions.length);
        expect(sub.errors).toEqual([]);
      }
      expect(everyone.events.map((e) => e.price.amountCents)).not.toContain(2500);
    } finally {
      await Promise.all([member.close(), everyone.close()]);
    }
  });

  it("priceChanged refuses an unknown product and too many products with typed errors", async () => {
    const customer = await viaB.createCustomer();
    const missing = subscribe(
      b.url,
      customer.token,
      PRICE_CHANGED,
      { ids: [Buffer.from("Product:00000000-0000-4000-8000-000000000000").toString("base64")] },
      "priceChanged",
    );
    const many = subscribe(
      b.url,
      customer.token,
      PRICE_CHANGED,
      {
        ids: Array.from({ length: 101 }, (_, i) =>
          Buffer.from(`Product:00000000-0000-4000-8000-${String(i).padStart(12, "0")}`).toString("base64"),
        ),
      },
      "priceChanged",
    );
    try {
      expect(await missing.waitForError()).toMatchObject({ extensions: { code: "NOT_FOUND" } });
      expect(await many.waitForError()).toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "productIds" } });
    } finally {
      await Promise.all([missing.close(), many.close()]);
    }
  });
});

const PRICE_CHANGED = graphql(`
  subscription PriceChanged($ids: [ID!]!) {
    priceChanged(productIds: $ids) {
      productId
      price {
        amountCents
        currency
      }
      three: price(quantity: 3) {
        amountCents
      }
      basePrice {
        amountCents
      }
      priceTiers {
        minQuantity
        unitPriceCents
      }
      priceVersion
      occurredAt
    }
  }
`);
