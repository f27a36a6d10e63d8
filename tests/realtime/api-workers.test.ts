// API_WORKERS=2 on real PostgreSQL, Kafka and Redis (cluster.ts): `node
// src/main.ts` as an operator runs it. Two worker processes serve one port;
// orders racing through both sell exactly the stock, subscribers on either
// worker see every change to the final count, GET /metrics on any worker
// counts the whole host's orders, a worker that dies is replaced while the
// API keeps answering, and SIGTERM leaves no process behind.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { kafkaBrokers, redisUrl } from "../support/services.js";
import {
  eventually,
  shopAt,
  startRoleProcess,
  stockwireEnv,
  streamNames,
  subscribeStock,
  UNTHROTTLED,
  type RoleProcess,
  type StockEvent,
  type Subscription,
} from "../support/stockwire.js";
import { expectTypename, type Shop } from "../support/shop.js";
import { scrape } from "../support/metrics.js";

let database: TestDatabase;
let host: RoleProcess;
let shop: Shop;
const subscriptions: Subscription<StockEvent>[] = [];

/** The pids of the primary's worker processes (not tsx's esbuild service, its other child). */
const workerPids = () =>
  execFileSync("pgrep", ["-P", String(host.child.pid), "-f", "src/main.ts"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean)
    .map(Number);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  database = await createTestDatabase();
  const env = stockwireEnv({ databaseUrl: database.url, redisUrl: redisUrl(), kafkaBrokers: kafkaBrokers() }, streamNames("workers"), [
    "api",
    "relay",
    "bridge",
  ]);
  host = await startRoleProcess({ ...env, ...UNTHROTTLED, API_WORKERS: "2" }, "all", 90_000);
  shop = await shopAt(host.url!);
}, 120_000);
afterAll(async () => {
  await Promise.allSettled(subscriptions.map((s) => s.close()));
  await host?.kill();
  await database?.drop();
});

it("runs the API in two worker processes on one port", () => {
  expect(host.output()).toMatch(/workers\s+2 API worker processes/);
  expect(workerPids()).toHaveLength(2);
});

it("sells exactly the stock to orders racing through both workers, and every subscriber sees the final count", async () => {
  const product = await shop.createProduct({ stock: 30 });
  const customers = await Promise.all(Array.from({ length: 12 }, () => shop.createCustomer()));
  // Each subscriber on a connection of its own: the primary hands connections to the workers in turn.
  for (let i = 0; i < 6; i++) subscriptions.push(subscribeStock(host.url!, customers[i]!.token, [product.id]));
  await Promise.all(subscriptions.map((s) => s.waitFor("CURRENT", (e) => e.reason === "CURRENT")));
  const before = (await scrape(host.url!)).value("stockwire_orders_total");

  const results = await Promise.all(
    Array.from({ length: 48 }, (_, i) => shop.placeOrder(customers[i % customers.length]!.token, [{ productId: product.id, quantity: 1 }])),
  );
  const placed = results.filter((r) => r.__typename === "PlaceOrderSuccess");
  expect(placed).toHaveLength(30);
  for (const r of results) if (r.__typename !== "PlaceOrderSuccess") expectTypename(r, "InsufficientStockError");

  for (const s of subscriptions) {
    const last = await s.waitFor("the final count", (e) => e.available === 0);
    expect(last.version).toBe(30);
    const versions = s.events.map((e) => e.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
  }

  // Whichever worker answers the scrape counts every order of the host (48 more than before), each time.
  for (let i = 0; i < 4; i++) expect((await scrape(host.url!)).value("stockwire_orders_total") - before).toBe(48);
}, 90_000);

it("replaces a worker that dies, and the API keeps answering meanwhile", async () => {
  const [victim, survivor] = workerPids();
  process.kill(victim!, "SIGKILL");
  // Once the primary has seen it go, new connections reach the one that is left (or its replacement): nobody
  // is refused. (Connections the killed worker held die with it, as with any process: a fresh client.)
  await eventually("the primary to see the worker exit", async () => host.output().includes("starting another"));
  const fresh = await shopAt(host.url!);
  for (let i = 0; i < 10; i++) expect((await fresh.createProduct({ stock: 1 })).id).toBeTruthy();
  await eventually("a new worker", async () => workerPids().length === 2);
  expect(workerPids()).toContain(survivor);
  expect(workerPids()).not.toContain(victim);
}, 90_000);

it("stops every worker on SIGTERM", async () => {
  const pids = workerPids();
  await host.kill("SIGTERM");
  expect(host.child.exitCode).toBe(0);
  for (const pid of pids) expect(alive(pid)).toBe(false);
}, 60_000);
