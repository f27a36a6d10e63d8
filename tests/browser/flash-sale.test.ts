// The flash-sale button in Chromium against a real Stockwire: many orders for
// one product at once from the page. Every count the page ever shows is
// recorded (MutationObserver): it falls to 0, never below, never back up; the
// orders that won are exactly the initial stock, the rest lost.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { INSTALL_TIMEOUT_MS, launchChromium } from "./support/chromium.js";
import { startDemoServer, type DemoServer } from "./support/demo-server.js";
import { createProduct, PHONE, Storefront } from "./support/storefront.js";

let browser: Browser;
let server: DemoServer;

beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startDemoServer("browser-flash-sale")]);
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const INITIAL = 25;
const FIRED = 60;

declare global {
  interface Window {
    seen: { card: number[]; counter: number[] };
  }
}

it(`fires ${FIRED} orders at ${INITIAL} units: the count ends at 0, never below; ${INITIAL} won, ${FIRED - INITIAL} lost`, async () => {
  const product = await createProduct(server.shop, "Limited Edition Sneakers", INITIAL, 15900);
  const store = await Storefront.open(browser, server.url);
  const watcher = await Storefront.open(browser, server.url, PHONE);
  await Promise.all([store.show(product), watcher.show(product)]);

  const panel = store.page.locator("#flash-panel");
  await panel.getByLabel("Product").selectOption(product.id);
  await panel.getByLabel("Orders to fire at once").fill(String(FIRED));
  await expect.poll(() => panel.getByTestId("flash-counter").textContent()).toBe(String(INITIAL));

  // Every value the card's count and the big counter take, in order.
  await store.page.evaluate((id) => {
    window.seen = { card: [], counter: [] };
    const watch = (el: Element, into: number[]) =>
      new MutationObserver(() => into.push(Number(el.textContent))).observe(el, { childList: true, characterData: true, subtree: true });
    watch(document.querySelector(`.card[data-product-id="${id}"] .count`)!, window.seen.card);
    watch(document.querySelector("#flash-counter")!, window.seen.counter);
  }, product.id);

  const started = Date.now();
  await panel.getByRole("button", { name: "Start flash sale" }).click();
  await panel.locator('#flash-result[data-done="true"]').waitFor({ timeout: 30_000 });
  await store.waitForStock(product.id, 0, "Sold out", 5_000);
  await watcher.waitForStock(product.id, 0, "Sold out", 5_000);
  console.log(`[browser] flash sale: ${FIRED} orders settled and the page showed 0 after ${Date.now() - started} ms`);

  const count = async (k: string) => Number(await panel.locator(`#flash-${k}`).textContent());
  const tally = { fired: await count("fired"), won: await count("won"), lost: await count("lost"), failed: await count("failed") };
  expect(tally).toEqual({ fired: FIRED, won: INITIAL, lost: FIRED - INITIAL, failed: 0 });
  expect(tally.won + tally.lost).toBe(tally.fired);
  expect(await panel.locator("#flash-result").textContent()).toMatch(
    new RegExp(`^${FIRED} orders in [\\d.]+ s: ${INITIAL} won a unit, ${FIRED - INITIAL} were refused as sold out\\.$`),
  );
  expect(await panel.locator("#flash-lowest").textContent()).toBe("Lowest count since the sale started: 0");

  const seen = await store.page.evaluate(() => window.seen);
  for (const values of [seen.card, seen.counter]) {
    expect(values.length).toBeGreaterThan(0);
    expect(values.at(-1)).toBe(0);
    expect(Math.min(...values)).toBe(0);
    expect(
      values.filter((v, i) => i > 0 && v > values[i - 1]!),
      "a count that went back up",
    ).toEqual([]);
    expect(values.every((v) => Number.isInteger(v) && v >= 0 && v <= INITIAL)).toBe(true);
  }
  expect(await server.shop.stockOf(product.id)).toEqual({ stock: 0, version: INITIAL });
  expect(await store.card(product.id).getByRole("button", { name: "Order" }).isDisabled()).toBe(true);
  await store.screenshot("flash-sale-desktop", true);
  await watcher.screenshot("flash-sale-phone");
  expect([...store.errors, ...watcher.errors]).toEqual([]);
});
