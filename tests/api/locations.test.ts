// Locations on real PostgreSQL: the Location admin API, allocation of orders
// and holds across locations (whole line from the first location by priority
// that can fill it, else split in priority order), racing orders that sell
// exactly what exists, cancellation back to the right locations, adjustments
// with every reason, setOnHand's compare-and-set, and the ledger invariant
// (npm run ledger:check) after a random mix of operations.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { rowId } from "../support/shop.js";
import { ledgerMismatches } from "../../src/db/ledger.sql.js";

let api: Api;
let customer: { id: string; token: string };

beforeAll(async () => {
  api = await startApi();
  customer = await api.createCustomer();
});
afterAll(async () => {
  await api?.close();
});

let counter = 0;
const code = (p = "LOC") => `${p}-${process.pid}-${++counter}`;

async function admin<T = any>(query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await api.admin(query, variables);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data as T;
}

const CREATE_LOCATION = `mutation($input: CreateLocationInput!) { createLocation(input: $input) {
  __typename ... on CreateLocationSuccess { location { id code name fulfilsOrders priority active version } }
  ... on DuplicateLocationCodeError { code } ... on ValidationError { field } } }`;
const UPDATE_LOCATION = `mutation($input: UpdateLocationInput!) { updateLocation(input: $input) {
  __typename ... on UpdateLocationSuccess { location { id priority fulfilsOrders version } }
  ... on VersionConflictError { currentVersion } ... on LocationInUseError { onHand } } }`;
const DEACTIVATE_LOCATION = `mutation($input: DeactivateLocationInput!) { deactivateLocation(input: $input) {
  __typename ... on DeactivateLocationSuccess { location { active } } ... on LocationInUseError { onHand committed reserved incoming } } }`;
const ADJUST = `mutation($input: AdjustStockInput!) { adjustStock(input: $input) {
  __typename ... on AdjustStockSuccess { product { id stock } } ... on InsufficientStockError { available }
  ... on ValidationError { field } ... on VersionConflictError { currentVersion } } }`;
const SET_ON_HAND = `mutation($input: SetOnHandInput!) { setOnHand(input: $input) {
  __typename ... on SetOnHandSuccess { product { stock } } ... on VersionConflictError { expectedVersion currentVersion } } }`;
const LEVELS = `query($id: ID!) { product(id: $id) {
  inventory { onHand committed reserved incoming available }
  stockLevels { location { code } onHand committed reserved incoming available version } } }`;
const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  __typename ... on PlaceOrderSuccess { order { id version items { quantity allocations { location { code } quantity } } } }
  ... on InsufficientStockError { available } } }`;
const SET_STATUS = `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) { __typename } }`;
const RESERVE = `mutation($input: ReserveStockInput!) { reserveStock(input: $input) {
  __typename ... on ReserveStockSuccess { hold { id lines { allocations { location { code } quantity } } } } } }`;

async function createLocation(input: { code?: string; priority: number; fulfilsOrders?: boolean }) {
  const r = (await admin(CREATE_LOCATION, { input: { code: code(), name: "Store", fulfilsOrders: true, ...input } })).createLocation;
  expect(r.__typename).toBe("CreateLocationSuccess");
  return r.location as { id: string; code: string; version: number };
}

const adjust = (productId: string, locationId: string | null, delta: number, reason = "RECEIVED") =>
  admin(ADJUST, { input: { productId, locationId, delta, reason } }).then((d) => d.adjustStock);

/** A product with `units[i]` on hand at locations of priority 10+i (none at the default location). */
async function productAt(units: number[]) {
  const locations = [];
  for (const [i] of units.entries()) locations.push(await createLocation({ priority: 10 + i }));
  const product = await api.createProduct({ stock: 0 });
  for (const [i, n] of units.entries())
    if (n) expect((await adjust(product.id, locations[i]!.id, n)).__typename).toBe("AdjustStockSuccess");
  return { product, locations };
}

async function levelsOf(productId: string) {
  return (await admin(LEVELS, { id: productId })).product as {
    inventory: Record<string, number>;
    stockLevels: { location: { code: string }; onHand: number; committed: number; reserved: number; available: number; version: number }[];
  };
}
/** What each location has left to order or hold: orders commit units there (on hand drops when they ship). */
const availableByCode = async (productId: string) =>
  Object.fromEntries((await levelsOf(productId)).stockLevels.map((l) => [l.location.code, l.available]));

const place = async (productId: string, quantity: number, token = customer.token) =>
  (await api.gql(PLACE, { input: { items: [{ productId, quantity }], idempotencyKey: code("order") } }, api.bearer(token))).data!
    .placeOrder;

describe("Location admin API", () => {
  it("creates locations with unique codes regardless of case and lists them", async () => {
    const loc = await createLocation({ code: code("Shop"), priority: 5 });
    expect(loc).toMatchObject({ version: 0 });
    const dup = (await admin(CREATE_LOCATION, { input: { code: loc.code.toUpperCase(), name: "x", fulfilsOrders: true, priority: 1 } }))
      .createLocation;
    expect(dup).toMatchObject({ __typename: "DuplicateLocationCodeError" });
    const bad = (await admin(CREATE_LOCATION, { input: { code: code(), name: "x", fulfilsOrders: true, priority: -1 } })).createLocation;
    expect(bad).toMatchObject({ __typename: "ValidationError", field: "priority" });
    const list = await admin(`{ locations(first: 100) { edges { node { code } } } }`, {});
    expect(list.locations.edges.map((e: any) => e.node.code)).toEqual(expect.arrayContaining(["default", loc.code]));
  });

  it("updates a location by version, and refuses to deactivate one that holds units until they are gone", async () => {
    const { product, locations } = await productAt([3]);
    const loc = locations[0]!;
    const stale = (await admin(UPDATE_LOCATION, { input: { id: loc.id, expectedVersion: 7, priority: 3 } })).updateLocation;
    expect(stale).toMatchObject({ __typename: "VersionConflictError", currentVersion: 0 });
    const moved = (await admin(UPDATE_LOCATION, { input: { id: loc.id, expectedVersion: 0, priority: 3 } })).updateLocation;
    expect(moved).toMatchObject({ __typename: "UpdateLocationSuccess", location: { priority: 3, version: 1 } });
    const unfulfil = (await admin(UPDATE_LOCATION, { input: { id: loc.id, expectedVersion: 1, fulfilsOrders: false } })).updateLocation;
    expect(unfulfil).toMatchObject({ __typename: "LocationInUseError", onHand: 3 });

    expect((await admin(DEACTIVATE_LOCATION, { input: { id: loc.id } })).deactivateLocation).toMatchObject({
      __typename: "LocationInUseError",
      onHand: 3,
    });
    expect((await adjust(product.id, loc.id, -3, "DAMAGED")).__typename).toBe("AdjustStockSuccess");
    expect((await admin(DEACTIVATE_LOCATION, { input: { id: loc.id } })).deactivateLocation).toMatchObject({
      __typename: "DeactivateLocationSuccess",
      location: { active: false },
    });
    expect(await adjust(product.id, loc.id, 1)).toMatchObject({ __typename: "ValidationError", field: "locationId" });
  });
});

describe("allocation", () => {
  it("takes a whole line from the first location by priority that can fill it", async () => {
    const { product, locations } = await productAt([2, 5]);
    const [a, b] = locations.map((l) => l.code);
    // 3 units: only the second location has them all.
    const first = await place(product.id, 3);
    expect(first.order.items[0].allocations).toEqual([{ location: { code: b }, quantity: 3 }]);
    // 2 units: the first location (lower priority number) has them.
    const second = await place(product.id, 2);
    expect(second.order.items[0].allocations).toEqual([{ location: { code: a }, quantity: 2 }]);
    expect(await availableByCode(product.id)).toMatchObject({ [a!]: 0, [b!]: 2 });
  });

  it("splits a line no location can fill alone over the locations in priority order", async () => {
    const { product, locations } = await productAt([2, 2, 2]);
    const [a, b, c] = locations.map((l) => l.code);
    const r = await place(product.id, 5);
    expect(r.order.items[0].allocations).toEqual([
      { location: { code: a }, quantity: 2 },
      { location: { code: b }, quantity: 2 },
      { location: { code: c }, quantity: 1 },
    ]);
    expect(await place(product.id, 2)).toMatchObject({ __typename: "InsufficientStockError", available: 1 });
    expect((await levelsOf(product.id)).inventory).toEqual({ onHand: 6, committed: 5, reserved: 0, incoming: 0, available: 1 });
  });

  it("returns a cancelled order's units to the locations they came from", async () => {
    const { product, locations } = await productAt([1, 3]);
    const [a, b] = locations.map((l) => l.code);
    const r = await place(product.id, 4);
    expect(await availableByCode(product.id)).toMatchObject({ [a!]: 0, [b!]: 0 });
    const cancel = await api.gql(
      `mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { __typename } }`,
      { input: { orderId: r.order.id } },
      api.bearer(customer.token),
    );
    expect(cancel.data!.cancelOrder.__typename).toBe("CancelOrderSuccess");
    expect(await availableByCode(product.id)).toMatchObject({ [a!]: 1, [b!]: 3 });
  });

  it("allocates holds the same way and releases them to their locations", async () => {
    const { product, locations } = await productAt([2, 5]);
    const [, b] = locations.map((l) => l.code);
    const res = await api.gql(
      RESERVE,
      { input: { items: [{ productId: product.id, quantity: 3 }], idempotencyKey: code("hold") } },
      api.bearer(customer.token),
    );
    const hold = res.data!.reserveStock.hold;
    expect(hold.lines[0].allocations).toEqual([{ location: { code: b }, quantity: 3 }]);
    const levels = await levelsOf(product.id);
    expect(levels.stockLevels.find((l) => l.location.code === b)).toMatchObject({ onHand: 5, reserved: 3, available: 2 });
    expect(levels.inventory).toMatchObject({ onHand: 7, reserved: 3, available: 4 });
    await api.gql(`mutation($id: ID!) { releaseHold(id: $id) { __typename } }`, { id: hold.id }, api.bearer(customer.token));
    expect((await levelsOf(product.id)).inventory).toMatchObject({ reserved: 0, available: 7 });
  });

  it("sells exactly what exists when 40 orders race for the last units spread over three locations", async () => {
    const { product, locations } = await productAt([2, 3, 4]);
    const customers = await Promise.all(Array.from({ length: 8 }, () => api.createCustomer()));
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => place(product.id, 1 + (i % 2), customers[i % customers.length]!.token)),
    );
    const sold = results.filter((r) => r.__typename === "PlaceOrderSuccess").reduce((n, r) => n + r.order.items[0].quantity, 0);
    expect(results.every((r) => ["PlaceOrderSuccess", "InsufficientStockError"].includes(r.__typename))).toBe(true);
    expect(sold).toBe(9);
    const { rows } = await api.sql.query(
      `SELECT min(on_hand - committed - reserved) AS min, sum(on_hand - committed - reserved)::int AS left FROM stock_level WHERE product_id = $1`,
      [rowId(product.id)],
    );
    expect(rows[0]).toEqual({ min: 0, left: 0 });
    const { rows: allocated } = await api.sql.query(
      `SELECT location_id, sum(quantity)::int AS n FROM order_allocation WHERE product_id = $1 GROUP BY location_id`,
      [rowId(product.id)],
    );
    expect(Object.fromEntries(allocated.map((r) => [r.location_id, r.n]))).toEqual(
      Object.fromEntries(locations.map((l, i) => [rowId(l.id), [2, 3, 4][i]])),
    );
  });
});

describe("adjustments", () => {
  it("records every reason on the ledger row with the location, the numbers after it and the actor", async () => {
    const { product, locations } = await productAt([0]);
    const reasons = ["RECEIVED", "CORRECTION", "DAMAGED", "SHRINKAGE", "RETURNED", "CYCLE_COUNT", "OTHER"];
    for (const [i, reason] of reasons.entries()) {
      expect(await adjust(product.id, locations[0]!.id, i % 2 ? -1 : 2, reason)).toMatchObject({ __typename: "AdjustStockSuccess" });
    }
    const { rows } = await api.sql.query(
      `SELECT adjustment_reason, location_id, delta_on_hand, on_hand_after, actor FROM stock_movement
       WHERE product_id = $1 AND adjustment_reason IS NOT NULL ORDER BY id`,
      [rowId(product.id)],
    );
    expect(rows.map((r) => r.adjustment_reason)).toEqual(reasons);
    expect(rows.map((r) => r.on_hand_after)).toEqual([2, 1, 3, 2, 4, 3, 5]);
    expect(new Set(rows.map((r) => r.location_id))).toEqual(new Set([rowId(locations[0]!.id)]));
    expect(rows[0].actor).toMatch(/^admin/);
  });

  it("an adjustment without a location goes to the default location, as before locations existed", async () => {
    const product = await api.createProduct({ stock: 4 });
    expect(await adjust(product.id, null, 3)).toMatchObject({ product: { stock: 7 } });
    expect(await availableByCode(product.id)).toEqual({ default: 7 });
  });

  it("setOnHand is a compare-and-set on the level's version", async () => {
    const { product, locations } = await productAt([5]);
    const level = (await levelsOf(product.id)).stockLevels.find((l) => l.location.code === locations[0]!.code)!;
    const input = { productId: product.id, locationId: locations[0]!.id, onHand: 9 };
    const stale = (await admin(SET_ON_HAND, { input: { ...input, expectedVersion: level.version - 1 } })).setOnHand;
    expect(stale).toMatchObject({ __typename: "VersionConflictError", currentVersion: level.version });
    const set = (await admin(SET_ON_HAND, { input: { ...input, expectedVersion: level.version } })).setOnHand;
    expect(set).toMatchObject({ __typename: "SetOnHandSuccess", product: { stock: 9 } });
    // The same count again is stale now: the level moved on.
    expect((await admin(SET_ON_HAND, { input: { ...input, expectedVersion: level.version } })).setOnHand.__typename).toBe(
      "VersionConflictError",
    );
    const { rows } = await api.sql.query(
      `SELECT adjustment_reason, delta_on_hand FROM stock_movement WHERE product_id = $1 ORDER BY id DESC LIMIT 1`,
      [rowId(product.id)],
    );
    expect(rows[0]).toEqual({ adjustment_reason: "CYCLE_COUNT", delta_on_hand: 4 });
  });
});

describe("committed stock", () => {
  const levelOf = async (productId: string) =>
    Object.fromEntries((await levelsOf(productId)).stockLevels.map((l) => [l.location.code, [l.onHand, l.committed, l.available]]));
  const ship = async (orderId: string) => {
    for (const [expectedVersion, status] of (["CONFIRMED", "SHIPPED"] as const).entries())
      expect((await admin(SET_STATUS, { input: { orderId, status, expectedVersion } })).updateOrderStatus.__typename).toBe(
        "UpdateOrderStatusSuccess",
      );
  };

  it("placing commits the units where they were allocated; shipping takes them off on hand there, with an event and ledger rows", async () => {
    const { product, locations } = await productAt([1, 3]);
    const [a, b] = locations.map((l) => l.code);
    const r = await place(product.id, 4);
    expect(r.__typename).toBe("PlaceOrderSuccess");
    // [onHand, committed, available]
    expect(await levelOf(product.id)).toMatchObject({ [a!]: [1, 1, 0], [b!]: [3, 3, 0] });
    expect((await levelsOf(product.id)).inventory).toMatchObject({ onHand: 4, committed: 4, available: 0 });
    const { rows: placed } = await api.sql.query(
      `SELECT payload FROM outbox_event WHERE key = $1 AND payload->>'reason' = 'ORDER_PLACED'`,
      [rowId(product.id)],
    );
    expect(placed.map((e) => e.payload)).toMatchObject([{ stock: 4, committed: 4, available: 0, delta: 0 }]);

    await ship(r.order.id);
    expect(await levelOf(product.id)).toMatchObject({ [a!]: [0, 0, 0], [b!]: [0, 0, 0] });
    const { rows: shipped } = await api.sql.query(
      `SELECT payload FROM outbox_event WHERE key = $1 AND payload->>'reason' = 'ORDER_SHIPPED'`,
      [rowId(product.id)],
    );
    expect(shipped.map((e) => e.payload)).toMatchObject([
      { stock: 0, committed: 0, available: 0, delta: -4, orderId: rowId(r.order.id), version: 4 },
    ]);
    const { rows: moves } = await api.sql.query(
      `SELECT delta_on_hand AS "onHand", delta_committed AS committed FROM stock_movement WHERE product_id = $1 AND reason = 'ORDER_SHIPPED'
       ORDER BY delta_on_hand`,
      [rowId(product.id)],
    );
    expect(moves).toEqual([
      { onHand: -3, committed: -3 },
      { onHand: -1, committed: -1 },
    ]);
    expect(await ledgerMismatches(api.db.prisma)).toEqual([]);
  });

  it("cancelling before shipping returns committed units to available at their locations, on hand untouched", async () => {
    const { product, locations } = await productAt([1, 3]);
    const [a, b] = locations.map((l) => l.code);
    const r = await place(product.id, 4);
    expect(await levelOf(product.id)).toMatchObject({ [a!]: [1, 1, 0], [b!]: [3, 3, 0] });
    const cancel = await api.gql(
      `mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { __typename } }`,
      { input: { orderId: r.order.id } },
      api.bearer(customer.token),
    );
    expect(cancel.data!.cancelOrder.__typename).toBe("CancelOrderSuccess");
    expect(await levelOf(product.id)).toMatchObject({ [a!]: [1, 0, 1], [b!]: [3, 0, 3] });
    expect(await ledgerMismatches(api.db.prisma)).toEqual([]);
  });

  it("orders racing shipments never sell more than is available", { timeout: 120_000 }, async () => {
    const { product } = await productAt([2, 3, 1]);
    const customers = await Promise.all(Array.from({ length: 4 }, () => api.createCustomer()));
    const results = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const r = await place(product.id, 1, customers[i % 4]!.token);
        // Half the winners ship at once, while the others still race for what is left.
        if (r.__typename === "PlaceOrderSuccess" && i % 2) await ship(r.order.id);
        return r;
      }),
    );
    expect(results.filter((r) => r.__typename === "PlaceOrderSuccess")).toHaveLength(6);
    const { rows } = await api.sql.query(
      `SELECT sum(on_hand)::int AS on_hand, sum(committed)::int AS committed, min(on_hand - committed - reserved)::int AS min
       FROM stock_level WHERE product_id = $1`,
      [rowId(product.id)],
    );
    const { rows: shipped } = await api.sql.query(
      `SELECT coalesce(-sum(delta_on_hand), 0)::int AS n FROM stock_movement WHERE product_id = $1 AND reason = 'ORDER_SHIPPED'`,
      [rowId(product.id)],
    );
    expect(rows[0]).toEqual({ on_hand: 6 - shipped[0].n, committed: 6 - shipped[0].n, min: 0 });
    expect(await ledgerMismatches(api.db.prisma)).toEqual([]);
  });
});

describe("the ledger invariant", () => {
  it(
    "holds after a random mix of 2,000 operations over three locations; ledger:check says so, and finds a tampered level",
    { timeout: 240_000 },
    async () => {
      const products = await Promise.all(Array.from({ length: 3 }, () => productAt([3, 3, 3])));
      const customers = await Promise.all(Array.from({ length: 6 }, () => api.createCustomer()));
      let seed = 42;
      const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n) as number;
      const orders: { id: string; token: string }[] = [];
      const holds: { id: string; token: string }[] = [];
      const op = async () => {
        const { product, locations } = products[rand(products.length)]!;
        const who = customers[rand(customers.length)]!;
        switch (rand(6)) {
          case 0: {
            const r = await place(product.id, 1 + rand(3), who.token);
            if (r.__typename === "PlaceOrderSuccess") orders.push({ id: r.order.id, token: who.token });
            break;
          }
          case 1: {
            const r = await api.gql(
              RESERVE,
              { input: { items: [{ productId: product.id, quantity: 1 + rand(2) }], idempotencyKey: code("h") } },
              api.bearer(who.token),
            );
            if (r.data?.reserveStock.__typename === "ReserveStockSuccess")
              holds.push({ id: r.data.reserveStock.hold.id, token: who.token });
            break;
          }
          case 2: {
            const h = holds.splice(rand(holds.length + 1), 1)[0];
            if (h) await api.gql(`mutation($id: ID!) { releaseHold(id: $id) { __typename } }`, { id: h.id }, api.bearer(h.token));
            break;
          }
          case 3: {
            const o = orders.splice(rand(orders.length + 1), 1)[0];
            if (o && rand(2)) {
              // Ship it: committed units leave on hand.
              for (const [expectedVersion, status] of (["CONFIRMED", "SHIPPED"] as const).entries())
                expect((await admin(SET_STATUS, { input: { orderId: o.id, status, expectedVersion } })).updateOrderStatus.__typename).toBe(
                  "UpdateOrderStatusSuccess",
                );
            } else if (o)
              await api.gql(
                `mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { __typename } }`,
                { input: { orderId: o.id } },
                api.bearer(o.token),
              );
            break;
          }
          default:
            await adjust(product.id, locations[rand(3)]!.id, rand(2) ? 1 + rand(3) : -(1 + rand(2)), rand(2) ? "RECEIVED" : "SHRINKAGE");
        }
      };
      let left = 2000;
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          while (left-- > 0) await op();
        }),
      );
      expect(await ledgerMismatches(api.db.prisma)).toEqual([]);
      const { rows } = await api.sql.query(
        `SELECT count(*)::int AS n FROM stock_level WHERE on_hand < 0 OR reserved < 0 OR on_hand - committed - reserved < 0`,
      );
      expect(rows[0].n).toBe(0);
      // Committed is exactly what unshipped orders were allocated, level by level; some orders did ship.
      const { rows: drift } = await api.sql.query(
        `SELECT s.product_id FROM stock_level s LEFT JOIN (
           SELECT a.product_id, a.location_id, sum(a.quantity)::int AS q FROM order_allocation a JOIN "order" o ON o.id = a.order_id
           WHERE o.status IN ('PENDING', 'CONFIRMED') GROUP BY 1, 2
         ) u ON u.product_id = s.product_id AND u.location_id = s.location_id
         WHERE s.committed <> coalesce(u.q, 0)`,
      );
      expect(drift).toEqual([]);
      const { rows: shipped } = await api.sql.query(`SELECT count(*)::int AS n FROM stock_movement WHERE reason = 'ORDER_SHIPPED'`);
      expect(shipped[0].n).toBeGreaterThan(0);

      const check = () =>
        spawnSync("npx", ["tsx", "scripts/ledger-check.ts"], { env: { ...process.env, DATABASE_URL: api.dbUrl }, encoding: "utf8" });
      const ok = check();
      expect(ok.status, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/ledger ok/);
      await api.sql.query(`UPDATE stock_level SET on_hand = on_hand + 1 WHERE product_id = $1`, [rowId(products[0]!.product.id)]);
      const bad = check();
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(/mismatch: product .* at location .*: onHand ledger \d+, level \d+/);
    },
  );
});
