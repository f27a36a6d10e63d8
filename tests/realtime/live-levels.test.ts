// stockChanged with per-location levels on a real instance (PostgreSQL,
// Kafka, Redis): every kind of stock change (orders through the group-commit
// batch, holds, a hold turned into an order, cancelling, shipping, transfers,
// adjustments, counts) is one live event whose levels are the product's
// levels as a fresh read shows them; locationIds gives a store screen only the
// changes at its locations and only their levels; and rate-limited
// subscribers, whose updates replace each other, never see a level go back
// and end on the final state of every location.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import { graphql } from "../support/graphql.js";
import { shopAt, startInstance, stockwireEnv, streamNames, subscribe, type Instance, type Subscription } from "../support/stockwire.js";
import { expectTypename, type Shop } from "../support/shop.js";
import { holdClient } from "../support/holds.js";
import { encodeGlobalId } from "../../src/ids/index.js";
import type { ResultOf } from "gql.tada";

const LIVE_LEVELS = graphql(`
  subscription LiveLevels($ids: [ID!]!, $locations: [ID!], $max: Int) {
    stockChanged(productIds: $ids, locationIds: $locations, maxUpdatesPerSecond: $max) {
      reason
      version
      stock
      available
      reserved
      levels {
        location {
          id
          code
        }
        onHand
        committed
        reserved
        incoming
        available
        version
      }
    }
  }
`);
type LiveEvent = ResultOf<typeof LIVE_LEVELS>["stockChanged"];
type Level = LiveEvent["levels"][number];

let database: TestDatabase;
let api: Instance;
let shop: Shop;
let holds: ReturnType<typeof holdClient>;
const subscriptions: Subscription<unknown>[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const env = stockwireEnv({ databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() }, streamNames("live-levels"), [
    "api",
    "relay",
    "bridge",
  ]);
  api = await startInstance(env);
  shop = await shopAt(api.url);
  holds = holdClient(shop.gql);
});
afterAll(async () => {
  await Promise.allSettled(subscriptions.map((s) => s.close()));
  await api?.stop();
  await database?.drop();
});

async function admin(query: string, variables: Record<string, unknown>) {
  const res = await shop.admin(query, variables);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data as any;
}

let counter = 0;
const createLocation = async (priority: number) =>
  (
    await admin(
      `mutation($input: CreateLocationInput!) { createLocation(input: $input) { ... on CreateLocationSuccess { location { id code } } } }`,
      { input: { code: `LIVE-${process.pid}-${++counter}`, name: "Store", fulfilsOrders: true, priority } },
    )
  ).createLocation.location as { id: string; code: string };

const LEVEL_FIELDS = "location { id code } onHand committed reserved incoming available version";

/** The product as a fresh read shows it: what each live event must match. */
async function readBack(productId: string): Promise<{ version: number; stock: number; available: number; levels: Level[] }> {
  const { product } = await admin(
    `query($id: ID!) { product(id: $id) { version inventory { onHand available } stockLevels { ${LEVEL_FIELDS} } } }`,
    { id: productId },
  );
  return { version: product.version, stock: product.inventory.onHand, available: product.inventory.available, levels: product.stockLevels };
}

const adjust = (productId: string, locationId: string, delta: number, reason = delta > 0 ? "RECEIVED" : "DAMAGED") =>
  admin(
    `mutation($input: AdjustStockInput!) { adjustStock(input: $input) { __typename ... on AdjustStockSuccess { product { version } } } }`,
    {
      input: { productId, locationId, delta, reason },
    },
  ).then((d) => expectTypename(d.adjustStock, "AdjustStockSuccess"));

const live = (productId: string, opts: { locations?: string[]; max?: number } = {}) => {
  const sub = subscribe(
    api.url,
    shop.adminToken,
    LIVE_LEVELS,
    { ids: [productId], locations: opts.locations, max: opts.max },
    "stockChanged",
  );
  subscriptions.push(sub as Subscription<unknown>);
  return sub;
};

/** Per location, the level versions a subscriber saw never went back. */
function levelRegressions(events: LiveEvent[]): string[] {
  const seen = new Map<string, number>();
  const bad: string[] = [];
  for (const e of events) {
    for (const l of e.levels) {
      const before = seen.get(l.location.code);
      if (before !== undefined && l.version < before) bad.push(`${l.location.code}: ${before} -> ${l.version} (product v${e.version})`);
      seen.set(l.location.code, l.version);
    }
  }
  return bad;
}

describe("stockChanged levels", () => {
  it("each kind of change is one event carrying the levels a fresh read shows", async () => {
    const [a, b] = [await createLocation(1), await createLocation(2)];
    const product = await shop.createProduct({ stock: 0 });
    const customer = await shop.createCustomer();
    const sub = live(product.id);
    const current = await sub.waitFor("CURRENT", (e) => e.reason === "CURRENT");
    expect(current.levels).toEqual((await readBack(product.id)).levels);

    const expected: { reason: string; version: number; stock: number; available: number; levels: Level[] }[] = [];
    /** Runs one change, then waits for its event: the next change starts only once this one was delivered. */
    const step = async (reason: string, change: () => Promise<unknown>) => {
      await change();
      const state = await readBack(product.id);
      expected.push({ reason, ...state });
      await sub.waitFor(`${reason} at version ${state.version}`, (e) => e.version === state.version);
    };

    await step("RESTOCK", () => adjust(product.id, a.id, 4));
    await step("RESTOCK", async () => {
      const { levels } = await readBack(product.id);
      const version = levels.find((l) => l.location.id === b.id)?.version ?? 0;
      const r = await admin(`mutation($input: SetOnHandInput!) { setOnHand(input: $input) { __typename } }`, {
        input: { productId: product.id, locationId: b.id, onHand: 6, expectedVersion: version },
      });
      expect(r.setOnHand.__typename).toBe("SetOnHandSuccess");
    });
    // 3 from A (the first location that can fill the line), through the group-commit batch.
    let first!: { id: string; version: number };
    await step("ORDER_PLACED", async () => {
      first = expectTypename(await shop.placeOrder(customer.token, [{ productId: product.id, quantity: 3 }]), "PlaceOrderSuccess").order;
    });
    // A has 1 left: the hold takes its 2 from B.
    let holdId!: string;
    await step("HOLD_PLACED", async () => {
      holdId = expectTypename(await holds.reserve(customer.token, [{ productId: product.id, quantity: 2 }]), "ReserveStockSuccess").hold.id;
    });
    let second!: { id: string };
    await step("HOLD_CONSUMED", async () => {
      second = expectTypename(await holds.orderHold(customer.token, holdId), "PlaceOrderSuccess").order;
    });
    let released!: string;
    await step("HOLD_PLACED", async () => {
      released = expectTypename(await holds.reserve(customer.token, [{ productId: product.id, quantity: 1 }]), "ReserveStockSuccess").hold
        .id;
    });
    await step("HOLD_RELEASED", async () => expect((await holds.release(customer.token, released)).__typename).toBe("ReleaseHoldSuccess"));
    await step("ORDER_CANCELLED", async () => {
      const r = await shop.gql(
        `mutation($i: CancelOrderInput!) { cancelOrder(input: $i) { __typename } }`,
        { i: { orderId: first.id } },
        shop.bearer(customer.token),
      );
      expect((r.data as any).cancelOrder.__typename).toBe("CancelOrderSuccess");
    });
    const { order } = await admin(`query($id: ID!) { order(id: $id) { version } }`, { id: second.id });
    const confirmed = expectTypename(await shop.updateOrderStatus(second.id, "CONFIRMED", order.version), "UpdateOrderStatusSuccess");
    await step("ORDER_SHIPPED", async () =>
      expectTypename(await shop.updateOrderStatus(second.id, "SHIPPED", confirmed.order.version), "UpdateOrderStatusSuccess"),
    );
    let transfer!: { id: string };
    await step("TRANSFER_SENT", async () => {
      const r = await admin(
        `mutation($input: TransferStockInput!) { transferStock(input: $input) { __typename ... on TransferStockSuccess { transfer { id } } } }`,
        { input: { productId: product.id, from: b.id, to: a.id, quantity: 3 } },
      );
      transfer = expectTypename(
        r.transferStock as { __typename: "TransferStockSuccess"; transfer: { id: string } },
        "TransferStockSuccess",
      ).transfer;
    });
    await step("TRANSFER_RECEIVED", () =>
      admin(`mutation($input: SettleTransferInput!) { receiveTransfer(input: $input) { __typename } }`, {
        input: { id: transfer.id, quantity: 2 },
      }),
    );
    await step("TRANSFER_CANCELLED", () =>
      admin(`mutation($input: SettleTransferInput!) { cancelTransfer(input: $input) { __typename } }`, { input: { id: transfer.id } }),
    );
    await step("ADJUSTMENT", () => adjust(product.id, a.id, -1));

    const changes = sub.events.filter((e) => e.reason !== "CURRENT");
    expect(changes.map(({ reason, version, stock, available, levels }) => ({ reason, version, stock, available, levels }))).toEqual(
      expected,
    );
    // The numbers the steps should leave, in allocation order (default, A, B), as a check on the reads themselves.
    expect(changes.at(-1)!.levels.map((l) => [l.location.code, l.onHand, l.committed, l.reserved, l.incoming])).toEqual([
      ["default", 0, 0, 0, 0],
      [a.code, 5, 0, 0, 0],
      [b.code, 2, 0, 0, 0],
    ]);
  }, 120_000);

  it("locationIds: only changes that touch those locations, and only their levels", async () => {
    const [a, b] = [await createLocation(3), await createLocation(4)];
    const product = await shop.createProduct({ stock: 0 });
    await adjust(product.id, a.id, 5);
    await adjust(product.id, b.id, 5);
    const storeA = live(product.id, { locations: [a.id] });
    const both = live(product.id, { locations: [b.id, a.id] });
    const all = live(product.id);
    await Promise.all([storeA, both, all].map((s) => s.waitFor("CURRENT", (e) => e.reason === "CURRENT")));
    const onlyB = (await adjust(product.id, b.id, 1)).product.version;
    const atA = (await adjust(product.id, a.id, 2)).product.version;
    await Promise.all([storeA, both, all].map((s) => s.waitFor(`version ${atA}`, (e) => e.version === atA)));

    const codes = (e: LiveEvent) => e.levels.map((l) => l.location.code);
    expect(storeA.events.map((e) => [e.reason, codes(e)])).toEqual([
      ["CURRENT", [a.code]],
      ["RESTOCK", [a.code]],
    ]);
    expect(storeA.events.at(-1)!.levels[0]).toMatchObject({ onHand: 7, available: 7 });
    expect(both.events.map((e) => [e.version, codes(e)]).slice(1)).toEqual([
      [onlyB, [a.code, b.code]],
      [atA, [a.code, b.code]],
    ]);
    expect(all.events.at(-1)!.levels).toEqual((await readBack(product.id)).levels);
  }, 60_000);

  it("levels are rendered once per change for all subscribers of one shape, from the shared state", async () => {
    const a = await createLocation(8);
    const product = await shop.createProduct({ stock: 0 });
    await adjust(product.id, a.id, 5);
    const subs = [
      live(product.id, { locations: [a.id] }),
      live(product.id, { locations: [a.id] }),
      live(product.id, { locations: [a.id] }),
    ];
    await Promise.all(subs.map((s) => s.waitFor("CURRENT", (e) => e.reason === "CURRENT")));
    const before = api.running.app!.fanout.stats.executions;
    let last = 0;
    for (const delta of [1, 2, 3]) last = (await adjust(product.id, a.id, delta)).product.version;
    await Promise.all(subs.map((s) => s.waitFor("the last change", (e) => e.version === last)));
    // One execution (its levels, locations included, resolved once) per change, not one per subscriber.
    expect(api.running.app!.fanout.stats.executions - before).toBe(3);
    for (const s of subs) expect(s.events.at(-1)!.levels).toMatchObject([{ location: { id: a.id }, onHand: 11 }]);
  }, 60_000);

  it("refuses bad locationIds with a typed error and subscribes nothing", async () => {
    const product = await shop.createProduct({ stock: 1 });
    const location = await createLocation(5);
    const cases: [string[], Record<string, unknown>][] = [
      [["not-an-id"], { code: "BAD_USER_INPUT" }],
      [[product.id], { code: "BAD_USER_INPUT" }], // a Product's ID
      [[encodeGlobalId("Location", "00000000-0000-4000-8000-000000000000")], { code: "NOT_FOUND" }],
      [[], { code: "BAD_USER_INPUT", field: "locationIds" }],
      [
        Array.from({ length: 21 }, (_, i) => encodeGlobalId("Location", `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`)),
        { code: "BAD_USER_INPUT", field: "locationIds" },
      ],
    ];
    for (const [locations, extensions] of cases) {
      const sub = live(product.id, { locations });
      expect(await sub.waitForError(), JSON.stringify(locations)).toMatchObject({ extensions });
      expect(sub.events).toEqual([]);
    }
    // The same location twice counts once.
    const twice = live(product.id, { locations: [location.id, location.id] });
    await twice.waitFor("CURRENT", (e) => e.reason === "CURRENT");
  }, 60_000);

  it("conflation (maxUpdatesPerSecond) never sends a level back and ends on every location's final numbers", async () => {
    const [a, b] = [await createLocation(6), await createLocation(7)];
    const product = await shop.createProduct({ stock: 0 });
    await adjust(product.id, a.id, 100);
    await adjust(product.id, b.id, 100);
    const rated = live(product.id, { max: 1 });
    const ratedA = live(product.id, { max: 1, locations: [a.id] });
    const every = live(product.id);
    await Promise.all([rated, ratedA, every].map((s) => s.waitFor("CURRENT", (e) => e.reason === "CURRENT")));
    // Alternating locations, the last change at B: a subscriber whose updates were replaced must still have A's last one.
    let last = 0;
    for (let i = 0; i < 12; i++) last = (await adjust(product.id, i % 2 ? b.id : a.id, -1)).product.version;
    const final = await readBack(product.id);
    expect(final.version).toBe(last);
    await rated.waitFor("the final version", (e) => e.version === last);
    await every.waitFor("the final version", (e) => e.version === last);
    const finalA = final.levels.find((l) => l.location.id === a.id)!;
    await ratedA.waitFor("A's final level", (e) => e.levels[0]?.version === finalA.version);

    expect(rated.events.length).toBeLessThan(every.events.length); // updates were conflated
    expect(rated.events.at(-1)!.levels).toEqual(final.levels);
    expect(every.events.at(-1)!.levels).toEqual(final.levels);
    expect(ratedA.events.at(-1)!.levels).toEqual([finalA]);
    for (const s of [rated, ratedA, every]) {
      expect(levelRegressions(s.events)).toEqual([]);
      const versions = s.events.map((e) => e.version);
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
      expect(new Set(versions).size).toBe(versions.length);
    }
  }, 90_000);
});
