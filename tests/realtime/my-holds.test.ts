// subscription { myHolds } on a whole instance (PostgreSQL, Kafka, Redis):
// a waitlisted customer learns of the hold a restock offered them live,
// through the same outbox -> Kafka -> Redis pipeline as every stock change,
// and of its end.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import { shopAt, startInstance, stockwireEnv, streamNames, subscribe, type Instance } from "../support/stockwire.js";
import { expectTypename, type Shop } from "../support/shop.js";
import { holdClient, MY_HOLDS_LIVE } from "../support/holds.js";
import { httpClient } from "../support/client.js";

let db: TestDatabase;
let api: Instance;
let shop: Shop;
beforeAll(async () => {
  db = await createTestDatabase();
  const env = stockwireEnv({ databaseUrl: db.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() }, streamNames("my-holds"), [
    "api",
    "relay",
    "bridge",
  ]);
  api = await startInstance(env);
  shop = await shopAt(api.url);
});
afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

describe("subscription { myHolds }", () => {
  it("delivers the hold a restock offered to a waiting customer, then its release", async () => {
    const holds = holdClient(httpClient(api.url));
    const p = await shop.createProduct({ stock: 0 });
    const waiter = await shop.createCustomer();
    const other = await shop.createCustomer();
    expectTypename(await holds.join(waiter.token, p.id, 2), "JoinWaitlistSuccess");
    const mine = subscribe(api.url, waiter.token, MY_HOLDS_LIVE, {}, "myHolds");
    const theirs = subscribe(api.url, other.token, MY_HOLDS_LIVE, {}, "myHolds");
    try {
      await shop.adjustStock(p.id, 2);
      const offered = await mine.waitFor("the offered hold", (h) => h.status === "ACTIVE");
      expect(offered.lines).toEqual([{ quantity: 2 }]);
      expect(expectTypename(await holds.release(waiter.token, offered.id), "ReleaseHoldSuccess").hold.status).toBe("RELEASED");
      await mine.waitFor("its release", (h) => h.id === offered.id && h.status === "RELEASED");
      expect(mine.errors).toEqual([]);
      // Nobody else hears of it.
      expect(theirs.events).toEqual([]);
    } finally {
      await mine.close();
      await theirs.close();
    }
  });
});
