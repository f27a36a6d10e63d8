// Holds in the storefront demo, in Chromium against a real Stockwire: "Notify
// me" on a sold-out product, the hold a restock offers appearing in the cart
// by itself (subscription myHolds) with its countdown, and ordering it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { INSTALL_TIMEOUT_MS, launchChromium } from "./support/chromium.js";
import { startDemoServer, type DemoServer } from "./support/demo-server.js";
import { createProduct, Storefront } from "./support/storefront.js";

let browser: Browser;
let server: DemoServer;
let store: Storefront | undefined;

beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startDemoServer("browser-holds")]);
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  if (store) expect(store.errors, "errors in the page").toEqual([]);
  await browser?.close();
  await server?.stop();
});

describe("holds in the storefront", () => {
  it("notify me on a sold-out product; the restock's hold appears with a countdown and can be ordered", async () => {
    const product = await createProduct(server.shop, "Waxed Canvas Tote", 0, 5900);
    store = await Storefront.open(browser, server.url);
    await store.show(product);
    const page = store.page;
    await page.locator("#hold-product").selectOption(product.id);
    await expect.poll(() => page.getByTestId("hold-available").textContent()).toBe("0 available (0 in stock, 0 held)");
    await page.getByRole("button", { name: "Notify me" }).click();
    await expect.poll(() => page.locator("#hold-result").textContent()).toMatch(/waitlist/);
    await server.shop.adjustStock(product.id, 1);
    const hold = page.locator("#holds-panel .hold").first();
    await hold.waitFor({ timeout: 10_000 });
    expect(await hold.textContent()).toMatch(/1 × Waxed Canvas Tote \d+:\d\d left/);
    await expect.poll(() => page.getByTestId("hold-available").textContent()).toBe("0 available (1 in stock, 1 held)");
    await store.screenshot("holds-cart");
    await hold.getByRole("button", { name: "Order" }).click();
    await expect.poll(() => page.locator("#hold-result").textContent()).toBe("Ordered.");
    await expect.poll(() => page.locator("#holds-panel .hold").count()).toBe(0);
  });
});
