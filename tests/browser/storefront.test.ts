// The storefront demo in Chromium against a real Stockwire (PostgreSQL,
// outbox -> Kafka -> Redis -> graphql-ws): live counts across pages, the
// out-of-stock message, the admin panel, and the phone layout.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { INSTALL_TIMEOUT_MS, launchChromium } from "./support/chromium.js";
import { startDemoServer, type DemoServer } from "./support/demo-server.js";
import { createProduct, PHONE, Storefront } from "./support/storefront.js";

let browser: Browser;
let server: DemoServer;
const opened: Storefront[] = [];
const open = async (options?: Parameters<typeof Storefront.open>[2]) => {
  const store = await Storefront.open(browser, server.url, options);
  opened.push(store);
  return store;
};

beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startDemoServer("browser-storefront")]);
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  for (const store of opened) expect(store.errors, "errors in the page").toEqual([]);
  await browser?.close();
  await server?.stop();
});

describe("storefront demo", () => {
  it("shows the catalogue with live badges, at desktop and phone width", async () => {
    const desktop = await open();
    expect(await desktop.page.locator("#product-grid .card").count()).toBe(12);
    await desktop.page.getByRole("button", { name: "Load more products" }).click();
    await expect.poll(() => desktop.page.locator('#product-grid .card[data-live="true"]').count(), { timeout: 5_000 }).toBe(24);
    const total = await server.shop.gql<{ products: { totalCount: number } }>(`{ products(first: 1) { totalCount } }`);
    expect(await desktop.page.locator("#result-summary").textContent()).toBe(`Showing 24 of ${total.data!.products.totalCount} products`);
    await expect.poll(() => desktop.page.locator("#orders-empty").textContent()).toMatch(/No orders yet/);
    await desktop.screenshot("catalogue-desktop");
    const phone = await open(PHONE);
    // One column of panels, two of products, nothing wider than the screen.
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.screenshot("catalogue-phone");
  });

  it("an order in one page moves the count and badge in another within 2 seconds", async () => {
    const product = await createProduct(server.shop, "Heritage Field Jacket", 8, 12900);
    const [buyer, watcher] = await Promise.all([open(), open()]);
    await Promise.all([buyer.show(product), watcher.show(product)]);
    expect(await watcher.stock(product.id)).toEqual({ count: 8, badge: "In stock" });

    const clicked = Date.now();
    const ordered = buyer.order(product.id, 4);
    await watcher.waitForStock(product.id, 4, "Low stock", 2_000);
    const seenAfterMs = Date.now() - clicked;
    expect(await ordered).toMatchObject({ ok: true, text: expect.stringMatching(/^Ordered 4 × Heritage Field Jacket: order #\w{8}/) });
    console.log(`[browser] the other page showed the order ${seenAfterMs} ms after the click`);
    expect(await buyer.stock(product.id)).toEqual({ count: 4, badge: "Low stock" });
    // The buyer's order is listed, with its live status.
    await expect.poll(() => buyer.page.locator("#orders-list .order").first().textContent()).toMatch(/4 × Heritage Field Jacket.*Pending/);
    await watcher.screenshot("live-update-watcher");
    await buyer.screenshot("order-placed");
  });

  it("ordering more than is left says how many are available and changes nothing", async () => {
    const product = await createProduct(server.shop, "Ultralight Trail Tent", 3, 34900);
    const store = await open();
    await store.show(product);

    const result = await store.order(product.id, 5);
    expect(result.ok).toBe(false);
    expect(result.text).toBe("Not enough stock: you asked for 5, only 3 available. Nothing was ordered.");
    expect(await store.card(product.id).getByRole("alert").textContent()).toBe(result.text);
    await store.page.waitForTimeout(1_000); // room for a change that must not come
    expect(await store.stock(product.id)).toEqual({ count: 3, badge: "Low stock" });
    expect(await server.shop.stockOf(product.id)).toMatchObject({ stock: 3 });
    await store.screenshot("out-of-stock");
  });

  it("an admin restock shows up on a customer's page; an admin status change on the customer's order", async () => {
    const product = await createProduct(server.shop, "Compact Espresso Grinder", 2, 8900);
    const [admin, customer] = await Promise.all([open(), open()]);
    await Promise.all([admin.show(product), customer.show(product)]);

    const panel = admin.page.locator("#admin-panel");
    await panel.getByLabel("Product").selectOption(product.id);
    await admin.adminAdjust("Default", 20, { note: "Delivery 4711" });
    await expect
      .poll(() => panel.locator("#levels-result").textContent())
      .toBe("Added 20 × Compact Espresso Grinder at Default (Received): 22 on hand, 22 available there.");
    await customer.waitForStock(product.id, 22, "In stock", 2_000);

    // The customer orders; the admin confirms; the customer's list follows live.
    expect((await customer.order(product.id, 1)).ok).toBe(true);
    const row = customer.page.locator("#orders-list .order", { hasText: "Compact Espresso Grinder" });
    await expect.poll(() => row.locator(".status").textContent()).toBe("Pending");
    await admin.page.getByRole("button", { name: "Refresh" }).click();
    const adminRow = panel.locator(".order", { hasText: "Compact Espresso Grinder" });
    await adminRow.getByRole("button", { name: /Mark order \w+ confirmed/ }).click();
    await expect.poll(() => row.locator(".status").textContent(), { timeout: 5_000 }).toBe("Confirmed");
    await adminRow.getByRole("button", { name: /shipped/ }).click();
    await expect.poll(() => row.locator(".status").textContent(), { timeout: 5_000 }).toBe("Shipped");
    await admin.screenshot("admin-restock", true);
    await customer.screenshot("order-status-live");
  });
});

describe("storefront demo, connection", () => {
  it("reconnects with backoff after the connection drops and shows the counts that changed meanwhile", async () => {
    const product = await createProduct(server.shop, "Everyday Canvas Tote", 30, 2900);
    const store = await open();
    await store.show(product);
    const connection = store.page.locator("#connection");

    // The network goes away and the socket with it: the page says so and keeps retrying.
    await store.page.context().setOffline(true);
    await store.page.evaluate(() => (window as unknown as { stockwire: { live: { terminate(): void } } }).stockwire.live.terminate());
    await connection.locator(':scope[data-state="waiting"]').waitFor({ timeout: 5_000 });
    expect(await connection.textContent()).toMatch(/Offline, reconnecting in \d+ s \(attempt \d+\)/);
    await store.screenshot("offline");

    await server.shop.adjustStock(product.id, -27); // while the page is offline
    await store.page.waitForTimeout(500);
    expect(await store.stock(product.id)).toEqual({ count: 30, badge: "In stock" });

    await store.page.context().setOffline(false);
    await connection.locator(':scope[data-state="connected"]').waitFor({ timeout: 20_000 });
    expect(await connection.textContent()).toMatch(/Live again, counts refreshed/);
    await store.waitForStock(product.id, 3, "Low stock", 5_000);
    // Chromium logs each refused reconnect while offline; those were the point here.
    expect(store.errors.every((e) => e.includes("net::ERR_INTERNET_DISCONNECTED"))).toBe(true);
    store.errors.length = 0;
  });
});
