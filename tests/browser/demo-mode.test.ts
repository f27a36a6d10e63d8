// STOCKWIRE_DEMO: GET /demo/session only in demo mode, and what the page does
// without it (a read-only catalogue with a notice, still live).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { loadConfig } from "../../src/config/config.js";
import { demoCustomers } from "../../src/db/seed.js";
import { startTestApp } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import { INSTALL_TIMEOUT_MS, launchChromium } from "./support/chromium.js";
import { startDemoServer, type DemoServer } from "./support/demo-server.js";
import { createProduct, PHONE, Storefront } from "./support/storefront.js";

describe("STOCKWIRE_DEMO", () => {
  const secret = { JWT_SECRET: "x".repeat(40) };
  it("defaults to on with the development secret and to off with a JWT_SECRET; on|off override", () => {
    expect(loadConfig({}).demo).toBe(true);
    expect(loadConfig(secret).demo).toBe(false);
    expect(loadConfig({ ...secret, STOCKWIRE_DEMO: "on" }).demo).toBe(true);
    expect(loadConfig({ STOCKWIRE_DEMO: "off" }).demo).toBe(false);
    expect(() => loadConfig({ STOCKWIRE_DEMO: "yes" })).toThrow(
      'invalid STOCKWIRE_DEMO: Invalid option: expected one of "on"|"off" (got "yes")',
    );
  });

  it("is allowed in production only when set explicitly", () => {
    expect(loadConfig({ ...secret, NODE_ENV: "production" }).demo).toBe(false);
    expect(loadConfig({ ...secret, NODE_ENV: "production", STOCKWIRE_DEMO: "on" }).demo).toBe(true);
  });
});

describe("GET /demo/session", () => {
  it("in demo mode: creates the demo customer once and signs working customer and admin tokens", async () => {
    const database = await createTestDatabase(); // not seeded: the customer does not exist yet
    const t = await startTestApp({ DATABASE_URL: database.url, JWT_SECRET: "s".repeat(40), STOCKWIRE_DEMO: "on" });
    try {
      const res = await t.fetch("/demo/session");
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      type Shopper = { id: string; name: string; token: string };
      const session = (await res.json()) as { customer: Shopper; admin: { token: string }; shoppers: Shopper[] };
      expect(session.customer).toMatchObject({ name: "Ada Lovelace" });
      // The flash sale's crowd: the seed's other 11 customers, created once too.
      expect(session.shoppers.map((s) => s.name)).toEqual(
        demoCustomers()
          .slice(1)
          .map((c) => c.name),
      );
      const again = (await (await t.fetch("/demo/session")).json()) as typeof session;
      expect(again.customer.id).toBe(session.customer.id);
      expect(again.shoppers.map((s) => s.id)).toEqual(session.shoppers.map((s) => s.id));
      const shopper = await t.gql(`{ me { id } }`, {}, { authorization: `Bearer ${session.shoppers[3]!.token}` });
      expect(shopper.data).toEqual({ me: { id: session.shoppers[3]!.id } });

      const me = await t.gql(`{ me { id name email } }`, {}, { authorization: `Bearer ${session.customer.token}` });
      expect(me.data).toEqual({ me: { id: session.customer.id, name: "Ada Lovelace", email: "ada.lovelace@example.com" } });
      const customers = await t.gql(
        `{ customers(first: 20) { edges { node { id } } } }`,
        {},
        { authorization: `Bearer ${session.admin.token}` },
      );
      const ids = customers.data?.customers.edges.map((e: { node: { id: string } }) => e.node.id);
      expect(ids?.sort()).toEqual([session.customer.id, ...session.shoppers.map((s) => s.id)].sort());
      expect((await t.fetch("/demo/session", { method: "POST" })).status).toBe(405);
    } finally {
      await t.close();
      await database.drop();
    }
  });

  it("without demo mode: 404", async () => {
    const database = await createTestDatabase();
    const t = await startTestApp({ DATABASE_URL: database.url, JWT_SECRET: "s".repeat(40) });
    try {
      expect(t.config.demo).toBe(false);
      expect((await t.fetch("/demo/session")).status).toBe(404);
      // The storefront itself is still served (read-only there).
      expect((await t.fetch("/")).headers.get("content-type")).toMatch(/^text\/html/);
    } finally {
      await t.close();
      await database.drop();
    }
  });
});

describe("the storefront without demo mode", () => {
  let browser: Browser;
  let server: DemoServer;
  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), startDemoServer("browser-read-only", { STOCKWIRE_DEMO: "off" })]);
  }, INSTALL_TIMEOUT_MS);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("shows a read-only catalogue with a notice, and its counts still update live", async () => {
    const product = await createProduct(server.shop, "Recycled Wool Beanie", 12, 1900);
    const store = await Storefront.open(browser, server.url, PHONE);
    await expect.poll(() => store.page.getByRole("note").textContent()).toMatch(/^Demo mode is off on this server \(STOCKWIRE_DEMO=off\)/);
    for (const panel of ["#orders-panel", "#flash-panel", "#admin-panel"]) expect(await store.page.locator(panel).isVisible()).toBe(false);
    await store.show(product);
    expect(await store.card(product.id).getByRole("button", { name: "Order" }).count()).toBe(0);

    await server.shop.adjustStock(product.id, -10);
    await store.waitForStock(product.id, 2, "Low stock", 5_000);
    expect(await server.shop.gql(`{ product(id: "${product.id}") { stock } }`)).toMatchObject({ data: { product: { stock: 2 } } });
    await store.screenshot("read-only-phone");
    // Only Chromium's console line for the 404 of /demo/session, which is how the page learns.
    expect(store.errors).toEqual(["Failed to load resource: the server responded with a status of 404 (Not Found)"]);
  });
});
