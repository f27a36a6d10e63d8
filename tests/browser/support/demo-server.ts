// A Stockwire instance for the browser tests, as `npm start` would run it but
// on the real services: its own PostgreSQL database (seeded with the demo
// catalogue), Redis, Kafka topics of its own, demo mode on, and the built
// storefront at `/`.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildDemo, isUpToDate } from "../../../web-demo/scripts/build.mjs";
import { createTestDatabase } from "../../support/database.js";
import { kafkaBrokers, redisUrl } from "../../support/services.js";
import { shopAt, startInstance, stockwireEnv, streamNames, subscribeStock, type Instance } from "../../support/stockwire.js";
import type { Shop } from "../../support/shop.js";
import { withFileLock } from "./file-lock.js";
import { prepareTopics } from "./kafka-topics.js";

export const ARTIFACTS = fileURLToPath(new URL("../../../test-artifacts/browser", import.meta.url));

export interface DemoServer {
  url: string;
  shop: Shop;
  /** The instance's own database, for tests that check what was written. */
  databaseUrl: string;
  stop(): Promise<void>;
}

/** `npm test` builds the demo first; a file run on its own builds it here when stale. */
export async function ensureDemoBuilt(): Promise<void> {
  if (isUpToDate()) return;
  await withFileLock("web-demo-build", () => buildDemo({ log: (line) => console.log(line) }).then(() => {}));
}

export async function startDemoServer(label: string, env: Record<string, string> = {}): Promise<DemoServer> {
  await ensureDemoBuilt();
  mkdirSync(ARTIFACTS, { recursive: true });
  const names = streamNames(label);
  await prepareTopics(kafkaBrokers(), [names.KAFKA_TOPIC_STOCK, names.KAFKA_TOPIC_ORDER_STATUS, names.KAFKA_TOPIC_PRICE]);
  const database = await createTestDatabase();
  try {
    const config = {
      ...stockwireEnv({ databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() }, names, ["api", "relay", "bridge"]),
      STOCKWIRE_SEED: "auto",
      STOCKWIRE_DEMO: "on",
      ...env,
    };
    let instance: Instance;
    try {
      instance = await startInstance(config);
    } catch (err) {
      // Belt and braces for the Kafka metadata race that prepareTopics works around.
      console.warn(`[browser] Stockwire did not start (${(err as Error).message}); trying once more in 2 s`);
      await new Promise((r) => setTimeout(r, 2_000));
      instance = await startInstance(config);
    }
    let instanceShop: Shop;
    try {
      instanceShop = await shopAt(instance.url);
      await untilLive(instance.url, instanceShop);
    } catch (err) {
      await instance.stop();
      throw err;
    }
    return {
      url: instance.url,
      shop: instanceShop,
      databaseUrl: database.url,
      async stop() {
        await instance.stop();
        await database.drop();
      },
    };
  } catch (err) {
    await database.drop();
    throw err;
  }
}

/**
 * Waits until a change travels the whole pipeline (outbox -> relay -> Kafka ->
 * bridge -> Redis -> subscription): the bridge's consumer group joins new
 * topics some seconds after start, and a test's "within 2 seconds" must not
 * measure that.
 */
async function untilLive(url: string, s: Shop): Promise<void> {
  const probe = await s.createProduct({ stock: 1 });
  const sub = subscribeStock(url, s.adminToken, [probe.id]);
  try {
    // The first event is the count at subscribe time: CURRENT, or CREATED if that was still on its way.
    await sub.waitFor("the count at subscribe time", (e) => e.version === 0, 30_000);
    await s.adjustStock(probe.id, 1);
    await sub.waitFor("a change through Kafka and Redis", (e) => e.reason === "RESTOCK", 60_000);
  } finally {
    await sub.close();
  }
}

export const artifact = (name: string) => path.join(ARTIFACTS, name);
