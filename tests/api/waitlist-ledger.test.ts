// The fair back-in-stock waitlist and the stock ledger, on real PostgreSQL:
// a restock goes to the waiting customers in line order before anyone else;
// an offered hold that expires passes to the next in line; and after a
// randomized concurrent mix of orders, cancels, holds, releases, expiries,
// consumptions and adjustments the ledger adds up to every product's stock
// and reserved units.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { expectTypename, rowId } from "../support/shop.js";
import { holdClient } from "../support/holds.js";

let api: Api;
let holds: ReturnType<typeof holdClient>;
beforeAll(async () => {
  api = await startApi({ HOLD_SWEEP_INTERVAL_MS: "100", WAITLIST_HOLD_TTL: "900" });
  holds = holdClient(api.gql);
});
afterAll(async () => {
  await api?.close();
});

const lapse = (holdGid: string) => api.sql.query(`UPDATE hold SET expires_at = now() - interval '1 ms' WHERE id = $1`, [rowId(holdGid)]);

describe("waitlist", () => {
  it("a restock of 3 with 5 waiting gives holds to the first 3 in line; an expired one passes to the 4th", async () => {
    const p = await api.createProduct({ stock: 0 });
    const waiters: { id: string; token: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await api.createCustomer();
      expect(expectTypename(await holds.join(c.token, p.id), "JoinWaitlistSuccess").entry.status).toBe("WAITING");
      waiters.push(c);
    }
    const bot = await api.createCustomer();
    // The restock and a bot racing for the units: the bot never gets them.
    const [, botOrder] = await Promise.all([api.adjustStock(p.id, 3), api.placeOrder(bot.token, [{ productId: p.id, quantity: 1 }])]);
    expect(botOrder.__typename).toBe("InsufficientStockError");
    const entries = await Promise.all(waiters.map(async (w) => (await holds.myWaitlist(w.token))[0]!));
    expect(entries.map((e) => e.status)).toEqual(["OFFERED", "OFFERED", "OFFERED", "WAITING", "WAITING"]);
    expect(entries.slice(0, 3).map((e) => e.hold?.status)).toEqual(["ACTIVE", "ACTIVE", "ACTIVE"]);
    expect(await holds.availability(p.id)).toMatchObject({ stock: 3, reserved: 3, available: 0 });
    // The 2nd orders its hold; the 1st lets it expire: it passes to the 4th, not to everyone.
    expectTypename(await holds.orderHold(waiters[1]!.token, entries[1]!.hold!.id), "PlaceOrderSuccess");
    await lapse(entries[0]!.hold!.id);
    await vi.waitFor(async () => expect((await holds.myWaitlist(waiters[3]!.token))[0]!.status).toBe("OFFERED"), { timeout: 20_000 });
    const after = await Promise.all(waiters.map(async (w) => (await holds.myWaitlist(w.token))[0]!.status));
    expect(after).toEqual(["LAPSED", "FULFILLED", "OFFERED", "OFFERED", "WAITING"]);
    // The ordered hold's unit is committed (on hand until it ships).
    expect(await holds.availability(p.id)).toMatchObject({ stock: 3, reserved: 2, available: 0 });
    // Leaving the line: the 5th; a restock then has nobody waiting and is available to all.
    const fifth = (await holds.myWaitlist(waiters[4]!.token))[0]!;
    const left = await api.gql(
      `mutation($id: ID!) { leaveWaitlist(id: $id) { __typename } }`,
      { id: fifth.id },
      api.bearer(waiters[4]!.token),
    );
    expect(left.data).toEqual({ leaveWaitlist: { __typename: "LeaveWaitlistSuccess" } });
    await api.adjustStock(p.id, 1);
    expect(await holds.availability(p.id)).toMatchObject({ stock: 4, reserved: 2, available: 1 });
  });

  it("a waiter whose quantity does not fit keeps its place; later ones that fit are served", async () => {
    const p = await api.createProduct({ stock: 0 });
    const [big, small] = [await api.createCustomer(), await api.createCustomer()];
    expectTypename(await holds.join(big.token, p.id, 5), "JoinWaitlistSuccess");
    expectTypename(await holds.join(small.token, p.id, 2), "JoinWaitlistSuccess");
    await api.adjustStock(p.id, 3);
    expect((await holds.myWaitlist(big.token))[0]!.status).toBe("WAITING");
    expect((await holds.myWaitlist(small.token))[0]!.status).toBe("OFFERED");
    expect(await holds.availability(p.id)).toMatchObject({ available: 1, reserved: 2 });
    expect(await holds.join(small.token, p.id, 1)).toMatchObject({ __typename: "ValidationError" });
  });
});

describe("stock ledger", () => {
  it("after a randomized concurrent mix, every product's movements add up to its stock and reserved, and active holds to reserved", async () => {
    const seed = Number(process.env.LEDGER_SEED ?? Date.now() % 100_000);
    // mulberry32: a small seeded PRNG (LEDGER_SEED replays a run).
    let state = seed;
    const rand = (n: number) => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) % 2 ** 31) % n;
    };
    const products = await Promise.all(Array.from({ length: 4 }, () => api.createProduct({ stock: 8 })));
    const customers = await Promise.all(Array.from({ length: 5 }, () => api.createCustomer()));
    const orders: { token: string; id: string }[] = [];
    const held: { token: string; id: string }[] = [];
    const line = () => ({ productId: products[rand(products.length)]!.id, quantity: 1 + rand(3) });
    const step = async () => {
      const c = customers[rand(customers.length)]!;
      switch (rand(8)) {
        case 0:
        case 1: {
          // Orders race the other writers on the same rows (group commit: a batch statement waits for
          // a row another transaction changes; tests/api/group-commit-race.test.ts). Any error fails the test.
          const r = await api.placeOrder(c.token, rand(2) ? [line()] : [line(), line()]).catch((err: Error) => {
            throw new Error(`seed ${seed}: ${err.message}`);
          });
          if (r?.__typename === "PlaceOrderSuccess") orders.push({ token: c.token, id: r.order.id });
          return;
        }
        case 2: {
          const o = orders.splice(rand(orders.length + 1), 1)[0];
          if (o)
            await api.gql(
              `mutation($i: CancelOrderInput!) { cancelOrder(input: $i) { __typename } }`,
              { i: { orderId: o.id } },
              api.bearer(o.token),
            );
          return;
        }
        case 3: {
          const r = await holds.reserve(c.token, [line()], { ttlSeconds: 600 });
          if (r.__typename === "ReserveStockSuccess") held.push({ token: c.token, id: r.hold.id });
          return;
        }
        case 4: {
          const h = held.splice(rand(held.length + 1), 1)[0];
          if (h) await (rand(2) ? holds.release(h.token, h.id) : holds.orderHold(h.token, h.id));
          return;
        }
        case 5: {
          const h = held.splice(rand(held.length + 1), 1)[0];
          if (h) await lapse(h.id);
          return;
        }
        case 6:
          await api.admin(`mutation($i: AdjustStockInput!) { adjustStock(input: $i) { __typename } }`, {
            i: {
              productId: products[rand(products.length)]!.id,
              delta: rand(2) ? 1 + rand(4) : -(1 + rand(3)),
              reason: "OTHER",
              note: "mix",
            },
          });
          return;
        default:
          await holds.join(c.token, products[rand(products.length)]!.id, 1 + rand(2));
      }
    };
    // 8 concurrent workers, 30 steps each.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 30; i++) await step();
      }),
    );
    // Let the sweeper end every lapsed hold.
    await vi.waitFor(
      async () =>
        expect(
          Number((await api.sql.query(`SELECT count(*) AS n FROM hold WHERE status = 'ACTIVE' AND expires_at <= now()`)).rows[0].n),
        ).toBe(0),
      { timeout: 20_000 },
    );
    const { rows } = await api.sql.query(
      `SELECT p.id, p.stock, p.reserved, p.version,
         (SELECT coalesce(sum(delta_on_hand), 0)::int FROM stock_movement m WHERE m.product_id = p.id) AS on_hand,
         (SELECT coalesce(sum(delta_reserved), 0)::int FROM stock_movement m WHERE m.product_id = p.id) AS reserved_sum,
         (SELECT coalesce(sum(hl.quantity), 0)::int FROM hold_line hl JOIN hold h ON h.id = hl.hold_id
            WHERE hl.product_id = p.id AND h.status = 'ACTIVE') AS active_held,
         (SELECT max(version_after) FROM stock_movement m WHERE m.product_id = p.id) AS last_version,
         (SELECT count(*)::int FROM stock_movement m WHERE m.product_id = p.id) AS movements,
         (SELECT count(DISTINCT version_after)::int FROM stock_movement m WHERE m.product_id = p.id) AS versions
       FROM product p WHERE p.id = ANY($1::uuid[])`,
      [products.map((p) => rowId(p.id))],
    );
    for (const r of rows) {
      const context = `seed ${seed}: ${JSON.stringify(r)}`;
      expect(r.on_hand, context).toBe(r.stock); // CREATED carries the initial stock
      expect(r.reserved_sum, context).toBe(r.reserved);
      expect(r.active_held, context).toBe(r.reserved);
      expect(r.stock, context).toBeGreaterThanOrEqual(r.reserved);
      expect(r.last_version, context).toBe(r.version); // every write left a ledger row
      expect(r.movements, context).toBe(r.version + 1);
      // One location each: every change, batched or not, is one ledger row with the version it made.
      expect(r.versions, context).toBe(r.movements);
    }
    // The mix really did all of it.
    const reasons = await api.sql.query(`SELECT DISTINCT reason FROM stock_movement WHERE product_id = ANY($1::uuid[])`, [
      products.map((p) => rowId(p.id)),
    ]);
    // (Which kinds a short random mix reaches varies with the seed; most of them, always.)
    const kinds = reasons.rows.map((r) => r.reason as string);
    expect(kinds, `seed ${seed}`).toEqual(expect.arrayContaining(["CREATED", "ORDER_PLACED", "HOLD_PLACED"]));
    expect(kinds.length, `seed ${seed}: ${kinds.join(", ")}`).toBeGreaterThanOrEqual(7);
  });
});
