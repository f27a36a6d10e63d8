// Holds against real PostgreSQL, with real concurrency: holds race orders and
// each other for the last units and never let `available` go below zero; an
// expired hold frees its units exactly once; a hold is ordered even with
// nothing left available; bad input changes nothing.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { expectTypename, rowId } from "../support/shop.js";
import { holdClient, STOCK_MOVEMENTS } from "../support/holds.js";

let api: Api;
let holds: ReturnType<typeof holdClient>;
let customer: { id: string; token: string };
beforeAll(async () => {
  api = await startApi({ HOLD_TTL_DEFAULT: "600", HOLD_TTL_MAX: "3600", HOLD_SWEEP_INTERVAL_MS: "100" });
  holds = holdClient(api.gql);
  customer = await api.createCustomer();
});
afterAll(async () => {
  await api?.close();
});

const row = async (productGid: string) =>
  (
    await api.sql.query<{ stock: number; committed: number; reserved: number }>(
      `SELECT stock, committed, reserved FROM product WHERE id = $1`,
      [rowId(productGid)],
    )
  ).rows[0]!;
/** Ends a hold's time now, as if its TTL had run out (no waiting on the clock in tests). */
const lapse = (holdGid: string) => api.sql.query(`UPDATE hold SET expires_at = now() - interval '1 ms' WHERE id = $1`, [rowId(holdGid)]);
const movements = async (productGid: string, reason: string) =>
  Number(
    (await api.sql.query(`SELECT count(*) AS n FROM stock_movement WHERE product_id = $1 AND reason = $2`, [rowId(productGid), reason]))
      .rows[0].n,
  );

describe("holds", () => {
  it("set units aside: available drops, stock stays, one ledger row and one HOLD_PLACED event per line", async () => {
    const p = await api.createProduct({ stock: 10 });
    const hold = expectTypename(await holds.reserve(customer.token, [{ productId: p.id, quantity: 4 }]), "ReserveStockSuccess").hold;
    expect(hold.status).toBe("ACTIVE");
    expect(await holds.availability(p.id)).toMatchObject({ stock: 10, available: 6, reserved: 4, version: 1 });
    const { rows } = await api.sql.query(`SELECT payload FROM outbox_event WHERE key = $1 AND payload->>'reason' = 'HOLD_PLACED'`, [
      rowId(p.id),
    ]);
    expect(rows.map((r) => r.payload)).toEqual([
      expect.objectContaining({ stock: 10, available: 6, reserved: 4, version: 1, delta: 0, holdId: rowId(hold.id) }),
    ]);
    expect(await movements(p.id, "HOLD_PLACED")).toBe(1);
    // The same key again is the same hold; other lines under it are refused.
    const again = await holds.reserve(customer.token, [{ productId: p.id, quantity: 4 }], { key: "same-hold" });
    const replay = await holds.reserve(customer.token, [{ productId: p.id, quantity: 4 }], { key: "same-hold" });
    expect(expectTypename(replay, "ReserveStockSuccess").hold.id).toBe(expectTypename(again, "ReserveStockSuccess").hold.id);
    expect(await holds.reserve(customer.token, [{ productId: p.id, quantity: 1 }], { key: "same-hold" })).toMatchObject({
      __typename: "ValidationError",
      field: "idempotencyKey",
    });
    expect(await holds.availability(p.id)).toMatchObject({ available: 2, reserved: 8 });
  });

  it("refuses bad input with a typed error and changes nothing", async () => {
    const p = await api.createProduct({ stock: 5 });
    const before = await holds.availability(p.id);
    const other = await api.createProduct({ stock: 5 });
    expect(await holds.reserve(customer.token, [{ productId: p.id, quantity: 1 }], { ttlSeconds: 3601 })).toMatchObject({
      __typename: "ValidationError",
      field: "ttlSeconds",
    });
    expect(await holds.reserve(customer.token, [{ productId: p.id, quantity: 0 }])).toMatchObject({ __typename: "ValidationError" });
    expect(await holds.reserve(customer.token, [])).toMatchObject({ __typename: "ValidationError", field: "items" });
    expect(
      await holds.reserve(customer.token, [
        { productId: other.id, quantity: 1 },
        { productId: p.id, quantity: 6 },
      ]),
    ).toMatchObject({ __typename: "InsufficientStockError", productId: p.id, requested: 6, available: 5 });
    const unknown = Buffer.from("Product:00000000-0000-4000-8000-000000000000").toString("base64");
    expect(await holds.reserve(customer.token, [{ productId: unknown, quantity: 1 }])).toMatchObject({ __typename: "NotFoundError" });
    expect(await holds.availability(p.id)).toEqual(before);
    expect(await holds.availability(other.id)).toMatchObject({ available: 5, reserved: 0, version: 0 });
    // Someone else's hold does not exist for this customer.
    const mine = expectTypename(await holds.reserve(customer.token, [{ productId: p.id, quantity: 1 }]), "ReserveStockSuccess").hold;
    const stranger = await api.createCustomer();
    expect(await holds.release(stranger.token, mine.id)).toMatchObject({ __typename: "NotFoundError" });
    expect(await holds.orderHold(stranger.token, mine.id)).toMatchObject({ __typename: "NotFoundError" });
    expect(await holds.availability(p.id)).toMatchObject({ available: 4, reserved: 1 });
  });

  it("refuses a hold of products priced in different currencies (it could never be ordered) and sets nothing aside", async () => {
    const eur = await api.createProduct({ stock: 5, currency: "EUR" });
    const usd = await api.createProduct({ stock: 5, currency: "USD" });
    expect(
      await holds.reserve(customer.token, [
        { productId: eur.id, quantity: 1 },
        { productId: usd.id, quantity: 1 },
      ]),
    ).toMatchObject({ __typename: "ValidationError", field: "items" });
    expect(await holds.availability(eur.id)).toMatchObject({ available: 5, reserved: 0, version: 0 });
    expect(await holds.availability(usd.id)).toMatchObject({ available: 5, reserved: 0, version: 0 });
  });

  it("holds racing orders for the last units never oversell: held + ordered = stock, available 0", async () => {
    const p = await api.createProduct({ stock: 25 });
    const shoppers = await Promise.all(Array.from({ length: 6 }, () => api.createCustomer()));
    const results = await Promise.all(
      Array.from({ length: 80 }, (_, i) => {
        const who = shoppers[i % shoppers.length]!;
        return i % 2 === 0
          ? holds.reserve(who.token, [{ productId: p.id, quantity: 1 + (i % 3) }]).then((r) => ["hold", r, 1 + (i % 3)] as const)
          : api.placeOrder(who.token, [{ productId: p.id, quantity: 1 + (i % 3) }]).then((r) => ["order", r, 1 + (i % 3)] as const);
      }),
    );
    const held = results.filter(([k, r]) => k === "hold" && r.__typename === "ReserveStockSuccess").reduce((n, [, , q]) => n + q, 0);
    const ordered = results.filter(([k, r]) => k === "order" && r.__typename === "PlaceOrderSuccess").reduce((n, [, , q]) => n + q, 0);
    for (const [, r] of results) expect(["ReserveStockSuccess", "PlaceOrderSuccess", "InsufficientStockError"]).toContain(r.__typename);
    expect(held + ordered).toBeLessThanOrEqual(25);
    // 80 requests for 2 units on average: the last units are gone, and whatever is left is less than any refused request.
    const after = await holds.availability(p.id);
    expect(after).toMatchObject({ stock: 25, reserved: held, available: 25 - ordered - held });
    expect(after.available).toBeLessThan(3);
    expect(await row(p.id)).toEqual({ stock: 25, committed: ordered, reserved: held });
  });

  it("an order consuming its hold succeeds with available at 0; others are refused; the hold is consumed once", async () => {
    const p = await api.createProduct({ stock: 3, priceCents: 500 });
    const hold = expectTypename(await holds.reserve(customer.token, [{ productId: p.id, quantity: 3 }]), "ReserveStockSuccess").hold;
    expect(await holds.availability(p.id)).toMatchObject({ available: 0, reserved: 3, stock: 3 });
    const other = await api.createCustomer();
    expect(await api.placeOrder(other.token, [{ productId: p.id, quantity: 1 }])).toMatchObject({
      __typename: "InsufficientStockError",
      available: 0,
    });
    // A write-off cannot take held units either.
    expect(
      (
        await api.admin(`mutation($i: AdjustStockInput!) { adjustStock(input: $i) { __typename } }`, {
          i: { productId: p.id, delta: -1, reason: "DAMAGED" },
        })
      ).data,
    ).toEqual({ adjustStock: { __typename: "InsufficientStockError" } });
    // The same hold ordered twice at once with one key: one order, both callers get it.
    const [a, b] = await Promise.all([
      holds.orderHold(customer.token, hold.id, "take-hold"),
      holds.orderHold(customer.token, hold.id, "take-hold"),
    ]);
    const order = expectTypename(a, "PlaceOrderSuccess").order;
    expect(expectTypename(b, "PlaceOrderSuccess").order.id).toBe(order.id);
    expect(order.totalCents).toBe(1500);
    expect(order.items).toEqual([{ quantity: 3, product: { id: p.id } }]);
    expect(await holds.availability(p.id)).toMatchObject({ stock: 3, available: 0, reserved: 0 }); // held units became committed
    expect(await holds.orderHold(customer.token, hold.id)).toMatchObject({ __typename: "HoldNotActiveError", status: "CONSUMED" });
    expect(await holds.release(customer.token, hold.id)).toMatchObject({ __typename: "HoldNotActiveError", status: "CONSUMED" });
    expect(await movements(p.id, "HOLD_CONSUMED")).toBe(1);
  });

  it("a released hold gives its units back once", async () => {
    const p = await api.createProduct({ stock: 2 });
    const hold = expectTypename(await holds.reserve(customer.token, [{ productId: p.id, quantity: 2 }]), "ReserveStockSuccess").hold;
    const [a, b] = await Promise.all([holds.release(customer.token, hold.id), holds.release(customer.token, hold.id)]);
    expect([a.__typename, b.__typename].sort()).toEqual(["HoldNotActiveError", "ReleaseHoldSuccess"]);
    expect(await holds.availability(p.id)).toMatchObject({ stock: 2, available: 2, reserved: 0 });
    expect(await movements(p.id, "HOLD_RELEASED")).toBe(1);
  });

  it("an expired hold stops counting at once for readers, is swept (HOLD_EXPIRED, once), and its unit goes to exactly one of many racing orders", async () => {
    const p = await api.createProduct({ stock: 1 });
    const hold = expectTypename(await holds.reserve(customer.token, [{ productId: p.id, quantity: 1 }]), "ReserveStockSuccess").hold;
    const shoppers = await Promise.all(Array.from({ length: 4 }, () => api.createCustomer()));
    // Stop the sweeper so reads and writes meet the hold expired but not yet swept.
    await api.app.services.sweeper.stop();
    try {
      await lapse(hold.id);
      expect(await holds.availability(p.id)).toMatchObject({ stock: 1, available: 1, reserved: 0 });
      expect(await holds.orderHold(customer.token, hold.id)).toMatchObject({ __typename: "HoldNotActiveError", status: "EXPIRED" });
      // Writes go by the reserved column: the unit is orderable once the sweep ends the hold (see src/db/ledger.sql.ts).
      expect(await api.placeOrder(shoppers[0]!.token, [{ productId: p.id, quantity: 1 }])).toMatchObject({
        __typename: "InsufficientStockError",
      });
      expect(await row(p.id)).toEqual({ stock: 1, committed: 0, reserved: 1 });
    } finally {
      api.app.services.sweeper.start();
    }
    await vi.waitFor(async () => expect(await movements(p.id, "HOLD_EXPIRED")).toBe(1), { timeout: 20_000 });
    expect(await row(p.id)).toEqual({ stock: 1, committed: 0, reserved: 0 });
    const raced = await Promise.all(
      Array.from({ length: 12 }, (_, i) => api.placeOrder(shoppers[i % 4]!.token, [{ productId: p.id, quantity: 1 }])),
    );
    expect(raced.filter((r) => r.__typename === "PlaceOrderSuccess")).toHaveLength(1);
    const { rows } = await api.sql.query(`SELECT status FROM hold WHERE id = $1`, [rowId(hold.id)]);
    expect(rows[0].status).toBe("EXPIRED");
    // Sweeping again changes nothing.
    await api.app.services.sweeper.sweep();
    expect(await movements(p.id, "HOLD_EXPIRED")).toBe(1);
    expect(await row(p.id)).toEqual({ stock: 1, committed: 1, reserved: 0 }); // the unit is committed to the order that won it
    const events = await api.sql.query(`SELECT payload FROM outbox_event WHERE key = $1 AND payload->>'reason' = 'HOLD_EXPIRED'`, [
      rowId(p.id),
    ]);
    expect(events.rows.map((r) => r.payload)).toEqual([expect.objectContaining({ stock: 1, available: 1, reserved: 0 })]);
  });

  it("the ledger is readable by admins, newest first (its actor a global ID, as every ID), and not by customers", async () => {
    const p = await api.createProduct({ stock: 4 });
    expectTypename(await holds.reserve(customer.token, [{ productId: p.id, quantity: 1 }]), "ReserveStockSuccess");
    await api.adjustStock(p.id, 3);
    const res = await api.admin(STOCK_MOVEMENTS, { id: p.id });
    expect(res.data?.product?.stockMovements?.edges.map((e) => e.node)).toEqual([
      { deltaOnHand: 3, deltaReserved: 0, reason: "RESTOCK", actor: "admin", versionAfter: 2 },
      { deltaOnHand: 0, deltaReserved: 1, reason: "HOLD_PLACED", actor: `customer:${customer.id}`, versionAfter: 1 },
      { deltaOnHand: 4, deltaReserved: 0, reason: "CREATED", actor: "admin", versionAfter: 0 },
    ]);
    const denied = await api.gql(STOCK_MOVEMENTS, { id: p.id }, api.bearer(customer.token));
    expect(denied.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });
});
