// The response cache's store alone (pure: the clock is passed in): invalidation by id and by
// typename, the LRU bounds, refusing a result computed across a change, and serving nothing while
// the change stream is down.
import { describe, expect, it } from "vitest";
import { EntityCache } from "../../src/schema/response-cache/entity-cache.js";
import { stockEventEntities } from "../../src/schema/response-cache/entities.js";

function cacheAt(opts: Partial<ConstructorParameters<typeof EntityCache>[0]> = {}) {
  const clock = { t: 1000 };
  const cache = new EntityCache({ maxEntries: 100, maxBytes: 1_000_000, ttlMs: 60_000, now: () => clock.t, ...opts });
  /** Stores as a request that began now and ends after `advance` ms. */
  const store = (key: string, entities: { typename: string; id?: string }[], data: unknown = { key }, advance = 0) => {
    const ticket = { startedAt: clock.t };
    clock.t += advance;
    cache.prepareStore(ticket);
    cache.set(key, { data: data as Record<string, unknown> }, entities, 60_000);
  };
  return { cache, clock, store };
}

const P = (id: string) => ({ typename: "Product", id });

describe("EntityCache", () => {
  it("drops exactly the results that contain a changed product, and by typename every result with that type", () => {
    const { cache, store } = cacheAt();
    store("one", [P("a")]);
    store("page", [P("a"), P("b"), { typename: "QueryProductsConnection" }]);
    store("other", [P("c")]);
    cache.invalidate([P("b")]);
    expect([cache.get("one"), cache.get("page"), cache.get("other")].map(Boolean)).toEqual([true, false, true]);
    cache.invalidate([{ typename: "Product" }]);
    expect([cache.get("one"), cache.get("other")]).toEqual([null, null]);
    expect(cache.stats.invalidations).toBe(3);
  });

  it("stores only the data: extensions (cost, rate-limit headers) belong to the request that made them", () => {
    const { cache } = cacheAt();
    cache.prepareStore({ startedAt: 1000 });
    cache.set("k", { data: { x: 1 }, extensions: { cost: { actualQueryCost: 3 } } }, [P("a")], 60_000);
    expect(cache.get("k")).toEqual({ data: { x: 1 } });
  });

  it("refuses a result whose product changed while it was computed, or that comes with no ticket", () => {
    const { cache, clock, store } = cacheAt();
    const ticket = { startedAt: clock.t };
    clock.t += 5;
    cache.invalidate([P("a")]); // committed and announced after the request read the row
    clock.t += 5;
    cache.prepareStore(ticket);
    cache.set("stale", { data: {} }, [P("a")], 60_000);
    expect(cache.get("stale")).toBeNull();
    expect(cache.stats.refused).toBe(1);
    cache.set("no-ticket", { data: {} }, [P("b")], 60_000);
    expect(cache.get("no-ticket")).toBeNull();
    store("fresh", [P("a")]); // began after the change
    expect(cache.get("fresh")).not.toBeNull();
  });

  it("with read replicas, refuses results of products changed shortly before the request began (a replica may lag)", () => {
    const { cache, clock, store } = cacheAt({ staleReadMs: 2000 });
    cache.invalidate([P("a")]);
    clock.t += 1000;
    store("within-lag", [P("a")]);
    expect(cache.get("within-lag")).toBeNull();
    clock.t += 1500;
    store("after-lag", [P("a")]);
    expect(cache.get("after-lag")).not.toBeNull();
  });

  it("keeps at most maxEntries results, least recently used out first", () => {
    const { cache, store } = cacheAt({ maxEntries: 3 });
    for (const k of ["a", "b", "c"]) store(k, [P(k)]);
    cache.get("a");
    store("d", [P("d")]);
    expect(cache.size.entries).toBe(3);
    expect(cache.get("b")).toBeNull();
    expect(cache.get("a")).not.toBeNull();
    expect(cache.stats.evictions).toBe(1);
    // The evicted result's index entries go with it: invalidating its product drops nothing else.
    cache.invalidate([P("b")]);
    expect(cache.size.entries).toBe(3);
  });

  it("keeps the results' size under maxBytes", () => {
    const { cache, store } = cacheAt({ maxBytes: 5_000 });
    const big = { text: "x".repeat(1_000) };
    for (let i = 0; i < 20; i++) store(`k${i}`, [P(String(i))], big);
    expect(cache.size.bytes).toBeLessThanOrEqual(5_000);
    expect(cache.size.entries).toBeGreaterThan(0);
    expect(cache.size.entries).toBeLessThan(20);
    store("huge", [P("h")], { text: "x".repeat(10_000) });
    expect(cache.get("huge")).toBeNull();
  });

  it("serves and stores nothing while suspended, and after resuming takes nothing computed before", () => {
    const { cache, clock, store } = cacheAt();
    store("k", [P("a")]);
    const during = { startedAt: clock.t };
    cache.suspend("stream");
    expect(cache.get("k")).toBeNull();
    expect(cache.serving).toBe(false);
    cache.prepareStore(during);
    cache.set("k2", { data: {} }, [P("a")], 60_000);
    clock.t += 1;
    cache.resume("stream");
    expect(cache.serving).toBe(true);
    expect(cache.get("k")).toBeNull(); // dropped: it may have missed an invalidation
    cache.prepareStore(during);
    cache.set("k3", { data: {} }, [P("a")], 60_000);
    expect(cache.get("k3")).toBeNull();
    store("k4", [P("a")]);
    expect(cache.get("k4")).not.toBeNull();
  });

  it("maps a stock event to its product, and to pages by stock when the product sold out or came back", () => {
    const base = { productId: "UHJvZHVjdDph", reason: "ORDER_PLACED" as const };
    expect(stockEventEntities({ ...base, stock: 5, delta: -1 })).toEqual([P("UHJvZHVjdDph")]);
    expect(stockEventEntities({ ...base, stock: 0, delta: -1 })).toContainEqual({ typename: "ProductsByStock" });
    expect(stockEventEntities({ ...base, reason: "RESTOCK", stock: 3, delta: 3 })).toContainEqual({ typename: "ProductsByStock" });
    expect(stockEventEntities({ ...base, reason: "CREATED", stock: 3, delta: 3 })).toContainEqual({ typename: "Product" });
  });
});
