// The storefront demo's fixes (issue 14) and the live system in pictures, in
// Chromium against a real Stockwire: order messages that move no card, a
// flash-sale counter never behind its tally (orders from a crowd of demo
// shoppers), ordering disabled offline with "Retry now", accessible names,
// "Your orders" live across tabs, pickers over the whole catalogue,
// filter/sort/empty state, sparklines and the operations panel, GraphiQL's
// examples. Screenshots for review go to test-artifacts/browser/review/.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { INSTALL_TIMEOUT_MS, launchChromium } from "./support/chromium.js";
import { ARTIFACTS, startDemoServer, type DemoServer } from "./support/demo-server.js";
import { createProduct, PHONE, Storefront } from "./support/storefront.js";

let browser: Browser;
let server: DemoServer;
const opened: Storefront[] = [];
const open = async (options?: Parameters<typeof Storefront.open>[2]) => {
  const store = await Storefront.open(browser, server.url, options);
  opened.push(store);
  return store;
};
const REVIEW = path.join(ARTIFACTS, "review");

beforeAll(async () => {
  mkdirSync(REVIEW, { recursive: true });
  [browser, server] = await Promise.all([launchChromium(), startDemoServer("browser-demo-polish")]);
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  for (const store of opened) expect(store.errors, "errors in the page").toEqual([]);
  await browser?.close();
  await server?.stop();
});

/** Every card's box on the page. */
const boxes = (page: Page) =>
  page.$$eval("#product-grid .card", (cards) =>
    cards.map((c) => {
      const r = c.getBoundingClientRect();
      return { id: (c as HTMLElement).dataset.productId, x: r.x + scrollX, y: r.y + scrollY, w: r.width, h: r.height };
    }),
  );

describe("fixes", () => {
  it("1: an order message moves no card, and can be dismissed", async () => {
    const store = await open({ viewport: { width: 1280, height: 900 } });
    const before = await boxes(store.page);
    expect(before.length).toBe(12);
    // Seeded products in stock (at most 220 units each): 1,000 is refused, 1 is ordered.
    const [first, second] = await store.page.$$eval('#product-grid .card:not([data-level="out"])', (cards) =>
      cards.map((c) => (c as HTMLElement).dataset.productId!),
    );
    const name = (await store.card(first!).locator(".name").textContent())!;
    const refused = await store.order(first!, 1000);
    expect(refused.ok).toBe(false);
    expect(await boxes(store.page)).toEqual(before);
    const ok = await store.order(second!, 1);
    expect(ok.ok).toBe(true);
    expect(await boxes(store.page)).toEqual(before);
    await store.page.screenshot({ path: path.join(REVIEW, "order-messages-desktop.png") });
    await store
      .card(first!)
      .getByRole("button", { name: `Dismiss the message about ${name}` })
      .click();
    expect(await store.card(first!).locator(".order-result").isHidden()).toBe(true);
    // The successful one fades on its own.
    await store.card(second!).locator(".order-result").waitFor({ state: "hidden", timeout: 15_000 });
    expect(await boxes(store.page)).toEqual(before);
  });

  it("2 and 5: the flash-sale counter is never behind the tally; the orders come from a crowd of shoppers", async () => {
    const INITIAL = 20;
    const FIRED = 60;
    const product = await createProduct(server.shop, "Countdown Headphones", INITIAL, 9900);
    const store = await open();
    const panel = store.page.locator("#flash-panel");
    // Not on screen: the picker finds it in the whole catalogue.
    await panel.getByLabel("Search the catalogue").fill(product.sku);
    await expect.poll(() => panel.getByLabel("Product").locator("option").allTextContents()).toEqual([`${product.name} (${product.sku})`]);
    await panel.getByLabel("Orders to fire at once").fill(String(FIRED));
    await expect.poll(() => panel.getByTestId("flash-counter").textContent()).toBe(String(INITIAL));

    // At every change of the board: the counter and the number won.
    await store.page.evaluate(() => {
      const seen: { counter: number; won: number }[] = [];
      Object.assign(window, { seen });
      const read = () =>
        seen.push({
          counter: Number(document.querySelector("#flash-counter")!.textContent),
          won: Number(document.querySelector("#flash-won")!.textContent),
        });
      new MutationObserver(read).observe(document.querySelector(".flash-board")!, { childList: true, characterData: true, subtree: true });
    });
    await panel.getByRole("button", { name: "Start flash sale" }).click();
    await panel.locator('#flash-result[data-done="true"]').waitFor({ timeout: 30_000 });
    const seen = await store.page.evaluate(() => (window as unknown as { seen: { counter: number; won: number }[] }).seen);
    expect(seen.length).toBeGreaterThan(0);
    const behind = seen.filter((s) => s.counter + s.won > INITIAL);
    expect(behind, "moments the counter showed more than the tally allows").toEqual([]);
    expect(seen.at(-1)).toEqual({ counter: 0, won: INITIAL });
    expect(
      seen.filter((s, i) => i > 0 && s.counter > seen[i - 1]!.counter),
      "the counter went back up",
    ).toEqual([]);

    // Who bought: several of the seeded shoppers, not the demo customer.
    const { data } = await server.shop.admin<{
      orders: { edges: { node: { customer: { name: string }; items: { product: { id: string } }[] } }[] };
    }>(`{ orders(last: 100) { edges { node { customer { name } items { product { id } } } } } }`);
    const buyers = data!.orders.edges.filter((e) => e.node.items.some((i) => i.product.id === product.id)).map((e) => e.node.customer.name);
    expect(buyers.length).toBe(INITIAL);
    expect(new Set(buyers).size).toBeGreaterThan(1);
    expect(buyers).not.toContain("Ada Lovelace");
    expect(await store.page.locator("#orders-list .order", { hasText: product.name }).count()).toBe(0);
    // The units-left chart followed the sale down to 0.
    expect(await store.page.locator("#ops-sale-chart").getAttribute("data-last")).toBe("0");
    expect(Number(await store.page.locator("#ops-sale-chart").getAttribute("data-points"))).toBeGreaterThan(1);
    expect(Number(await store.page.locator("#ops-refusals").textContent())).toBeGreaterThanOrEqual(FIRED - INITIAL);
    await store.page.locator("#flash-panel").screenshot({ path: path.join(REVIEW, "flash-sale-panel.png") });
    await store.page.locator("#ops-panel").screenshot({ path: path.join(REVIEW, "ops-panel-after-sale.png") });
  });

  it("3: offline greys the counts, disables ordering and offers Retry now; back online, ordering returns", async () => {
    const product = await createProduct(server.shop, "Offline Rain Jacket", 9, 7900);
    const store = await open();
    await store.show(product);
    const order = store.card(product.id).getByRole("button", { name: `Order ${product.name}` });
    expect(await order.isEnabled()).toBe(true);

    await store.page.context().setOffline(true);
    await store.page.evaluate(() => (window as unknown as { stockwire: { live: { terminate(): void } } }).stockwire.live.terminate());
    await store.page.locator('#connection[data-state="waiting"]').waitFor({ timeout: 5_000 });
    expect(await order.isDisabled()).toBe(true);
    expect(await store.page.locator("#flash-panel").getByRole("button", { name: "Start flash sale" }).isDisabled()).toBe(true);
    const opacity = await store
      .card(product.id)
      .locator(".stock")
      .evaluate((el) => Number(getComputedStyle(el).opacity));
    expect(opacity).toBeLessThan(1);
    const retry = store.page.getByRole("button", { name: "Retry now" });
    expect(await retry.isVisible()).toBe(true);
    // The header stays in view when the page scrolls.
    await store.page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    expect(await store.page.locator("#connection").isVisible()).toBe(true);
    const box = await store.page.locator("#connection").boundingBox();
    expect(box!.y).toBeGreaterThanOrEqual(0);
    expect(box!.y).toBeLessThan(100);
    await store.page.evaluate(() => window.scrollTo(0, 0));
    await store.screenshot("review/offline-desktop");

    // Retry now tries at once (a new attempt, still offline).
    const attempt = async () => Number(/attempt (\d+)/.exec((await store.page.locator("#connection").textContent()) ?? "")?.[1]);
    const was = await attempt();
    await retry.click();
    await expect.poll(attempt, { timeout: 5_000 }).toBeGreaterThan(was);

    await store.page.context().setOffline(false);
    await retry.click().catch(() => {}); // gone already when the online event reconnected first
    await store.page.locator('#connection[data-state="connected"]').waitFor({ timeout: 10_000 });
    expect(await order.isEnabled()).toBe(true);
    expect(await retry.isHidden()).toBe(true);
    expect(store.errors.every((e) => e.includes("net::ERR_INTERNET_DISCONNECTED"))).toBe(true);
    store.errors.length = 0;
  });

  it("6: every control is named with its product; a skip path reaches the side panels; section links on desktop", async () => {
    const store = await open({ viewport: { width: 1280, height: 900 } });
    const names = await store.page.locator("#product-grid .card .name").allTextContents();
    expect(names.length).toBe(12);
    for (const name of names) {
      expect(await store.page.getByRole("button", { name: `Order ${name}`, exact: true }).count()).toBe(1);
      expect(await store.page.getByRole("spinbutton", { name: `Quantity of ${name}`, exact: true }).count()).toBe(1);
      expect(await store.page.getByRole("img", { name: `Recent stock of ${name}`, exact: true }).count()).toBe(1);
    }
    const orderButtons = await store.page.locator("#product-grid").getByRole("button").allInnerTexts();
    expect(orderButtons.length).toBe(12);
    // Keyboard: Tab reaches the skip links first; the second jumps to the panels.
    await store.page.keyboard.press("Tab");
    await store.page.keyboard.press("Tab");
    const skip = store.page.getByRole("link", { name: "Skip to your orders, flash sale and admin" });
    expect(await skip.evaluate((el) => el === document.activeElement)).toBe(true);
    await store.page.keyboard.press("Enter");
    await expect.poll(() => store.page.evaluate(() => document.activeElement?.id)).toBe("panels");
    for (const link of ["Products", "Your orders", "Flash sale", "Operations", "Admin"]) {
      expect(
        await store.page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: link, exact: true }).isVisible(),
      ).toBe(true);
    }
  });

  it("8: an order placed in one tab appears in the customer's other tab, live", async () => {
    const product = await createProduct(server.shop, "Two Tab Teapot", 10, 3900);
    const first = await open();
    const second = await Storefront.openIn(first.page.context(), server.url);
    opened.push(second);
    await first.show(product);
    expect((await first.order(product.id, 2)).ok).toBe(true);
    const row = second.page.locator("#orders-list .order", { hasText: "2 × Two Tab Teapot" });
    await row.waitFor({ timeout: 5_000 });
    // Cancelled in the second tab: the first one follows.
    await row.getByRole("button", { name: "Cancel" }).click();
    await expect
      .poll(() => first.page.locator("#orders-list .order", { hasText: "Two Tab Teapot" }).locator(".status").textContent(), {
        timeout: 5_000,
      })
      .toBe("Cancelled");
  });

  it("4: the admin picker searches the whole catalogue", async () => {
    const product = await createProduct(server.shop, "Far Away Lantern", 3, 2900);
    const store = await open();
    expect(await store.card(product.id).count()).toBe(0); // the newest product: not on the first page
    const panel = store.page.locator("#admin-panel");
    await panel.getByLabel("Search the catalogue").fill("Far Away Lan");
    await expect.poll(() => panel.getByLabel("Product").inputValue()).toBe(product.id);
    await store.adminAdjust("Default", 7);
    await expect
      .poll(() => panel.locator("#levels-result").textContent())
      .toBe("Added 7 × Far Away Lantern at Default (Received): 10 on hand, 10 available there.");
    // Cleared, it offers the products on screen again.
    await panel.getByLabel("Search the catalogue").fill("");
    await expect.poll(() => panel.getByLabel("Product").locator("option").count()).toBe(12);
  });

  it("9: in-stock filter, sort, and an empty search state with a way back", async () => {
    const tag = `Filter${Date.now().toString(36)}`;
    const [a, b, c] = [
      await createProduct(server.shop, `${tag} Cedar Box`, 4, 3000),
      await createProduct(server.shop, `${tag} Alder Box`, 0, 1000),
      await createProduct(server.shop, `${tag} Birch Box`, 9, 2000),
    ];
    const store = await open();
    const search = store.page.getByLabel("Search products");
    await search.fill(tag);
    await expect.poll(() => store.page.locator("#product-grid .card").count()).toBe(3);
    await expect.poll(() => store.page.locator("#product-grid .card .name").allTextContents()).toEqual([a.name, b.name, c.name]);
    await store.page.getByLabel("Sort shown products").selectOption("name");
    expect(await store.page.locator("#product-grid .card .name").allTextContents()).toEqual([b.name, c.name, a.name]);
    await store.page.getByLabel("Sort shown products").selectOption("price-desc");
    expect(await store.page.locator("#product-grid .card .name").allTextContents()).toEqual([a.name, c.name, b.name]);
    await store.page.getByLabel("In stock only").check();
    await expect.poll(() => store.page.locator("#product-grid .card .name").allTextContents()).toEqual([a.name, c.name]);
    expect(await store.page.locator("#result-summary").textContent()).toBe(`Showing 2 of 2 products matching “${tag}”, in stock`);

    await search.fill(`${tag}-nothing`);
    const empty = store.page.locator("#catalogue-empty");
    await empty.waitFor();
    expect(await empty.textContent()).toMatch(new RegExp(`No products matching “${tag}-nothing”, in stock\\.`));
    await store.screenshot("review/empty-search-desktop");
    await empty.getByRole("button", { name: "Show all products" }).click();
    await expect.poll(() => store.page.locator("#product-grid .card").count()).toBe(12);
    expect(await search.inputValue()).toBe("");
    expect(await store.page.getByLabel("In stock only").isChecked()).toBe(false);
    expect(await empty.isHidden()).toBe(true);
  });

  it("pictures: a card's sparkline follows its changes; the operations panel measures commit-to-screen latency", async () => {
    const product = await createProduct(server.shop, "Sparkline Kettle", 30, 4900);
    const store = await open();
    await store.show(product);
    for (const delta of [-5, -3, 6, -10]) {
      await server.shop.adjustStock(product.id, delta);
    }
    await store.waitForStock(product.id, 18, "In stock", 5_000);
    const spark = store.card(product.id).locator(".spark");
    expect(Number(await spark.getAttribute("data-points"))).toBe(5);
    expect(await spark.getAttribute("data-min")).toBe("18");
    expect(await spark.getAttribute("data-max")).toBe("30");
    expect(await spark.locator("canvas").count()).toBe(1);
    // Four changes reached this page's screen: p50 and p99 are measured (milliseconds, a number each).
    await expect.poll(() => store.page.locator("#ops-samples").textContent()).toBe("of the last 4 changes");
    for (const q of ["#ops-p50", "#ops-p99"]) {
      expect(await store.page.locator(q).getAttribute("data-ms")).toMatch(/^\d+$/);
    }
    expect(Number(await store.page.locator("#ops-p99").getAttribute("data-ms"))).toBeGreaterThanOrEqual(
      Number(await store.page.locator("#ops-p50").getAttribute("data-ms")),
    );
    expect(await store.page.locator("#ops-connection").textContent()).toBe("Live");
    expect(await store.page.locator("#ops-orders-chart canvas").count()).toBe(1);
  });
});

describe("GraphiQL", () => {
  it("7: opens on Stockwire's examples with the demo token; repeated ?query= visits add no tabs", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/graphql`);
    const tabs = page.locator(".graphiql-tab");
    await tabs.first().waitFor({ timeout: 30_000 });
    expect(await page.title()).toBe("Stockwire GraphiQL");
    await expect.poll(() => tabs.allInnerTexts()).toEqual(["Products", "StockChanged"]);
    const editorText = () =>
      page
        .locator(".graphiql-query-editor")
        .first()
        .innerText()
        .then((t) => t.replace(/\s+/g, " "));
    await expect.poll(editorText).toMatch(/query Products \{ products\(first: 5, inStock: true\)/);
    await page
      .getByRole("button", { name: /headers/i })
      .first()
      .click();
    await expect
      .poll(() =>
        page
          .locator(".graphiql-editor-tool")
          .first()
          .innerText()
          .then((t) => t.replace(/\s+/g, " ")),
      )
      .toMatch(/"Authorization": "Bearer ey/);
    await page.screenshot({ path: path.join(REVIEW, "graphiql-desktop.png") });

    const query = encodeURIComponent("{ me { name } }");
    for (let i = 0; i < 3; i++) {
      await page.goto(`${server.url}/graphql?query=${query}`);
      await tabs.first().waitFor();
      await page.waitForTimeout(300); // the editor settles its state into storage
    }
    expect(await tabs.count()).toBe(3); // the two examples and one for the query
    await context.close();
  });
});

describe("screenshots for review", () => {
  it("saves the storefront at desktop (1280) and phone width", async () => {
    const product = await createProduct(server.shop, "Review Desk Lamp", 12, 5900);
    const desktop = await open({ viewport: { width: 1280, height: 900 } });
    await desktop.show(product);
    await server.shop.adjustStock(product.id, -4);
    await server.shop.adjustStock(product.id, -3);
    await desktop.waitForStock(product.id, 5, "Low stock", 5_000);
    await desktop.order(product.id, 1);
    await desktop.page.getByLabel("Search products").fill("");
    await desktop.page.getByLabel("Search products").press("Enter");
    await desktop.page.locator('#product-grid .card[data-live="true"]').nth(11).waitFor();
    await desktop.page.screenshot({ path: path.join(REVIEW, "storefront-desktop.png") });
    await desktop.page.screenshot({ path: path.join(REVIEW, "storefront-desktop-full.png"), fullPage: true });

    const phone = await open(PHONE);
    await phone.show(product);
    await phone.page.screenshot({ path: path.join(REVIEW, "storefront-phone.png") });
    await phone.page.screenshot({ path: path.join(REVIEW, "storefront-phone-full.png"), fullPage: true });
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  });
});
