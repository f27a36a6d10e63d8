// The demo seed on real PostgreSQL (what `npm start` and the compose try-out
// load): a second location, the city store, holding a quarter of every
// well-stocked product, with the products' totals as the catalogue says and
// the ledger adding up.
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEMO_PRICE_LIST, DEMO_STORE, demoCustomers, demoProducts, seedDemoData } from "../../src/db/seed.js";
import { signToken } from "../../src/auth/tokens.js";
import { encodeGlobalId } from "../../src/ids/index.js";
import { JWT_SECRET } from "../support/shop.js";
import { ledgerMismatches } from "../../src/db/ledger.sql.js";
import { startApi, type Api } from "../support/api.js";

let api: Api;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api?.close());

const LEVELS = `query($sku: String!) { product(sku: $sku) {
  stock inventory { onHand available } stockLevels { location { code } onHand committed reserved incoming } } }`;

it("seeds a second location that fulfils orders after default, holding a quarter of each product with 20 or more", async () => {
  expect(await seedDemoData(api.db.prisma)).toBe(demoProducts().length);
  const res = await api.admin(`{ locations(first: 10) { edges { node { code name fulfilsOrders priority active } } } }`);
  expect(res.data.locations.edges.map((e: any) => e.node)).toEqual([
    { code: "default", name: "Default", fulfilsOrders: true, priority: 0, active: true },
    { ...DEMO_STORE, active: true },
  ]);

  const products = demoProducts();
  const wellStocked = products.find((p) => p.stock >= 20)!;
  const few = products.find((p) => p.stock > 0 && p.stock < 20)!;
  for (const p of [wellStocked, few]) {
    const { product } = (await api.admin(LEVELS, { sku: p.sku })).data;
    const store = Math.floor(p.stock / 4);
    expect(product.stock).toBe(p.stock);
    expect(product.inventory).toEqual({ onHand: p.stock, available: p.stock });
    expect(product.stockLevels).toEqual([
      { location: { code: "default" }, onHand: p.stock >= 20 ? p.stock - store : p.stock, committed: 0, reserved: 0, incoming: 0 },
      ...(p.stock >= 20 ? [{ location: { code: DEMO_STORE.code }, onHand: store, committed: 0, reserved: 0, incoming: 0 }] : []),
    ]);
  }
  const { rows } = await api.sql.query<{ levels: number }>(
    `SELECT count(*)::int AS levels FROM stock_level s JOIN location l ON l.id = s.location_id WHERE l.code = $1`,
    [DEMO_STORE.code],
  );
  expect(rows[0]!.levels).toBe(products.filter((p) => p.stock >= 20).length);
  expect(await ledgerMismatches(api.db.prisma)).toEqual([]);
  // Seeding again changes nothing.
  expect(await seedDemoData(api.db.prisma)).toBe(0);
});

it("seeds a member price list: the demo customer pays less for every fourth product, and less again from 3", async () => {
  const { rows } = await api.sql.query(`SELECT id FROM customer WHERE email = $1 AND customer_group = $2`, [
    demoCustomers()[0]!.email,
    DEMO_PRICE_LIST.customerGroup,
  ]);
  expect(rows).toHaveLength(1);
  const token = await signToken({ role: "customer", sub: encodeGlobalId("Customer", rows[0].id) }, JWT_SECRET);
  const products = [...demoProducts()].sort((a, b) => (a.sku < b.sku ? -1 : 1));
  const first = products[0]!;
  const query = `query($sku: String!) { product(sku: $sku) { priceCents price { amountCents } three: price(quantity: 3) { amountCents } priceTiers { minQuantity } } }`;
  const res = await api.gql(query, { sku: first.sku }, api.bearer(token));
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  const member = res.data.product;
  expect(member.price.amountCents).toBeLessThan(first.priceCents);
  expect(member.three.amountCents).toBe(member.price.amountCents - 100);
  expect(member.priceTiers).toEqual([{ minQuantity: 3 }]);
  // Everyone else: the base price.
  const anonymous = (await api.gql(query, { sku: first.sku })).data.product;
  expect(anonymous).toMatchObject({ price: { amountCents: first.priceCents }, priceTiers: [] });
  const { rows: ledger } = await api.sql.query(`SELECT count(*)::int AS n FROM price_change WHERE actor = 'system'`);
  expect(ledger[0].n).toBeGreaterThan(50);
});
