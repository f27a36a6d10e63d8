// Price lists and quantity tiers through the API: what each viewer is shown,
// what orders are charged and keep, admin refusals, the price ledger and
// events, and orders racing a price change (the price charged is the rule's
// at commit time, from memory that may be stale).
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { rowId } from "../support/shop.js";
import { priceChangedEvent } from "../../src/events/price-changed.event.js";
import { toStreamMessage } from "../../src/realtime/stream-events.js";
import { holdClient } from "../support/holds.js";

let api: Api;
let sql: pg.Pool;
beforeAll(async () => {
  api = await startApi();
  sql = api.sql;
});
afterAll(async () => {
  await api?.close();
});

let n = 0;
const code = () => `PL-${process.pid}-${++n}`;

async function createList(over: Record<string, unknown> = {}) {
  const r = await api.admin(
    `mutation($input: CreatePriceListInput!) { createPriceList(input: $input) {
      __typename ... on CreatePriceListSuccess { priceList { id version code currency customerGroup } } ... on Error { message } } }`,
    { input: { code: code(), name: "Members", currency: "EUR", customerGroup: "members", priority: 0, ...over } },
  );
  expect(r.data.createPriceList.__typename, JSON.stringify(r)).toBe("CreatePriceListSuccess");
  return r.data.createPriceList.priceList as { id: string; version: number };
}

const setEntry = (priceListId: string, productId: string, unitPriceCents: number, tiers: unknown[] = []) =>
  api.admin(
    `mutation($input: SetPriceListEntryInput!) { setPriceListEntry(input: $input) {
      __typename ... on SetPriceListEntrySuccess { entry { unitPriceCents tiers { minQuantity unitPriceCents } version } }
      ... on ValidationError { field } ... on Error { message } } }`,
    { input: { priceListId, productId, unitPriceCents, tiers } },
  );

async function groupedCustomer(group: string | null) {
  const c = await api.createCustomer();
  const r = await api.admin(
    `mutation($input: SetCustomerGroupInput!) { setCustomerGroup(input: $input) {
      __typename ... on SetCustomerGroupSuccess { customer { customerGroup } } } }`,
    { input: { customerId: c.id, customerGroup: group } },
  );
  expect(r.data.setCustomerGroup, JSON.stringify(r)).toEqual({ __typename: "SetCustomerGroupSuccess", customer: { customerGroup: group } });
  return c;
}

const priceOf = async (productId: string, token: string | null, quantity = 1) => {
  const r = await api.gql(
    `query($id: ID!, $q: Int!) { product(id: $id) { price(quantity: $q) { amountCents currency } priceTiers { minQuantity unitPriceCents } } }`,
    { id: productId, q: quantity },
    token ? api.bearer(token) : {},
  );
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data.product as {
    price: { amountCents: number; currency: string };
    priceTiers: { minQuantity: number; unitPriceCents: number }[];
  };
};

const placeOrder = (token: string, items: unknown[]) =>
  api.gql(
    `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
      __typename
      ... on PlaceOrderSuccess { order { id totalCents items { quantity unitPriceCents } } }
      ... on PriceChangedError { productId expectedUnitPriceCents currentUnitPriceCents }
      ... on Error { message } } }`,
    { input: { items, idempotencyKey: `k-${process.pid}-${++n}` } },
    api.bearer(token),
  );

const TIERS = [
  { minQuantity: 3, unitPriceCents: 1799 },
  { minQuantity: 10, unitPriceCents: 1599 },
];

describe("what each viewer is shown", () => {
  it("a member gets the member price and its tiers; others the base price, never another group's list", async () => {
    const p = await api.createProduct({ priceCents: 1999 });
    const members = await createList({ customerGroup: "members" });
    const staff = await createList({ customerGroup: "staff", priority: -5 });
    expect((await setEntry(members.id, p.id, 1899, TIERS)).data.setPriceListEntry.__typename).toBe("SetPriceListEntrySuccess");
    expect((await setEntry(staff.id, p.id, 999)).data.setPriceListEntry.__typename).toBe("SetPriceListEntrySuccess");
    const member = await groupedCustomer("members");
    const plain = await groupedCustomer(null);
    const other = await groupedCustomer("wholesale");

    expect(await priceOf(p.id, member.token)).toEqual({ price: { amountCents: 1899, currency: "EUR" }, priceTiers: TIERS });
    expect((await priceOf(p.id, member.token, 3)).price.amountCents).toBe(1799);
    expect((await priceOf(p.id, member.token, 12)).price.amountCents).toBe(1599);
    for (const token of [plain.token, other.token, null]) {
      expect(await priceOf(p.id, token, 12)).toEqual({ price: { amountCents: 1999, currency: "EUR" }, priceTiers: [] });
    }
  });

  it("refuses a quantity outside what a line may order", async () => {
    const p = await api.createProduct();
    for (const q of [0, 1001]) {
      const r = await api.gql(`query($id: ID!, $q: Int!) { product(id: $id) { price(quantity: $q) { amountCents } } }`, { id: p.id, q });
      expect(r.errors?.[0]?.message, JSON.stringify(r)).toMatch(/quantity/);
    }
  });

  it("a list past its end or not yet started prices nobody; ending a list takes effect at once", async () => {
    const p = await api.createProduct({ priceCents: 1999 });
    const member = await groupedCustomer("members");
    const later = await createList({ startsAt: new Date(Date.now() + 3_600_000).toISOString(), priority: -1 });
    await setEntry(later.id, p.id, 500);
    const now = await createList();
    await setEntry(now.id, p.id, 1500);
    expect((await priceOf(p.id, member.token)).price.amountCents).toBe(1500);
    const ended = await api.admin(
      `mutation($input: EndPriceListInput!) { endPriceList(input: $input) { __typename ... on EndPriceListSuccess { priceList { endsAt version } } } }`,
      { input: { id: now.id, expectedVersion: now.version } },
    );
    expect(ended.data.endPriceList.__typename, JSON.stringify(ended)).toBe("EndPriceListSuccess");
    expect((await priceOf(p.id, member.token)).price.amountCents).toBe(1999);
    const again = await api.admin(
      `mutation($input: EndPriceListInput!) { endPriceList(input: $input) { __typename ... on VersionConflictError { currentVersion } } }`,
      { input: { id: now.id, expectedVersion: now.version } },
    );
    expect(again.data.endPriceList).toEqual({ __typename: "VersionConflictError", currentVersion: now.version + 1 });
  });
});

describe("admin refusals", () => {
  it("refuses an entry in another currency than the product's, and bad tiers, writing nothing", async () => {
    const p = await api.createProduct({ currency: "USD" });
    const list = await createList({ currency: "EUR" });
    expect((await setEntry(list.id, p.id, 100)).data.setPriceListEntry).toMatchObject({
      __typename: "ValidationError",
      field: "productId",
    });
    const eur = await api.createProduct({ currency: "EUR" });
    const bad = await setEntry(list.id, eur.id, 100, [
      { minQuantity: 5, unitPriceCents: 90 },
      { minQuantity: 3, unitPriceCents: 80 },
    ]);
    expect(bad.data.setPriceListEntry).toMatchObject({ __typename: "ValidationError", field: "tiers[1].minQuantity" });
    const { rows } = await sql.query(`SELECT count(*)::int AS n FROM price_list_entry WHERE price_list_id = $1`, [rowId(list.id)]);
    expect(rows[0].n).toBe(0);
  });

  it("customers may not set prices or groups", async () => {
    const c = await api.createCustomer();
    const list = await createList();
    const p = await api.createProduct();
    const r = await api.gql(
      `mutation($input: SetPriceListEntryInput!) { setPriceListEntry(input: $input) { __typename } }`,
      { input: { priceListId: list.id, productId: p.id, unitPriceCents: 1 } },
      api.bearer(c.token),
    );
    expect(r.errors?.[0]?.extensions?.code ?? r.data?.setPriceListEntry?.__typename).toBe("FORBIDDEN");
  });
});

describe("orders", () => {
  it("charge the rule's price per line, remember the list, and keep it when the price changes later", async () => {
    const p = await api.createProduct({ priceCents: 1999 });
    const list = await createList();
    await setEntry(list.id, p.id, 1899, TIERS);
    const member = await groupedCustomer("members");
    const placed = await placeOrder(member.token, [{ productId: p.id, quantity: 3 }]);
    expect(placed.data.placeOrder, JSON.stringify(placed)).toMatchObject({
      __typename: "PlaceOrderSuccess",
      order: { totalCents: 3 * 1799, items: [{ quantity: 3, unitPriceCents: 1799 }] },
    });
    const orderId = placed.data.placeOrder.order.id;
    const { rows } = await sql.query(`SELECT price_list_id FROM order_item WHERE order_id = $1`, [rowId(orderId)]);
    expect(rows).toEqual([{ price_list_id: rowId(list.id) }]);

    await setEntry(list.id, p.id, 1000);
    const read = await api.admin(`query($id: ID!) { order(id: $id) { totalCents items { unitPriceCents priceList { id } } } }`, {
      id: orderId,
    });
    expect(read.data.order).toEqual({ totalCents: 3 * 1799, items: [{ unitPriceCents: 1799, priceList: { id: list.id } }] });
    // A customer without a group pays the base price.
    const plain = await groupedCustomer(null);
    const base = await placeOrder(plain.token, [{ productId: p.id, quantity: 3 }]);
    expect(base.data.placeOrder.order.items).toEqual([{ quantity: 3, unitPriceCents: 1999 }]);
  });

  it("refuse a line whose expectedUnitPriceCents is no longer the price, with the current one, writing nothing", async () => {
    const p = await api.createProduct({ priceCents: 1999 });
    const list = await createList();
    await setEntry(list.id, p.id, 1899, TIERS);
    const member = await groupedCustomer("members");
    const shown = (await priceOf(p.id, member.token, 3)).price.amountCents;
    await setEntry(list.id, p.id, 1899, [{ minQuantity: 3, unitPriceCents: 1850 }]);
    const r = await placeOrder(member.token, [{ productId: p.id, quantity: 3, expectedUnitPriceCents: shown }]);
    expect(r.data.placeOrder).toMatchObject({
      __typename: "PriceChangedError",
      productId: p.id,
      expectedUnitPriceCents: 1799,
      currentUnitPriceCents: 1850,
    });
    const { rows } = await sql.query(`SELECT count(*)::int AS n FROM order_item WHERE product_id = $1`, [rowId(p.id)]);
    expect(rows[0].n).toBe(0);
    const ok = await placeOrder(member.token, [{ productId: p.id, quantity: 3, expectedUnitPriceCents: 1850 }]);
    expect(ok.data.placeOrder.__typename).toBe("PlaceOrderSuccess");
  });

  it("a price changed elsewhere, with no event here yet: charged the new price, not the remembered one", async () => {
    const p = await api.createProduct({ priceCents: 1999 });
    const list = await createList();
    await setEntry(list.id, p.id, 1899);
    const member = await groupedCustomer("members");
    await placeOrder(member.token, [{ productId: p.id, quantity: 1 }]); // the price book now remembers 1899
    // Another process's change: the entry and the product's price version, no event for this one.
    await sql.query(`UPDATE price_list_entry SET unit_price_cents = 1700 WHERE product_id = $1`, [rowId(p.id)]);
    await sql.query(`UPDATE product SET price_version = price_version + 1 WHERE id = $1`, [rowId(p.id)]);
    const r = await placeOrder(member.token, [{ productId: p.id, quantity: 1 }]);
    expect(r.data.placeOrder.order.items).toEqual([{ quantity: 1, unitPriceCents: 1700 }]);
  });

  it("a customer moved to a group elsewhere is charged that group's price", async () => {
    const p = await api.createProduct({ priceCents: 1999 });
    const list = await createList({ customerGroup: "vip" });
    await setEntry(list.id, p.id, 1200);
    const c = await groupedCustomer(null);
    await placeOrder(c.token, [{ productId: p.id, quantity: 1 }]); // remembered: no group
    await sql.query(`UPDATE customer SET customer_group = 'vip' WHERE id = $1`, [rowId(c.id)]);
    const r = await placeOrder(c.token, [{ productId: p.id, quantity: 1 }]);
    expect(r.data.placeOrder.order.items).toEqual([{ quantity: 1, unitPriceCents: 1200 }]);
  });
});

describe("orders from holds", () => {
  it("are charged the rule's price when ordered (not when held), also after a change made elsewhere", async () => {
    const holds = holdClient(api.gql);
    const p = await api.createProduct({ priceCents: 1999 });
    const list = await createList();
    await setEntry(list.id, p.id, 1899, TIERS);
    const member = await groupedCustomer("members");
    const held = await holds.reserve(member.token, [{ productId: p.id, quantity: 3 }]);
    expect(held.__typename).toBe("ReserveStockSuccess");
    const holdId = (held as { hold: { id: string } }).hold.id;
    await priceOf(p.id, member.token, 3); // remembered: 1799 for 3
    // Another process's change, no event here.
    await sql.query(`UPDATE price_list_entry SET tiers = '[{"minQuantity": 3, "unitPriceCents": 1700}]' WHERE product_id = $1`, [
      rowId(p.id),
    ]);
    await sql.query(`UPDATE product SET price_version = price_version + 1 WHERE id = $1`, [rowId(p.id)]);
    const ordered = await holds.orderHold(member.token, holdId);
    expect(ordered.__typename, JSON.stringify(ordered)).toBe("PlaceOrderSuccess");
    const orderId = (ordered as { order: { id: string } }).order.id;
    const { rows } = await sql.query(`SELECT unit_price_cents, price_list_id FROM order_item WHERE order_id = $1`, [rowId(orderId)]);
    expect(rows).toEqual([{ unit_price_cents: 1700, price_list_id: rowId(list.id) }]);
  });
});

describe("orders racing a price change", () => {
  /** Waits for `n` sessions to wait for a lock (pg_locks). */
  const lockWaiters = (count: number) =>
    vi.waitFor(
      async () =>
        expect(
          Number((await sql.query(`SELECT count(DISTINCT pid) AS n FROM pg_locks WHERE NOT granted`)).rows[0].n),
        ).toBeGreaterThanOrEqual(count),
      { timeout: 10_000 },
    );

  it("orders priced before a change that commits while they wait for the row: repriced, or PriceChangedError when they expected the old price", async () => {
    const p = await api.createProduct({ priceCents: 1999, stock: 100 });
    const list = await createList();
    await setEntry(list.id, p.id, 1899);
    const member = await groupedCustomer("members");
    await priceOf(p.id, member.token);
    await placeOrder(member.token, [{ productId: p.id, quantity: 1 }]); // remembered: 1899

    // Another process changes the price and holds the row until the orders are queued on it.
    const lock = await sql.connect();
    let settled;
    try {
      await lock.query("BEGIN");
      await lock.query("SELECT 1 FROM product WHERE id = $1 FOR UPDATE", [rowId(p.id)]);
      const orders = [
        placeOrder(member.token, [{ productId: p.id, quantity: 1, expectedUnitPriceCents: 1899 }]),
        placeOrder(member.token, [{ productId: p.id, quantity: 1 }]),
        placeOrder(member.token, [{ productId: p.id, quantity: 2, expectedUnitPriceCents: 1899 }]),
        placeOrder(member.token, [{ productId: p.id, quantity: 1 }]),
      ];
      await lockWaiters(1);
      await lock.query(`UPDATE price_list_entry SET unit_price_cents = 1500 WHERE product_id = $1`, [rowId(p.id)]);
      await lock.query(`UPDATE product SET price_version = price_version + 1 WHERE id = $1`, [rowId(p.id)]);
      await lock.query("COMMIT");
      settled = (await Promise.all(orders)).map((r) => r.data.placeOrder);
    } finally {
      lock.release();
    }
    expect(settled).toMatchObject([
      { __typename: "PriceChangedError", productId: p.id, expectedUnitPriceCents: 1899, currentUnitPriceCents: 1500 },
      expect.objectContaining({
        __typename: "PlaceOrderSuccess",
        order: expect.objectContaining({ items: [{ quantity: 1, unitPriceCents: 1500 }] }),
      }),
      { __typename: "PriceChangedError", productId: p.id, expectedUnitPriceCents: 1899, currentUnitPriceCents: 1500 },
      expect.objectContaining({
        __typename: "PlaceOrderSuccess",
        order: expect.objectContaining({ items: [{ quantity: 1, unitPriceCents: 1500 }] }),
      }),
    ]);
  });

  it("under concurrent orders and price changes through the API, every line is charged what the rule said at its commit", async () => {
    const p = await api.createProduct({ priceCents: 1999, stock: 1000 });
    const list = await createList();
    await setEntry(list.id, p.id, 1000);
    const member = await groupedCustomer("members");
    const prices = [1001, 1002, 1003, 1004, 1005];
    const orders = Array.from({ length: 40 }, (_, i) =>
      placeOrder(member.token, [{ productId: p.id, quantity: 1, expectedUnitPriceCents: 1000 + (i % 6) }]),
    );
    const changes = (async () => {
      for (const cents of prices)
        expect((await setEntry(list.id, p.id, cents)).data.setPriceListEntry.__typename).toBe("SetPriceListEntrySuccess");
    })();
    const results = (await Promise.all(orders)).map((r) => r.data.placeOrder);
    await changes;
    expect(results.filter((r) => r.__typename !== "PlaceOrderSuccess" && r.__typename !== "PriceChangedError")).toEqual([]);
    // Each order placed was charged the price it expected; each refused one was told another price.
    results.forEach((r, i) => {
      if (r.__typename === "PlaceOrderSuccess") expect(r.order.items[0].unitPriceCents).toBe(1000 + (i % 6));
      else expect(r.currentUnitPriceCents).not.toBe(1000 + (i % 6));
    });
    // And the ledger agrees: what was charged was the entry's price at the time (no price outside the sequence).
    const { rows } = await sql.query(`SELECT DISTINCT unit_price_cents AS c FROM order_item WHERE product_id = $1`, [rowId(p.id)]);
    for (const r of rows) expect([1000, ...prices]).toContain(r.c);
    expect((await priceOf(p.id, member.token)).price.amountCents).toBe(1005);
  });
});

describe("the price ledger and events", () => {
  it("each entry change is a ledger row (who, from, to) and a price-changed event that matches its JSON Schema", async () => {
    const p = await api.createProduct({ priceCents: 1999 });
    const list = await createList();
    await setEntry(list.id, p.id, 1899, TIERS);
    await setEntry(list.id, p.id, 1850);
    const { rows: ledger } = await sql.query(
      `SELECT from_unit_price_cents AS "from", to_unit_price_cents AS "to", from_tiers AS "fromTiers", actor FROM price_change WHERE product_id = $1 ORDER BY id`,
      [rowId(p.id)],
    );
    expect(ledger).toEqual([
      { from: null, to: 1899, fromTiers: null, actor: "admin" },
      { from: 1899, to: 1850, fromTiers: TIERS, actor: "admin" },
    ]);
    const { rows: events } = await sql.query(
      `SELECT id, topic, payload FROM outbox_event WHERE topic = 'price-changed' AND payload->>'productId' = $1 ORDER BY id`,
      [rowId(p.id)],
    );
    expect(events.map((e) => e.payload.priceVersion)).toEqual([1, 2]);
    const topics = { stockChanged: "s", orderStatusChanged: "o", priceChanged: "pricing.price-changed" };
    const message = toStreamMessage({ id: BigInt(events[1].id), topic: events[1].topic, payload: events[1].payload }, topics);
    expect(message).toMatchObject({ topic: "pricing.price-changed", key: p.id });
    expect(priceChangedEvent.parse(JSON.parse(message.value))).toMatchObject({ productId: p.id, priceListId: list.id, priceVersion: 2 });
  });

  it("a new base price is a price change too", async () => {
    const p = await api.createProduct({ priceCents: 1999 });
    const c = await groupedCustomer(null);
    await placeOrder(c.token, [{ productId: p.id, quantity: 1 }]);
    const r = await api.admin(`mutation($input: UpdateProductInput!) { updateProduct(input: $input) { __typename } }`, {
      input: { id: p.id, expectedVersion: (await api.stockOf(p.id)).version, priceCents: 2500 },
    });
    expect(r.data.updateProduct.__typename, JSON.stringify(r)).toBe("UpdateProductSuccess");
    const placed = await placeOrder(c.token, [{ productId: p.id, quantity: 1 }]);
    expect(placed.data.placeOrder.order.items).toEqual([{ quantity: 1, unitPriceCents: 2500 }]);
    const { rows } = await sql.query(
      `SELECT count(*)::int AS n FROM outbox_event WHERE topic = 'price-changed' AND payload->>'productId' = $1`,
      [rowId(p.id)],
    );
    expect(rows[0].n).toBe(1);
  });
});
