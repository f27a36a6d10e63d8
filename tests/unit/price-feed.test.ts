// The priceChanged feed against the price book, with the in-process pub/sub and
// a stand-in for the one pricing statement (pure logic: which reads happen, and
// what a subscriber is shown). The route from the outbox to pub/sub is covered
// end to end in tests/realtime/price-changes.test.ts.
import { afterEach, expect, it } from "vitest";
import { createPubSub, type PubSubBackend } from "../../src/realtime/pubsub.js";
import { PriceBook } from "../../src/services/pricing/price-book.js";
import { priceFeed, type PriceChange } from "../../src/services/pricing/price-feed.js";
import type { RawQuery } from "../../src/db/raw-sql.js";

const PRODUCT = "00000000-0000-4000-8000-0000000000b1";
const anonymous = { viewer: { kind: "anonymous" as const } };

/** The database's price of PRODUCT, and how often the pricing statement ran. */
function database() {
  const state = { priceCents: 1000, priceVersion: 1, reads: 0 };
  const sql: RawQuery = {
    query: async <T>() => {
      state.reads++;
      await new Promise((r) => setTimeout(r, 5)); // a read takes a while: others ask meanwhile
      return [{ id: PRODUCT, price_version: state.priceVersion, price_cents: state.priceCents, currency: "EUR", lists: [] }] as T[];
    },
  };
  return { state, sql };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(pubsub: PubSubBackend, book: PriceBook) {
  const feed = (await priceFeed(anonymous, { pubsub, book }, [PRODUCT])) as AsyncIterableIterator<PriceChange>;
  cleanups.push(() => feed.return?.());
  return feed;
}

const event = (priceVersion: number) => ({
  eventId: String(priceVersion),
  productId: Buffer.from(`Product:${PRODUCT}`).toString("base64"),
  priceListId: null,
  priceVersion,
  occurredAt: new Date().toISOString(),
});

it("a change renders the new price even where no price follower dropped the old one", async () => {
  const { state, sql } = database();
  const pubsub = createPubSub({ kind: "memory" });
  cleanups.push(() => pubsub.close());
  const book = new PriceBook(sql);
  const feed = await open(pubsub, book);
  expect((await feed.next()).value).toMatchObject({ productId: PRODUCT, version: 1 });
  expect((await book.pricing([PRODUCT]))[0]!.base.unitPriceCents).toBe(1000);

  Object.assign(state, { priceCents: 1200, priceVersion: 2 });
  const next = feed.next();
  await pubsub.publish("price", PRODUCT, event(2));
  expect((await next).value).toMatchObject({ version: 2 });
  expect((await book.pricing([PRODUCT]))[0]).toMatchObject({ priceVersion: 2, base: { unitPriceCents: 1200 } });
  // An event the book is already past (a redelivery) keeps what it has.
  const reads = state.reads;
  book.dropOlder(PRODUCT, 2);
  await book.pricing([PRODUCT]);
  expect(state.reads).toBe(reads);
});

it("every subscriber of a product shares one read per change", async () => {
  const { state, sql } = database();
  const pubsub = createPubSub({ kind: "memory" });
  cleanups.push(() => pubsub.close());
  const book = new PriceBook(sql);
  const feeds = await Promise.all(Array.from({ length: 50 }, () => open(pubsub, book)));
  await Promise.all(feeds.map((f) => f.next()));
  const before = state.reads;

  Object.assign(state, { priceCents: 900, priceVersion: 3 });
  const updates = feeds.map((f) => f.next());
  await pubsub.publish("price", PRODUCT, event(3));
  await Promise.all(updates);
  // What each subscriber's rendering asks at once, as 50 executions do.
  const shown = await Promise.all(feeds.map(() => book.pricing([PRODUCT])));
  expect(shown.map(([p]) => p!.base.unitPriceCents)).toEqual(feeds.map(() => 900));
  expect(state.reads - before).toBe(1);
});
