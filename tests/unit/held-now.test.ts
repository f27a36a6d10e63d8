// Product.available and reserved (schema/held-now.ts) from a row and the hold reading taken after it:
// when the sweeper ends a hold between the two, the answer is the reading's, not the row's reserved
// minus the reading's lapsed units (which would still count the ended hold).
import { describe, expect, it } from "vitest";
import type { HoldReading } from "../../src/db/hold-times.sql.js";
import { heldOf } from "../../src/schema/held-now.js";
import type { GraphQLContext } from "../../src/schema/context.js";
import type { ProductRow } from "../../src/services/product.service.js";

const row = (counts: Partial<ProductRow>) => ({ id: "p1", stock: 10, committed: 2, reserved: 3, version: 5, ...counts }) as ProductRow;
const context = (reading: HoldReading | null, cached = true) => {
  const loads: string[] = [];
  const cacheHints = cached ? { varies: false as boolean, until: undefined as number | undefined } : undefined;
  const ctx = { cacheHints, loaders: { holdReading: { load: async (id: string) => (loads.push(id), reading) } } };
  return { ctx: ctx as unknown as Pick<GraphQLContext, "cacheHints" | "loaders">, loads, cacheHints };
};

describe("heldOf", () => {
  it("a hold swept after the row was read: the reading's counts, and the answer is not shared", async () => {
    const { ctx, cacheHints } = context({ stock: 10, committed: 2, reserved: 0, version: 6, lapsed: 0 });
    expect(await heldOf(row({}), ctx)).toEqual({ reserved: 0, available: 8 });
    expect(cacheHints!.varies).toBe(true);
  });

  it("a hold past expiry not yet swept: lapsed, and a shared answer lasts until the next hold lapses", async () => {
    const { ctx, cacheHints } = context({ stock: 10, committed: 2, reserved: 5, version: 5, lapsed: 3, nextExpiry: 1_000 });
    expect(await heldOf(row({ reserved: 5 }), ctx)).toEqual({ reserved: 2, available: 6 });
    expect(cacheHints).toEqual({ varies: false, until: 1_000 });
  });

  it("a row with nothing reserved reads nothing more; a row rebuilt from an event uses what it knows", async () => {
    const none = context(null);
    expect(await heldOf(row({ reserved: 0 }), none.ctx)).toEqual({ reserved: 0, available: 8 });
    expect(none.loads).toEqual([]);
    const fromEvent = context(null);
    expect(await heldOf(row({ lapsedReserved: 1 }), fromEvent.ctx)).toEqual({ reserved: 2, available: 6 });
    expect(fromEvent.loads).toEqual([]);
    expect(fromEvent.cacheHints!.varies).toBe(true);
  });
});
