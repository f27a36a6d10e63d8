// What a shopper met in the first hour of the storefront demo (issue "first
// hour"), in Chromium against a real Stockwire, at 1280 and 375 px wide: the
// holds panel's message stays in its panel and every Order button on the page
// can be clicked; cards count what can be bought (stock less holds); a
// refusal leaves the count in sight and a popping count keeps its space;
// going offline moves nothing and disables Hold like Order; nothing below the
// holds panel moves while the page loads; the orders/s chart has a scale
// after a spike. Screenshots go to test-artifacts/browser/first-hour-*.png.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContextOptions, Page } from "playwright-core";
import { INSTALL_TIMEOUT_MS, launchChromium } from "./support/chromium.js";
import { artifact, startDemoServer, type DemoServer } from "./support/demo-server.js";
import { createProduct, Storefront } from "./support/storefront.js";
import { holdClient } from "../support/holds.js";

let browser: Browser;
let server: DemoServer;
const opened: Storefront[] = [];
const open = async (options?: BrowserContextOptions) => {
  const store = await Storefront.open(browser, server.url, options);
  opened.push(store);
  return store;
};

const WIDTHS = [
  { name: "desktop", options: { viewport: { width: 1280, height: 900 } } },
  { name: "phone", options: { viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } },
] as const;

beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startDemoServer("browser-first-hour")]);
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  for (const store of opened) expect(store.errors, "errors in the page").toEqual([]);
  await browser?.close();
  await server?.stop();
});

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const inside = (a: Box, b: Box) => a.x >= b.x && a.y >= b.y && a.x + a.width <= b.x + b.width && a.y + a.height <= b.y + b.height;

/** The Order buttons (and the flash sale's) whose middle is covered by something else: a click there would miss them. */
const unreachableButtons = (page: Page) =>
  page.evaluate(() => {
    const buttons = [
      ...document.querySelectorAll<HTMLButtonElement>("#product-grid .card button[type=submit], #holds-list button, #flash-form button"),
    ];
    const covered: string[] = [];
    for (const b of buttons) {
      b.scrollIntoView({ block: "center", inline: "center" });
      const r = b.getBoundingClientRect();
      const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
      if (!hit || !b.contains(hit)) covered.push(`${b.getAttribute("aria-label") ?? b.textContent} covered by ${hit?.className}`);
    }
    window.scrollTo(0, 0);
    return { checked: buttons.length, covered };
  });

// First in the file: the demo customer has no holds or orders yet, so no list grows while the page loads. Desktop
// only: on a phone the panels sit below the grid, which fills as the catalogue arrives.
describe("while the page loads", () => {
  it("nothing below the holds panel moves while the page loads", async () => {
    const context = await browser.newContext(WIDTHS[0].options);
    // Every layout shift from the first paint on, with the panels it moved.
    await context.addInitScript(() => {
      const moved: { value: number; ids: string[] }[] = [];
      Object.assign(window, { moved });
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries() as (PerformanceEntry & { value: number; sources: { node?: Node }[] })[]) {
          const ids = entry.sources.map((s) => (s.node instanceof Element ? (s.node.closest(".panel")?.id ?? "") : "")).filter(Boolean);
          moved.push({ value: entry.value, ids });
        }
      }).observe({ type: "layout-shift", buffered: true });
    });
    const store = await Storefront.openIn(context, server.url);
    opened.push(store);
    await store.page.locator("#holds-panel #hold-product:not([disabled])").waitFor();
    await store.page.waitForTimeout(1_500);
    const moved = await store.page.evaluate(() => (window as unknown as { moved: { value: number; ids: string[] }[] }).moved);
    const below = ["flash-panel", "ops-panel", "admin-panel"];
    expect(moved.filter((m) => m.ids.some((id) => below.includes(id)))).toEqual([]);
  });
});

describe.each(WIDTHS)("the storefront at $name width", ({ name, options }) => {
  it("holds panel: its message stays in the panel, its inputs are usable, and every Order button can be clicked", async () => {
    const soldOut = await createProduct(server.shop, `Sold Out Lantern ${name}`, 0, 3900);
    const store = await open(options);
    const page = store.page;
    const panel = page.locator("#holds-panel");
    await panel.getByRole("button", { name: "Hold" }).click();
    await page.locator("#hold-result.ok").waitFor();
    await panel.locator(".hold").first().waitFor();
    await store.screenshot(`first-hour-holds-${name}`);

    // The message is in the panel's flow, not a strip over the page.
    const result = page.locator("#hold-result");
    expect(await result.evaluate((e) => getComputedStyle(e).position)).toBe("static");
    expect(inside((await result.boundingBox())!, (await panel.boundingBox())!), "the message lies inside the holds panel").toBe(true);
    await page.waitForTimeout(500);
    expect(await unreachableButtons(page)).toEqual({ checked: expect.any(Number), covered: [] });
    // One in the last row, clicked for real.
    const third = page.locator('#product-grid .card:not([data-level="out"])').last();
    await third.getByRole("button", { name: /^Order/ }).click({ timeout: 5_000 });
    await third.locator(".order-result.ok").waitFor();

    // Inputs as wide as the panel allows (they were 24 px), and "Notify me" on one line beside Hold.
    expect((await page.locator("#hold-search").boundingBox())!.width).toBeGreaterThan(200);
    expect((await page.locator("#hold-qty").boundingBox())!.width).toBeGreaterThanOrEqual(80);
    await page.locator("#hold-search").fill(soldOut.sku);
    await expect.poll(() => page.locator("#hold-product option").allTextContents()).toEqual([`${soldOut.name} (${soldOut.sku})`]);
    const notify = panel.getByRole("button", { name: "Notify me" });
    await notify.waitFor();
    const [hold, notifyBox] = [(await panel.getByRole("button", { name: "Hold" }).boundingBox())!, (await notify.boundingBox())!];
    expect(notifyBox.height).toBeLessThanOrEqual(hold.height);
    expect(notifyBox.y).toBe(hold.y);
    await panel.screenshot({ path: artifact(`first-hour-notify-${name}.png`) });
  });

  it("a card counts what can be bought: all units held reads sold out, with the held units said", async () => {
    const product = await createProduct(server.shop, `Held Field Jacket ${name}`, 4, 12900);
    const store = await open(options);
    await store.show(product);
    const card = store.card(product.id);
    const other = await server.shop.createCustomer();
    const holds = holdClient(server.shop.gql);
    const held = await holds.reserve(other.token, [{ productId: product.id, quantity: 4 }]);
    expect(held.__typename).toBe("ReserveStockSuccess");
    await store.waitForStock(product.id, 0, "Sold out", 5_000);
    expect(await card.getByRole("button", { name: /^Order/ }).isDisabled()).toBe(true);
    expect(await card.getByTestId("held").textContent()).toBe("4 on hold · 4 in stock");
    await store.screenshot(`first-hour-held-card-${name}`);
    if (held.__typename === "ReserveStockSuccess") await holds.release(other.token, held.hold.id);
    await store.waitForStock(product.id, 4, "Low stock", 5_000);
    expect(await card.getByTestId("held").textContent()).toBe("");
    expect(await card.getByRole("button", { name: /^Order/ }).isDisabled()).toBe(false);
  });

  it("a refusal leaves the count in sight, and a count keeps its space while it pops", async () => {
    const product = await createProduct(server.shop, `Refused Espresso Cups ${name}`, 189, 1900);
    const store = await open(options);
    await store.show(product);
    const card = store.card(product.id);
    const refused = await store.order(product.id, 1000);
    expect(refused.ok).toBe(false);
    const message = (await card.locator(".order-result").boundingBox())!;
    expect(overlaps(message, (await card.locator(".stock").boundingBox())!), "the refusal covers the count").toBe(false);
    await store.screenshot(`first-hour-refusal-${name}`);
    await card.getByRole("button", { name: /^Dismiss/ }).click();

    // Catch the pop at its largest (30% of 0.4 s) and measure the number against "left".
    const gap = store.page.evaluate(
      (id) =>
        new Promise<number>((resolve) => {
          const stock = document.querySelector(`.card[data-product-id="${id}"] .stock`)!;
          new MutationObserver((_, observer) => {
            const pop = stock.getAnimations({ subtree: true }).find((a) => (a as CSSAnimation).animationName === "pop");
            if (!pop) return;
            observer.disconnect();
            pop.pause();
            pop.currentTime = 120;
            const count = stock.querySelector(".count")!.getBoundingClientRect();
            const unit = stock.querySelector(".count-unit")!.firstChild!;
            const word = document.createRange();
            word.setStart(unit, 1); // after the space: "left"
            word.setEnd(unit, 5);
            resolve(word.getBoundingClientRect().left - count.right);
          }).observe(stock, { attributes: true, attributeFilter: ["class"] });
        }),
      product.id,
    );
    await server.shop.adjustStock(product.id, -1);
    expect(await gap, "px between the popped number and 'left'").toBeGreaterThanOrEqual(2);
  });

  it("offline: the header keeps its height, nothing moves, and Hold is disabled like Order", async () => {
    const store = await open(options);
    const page = store.page;
    const header = async () => (await page.locator(".site-header").boundingBox())!.height;
    const gridTop = async () => page.locator("#product-grid").evaluate((e) => e.getBoundingClientRect().top + scrollY);
    const before = { header: await header(), grid: await gridTop() };
    await page.context().setOffline(true);
    await page.evaluate(() => (window as unknown as { stockwire: { live: { terminate(): void } } }).stockwire.live.terminate());
    await page.locator('#connection[data-state="waiting"]').waitFor({ timeout: 5_000 });
    await page.locator("#retry-now").waitFor();
    expect({ header: await header(), grid: await gridTop() }).toEqual(before);
    expect(await page.locator("#product-grid .card button[type=submit]").first().isDisabled()).toBe(true);
    expect(await page.locator("#hold-submit").isDisabled()).toBe(true);
    await store.screenshot(`first-hour-offline-${name}`);
    await page.context().setOffline(false);
    await page.locator('#connection[data-state="connected"]').waitFor({ timeout: 20_000 });
    expect(await page.locator("#hold-submit").isDisabled()).toBe(false);
    expect(await header()).toBe(before.header);
    expect(store.errors.every((e) => e.includes("net::ERR_INTERNET_DISCONNECTED"))).toBe(true);
    store.errors.length = 0;
  });
});

describe("the operations panel", () => {
  // The spikes go straight into the page's operations panel (window.stockwire.ops): this machine cannot commit
  // 1,500 orders in one second, and the chart's scale is what is under test.
  it.each([200, 1500])("the orders/s axis has a readable scale after a %i-order spike", async (peak) => {
    const store = await open({ viewport: { width: 1280, height: 900 } });
    await store.page.evaluate((peak) => {
      const ops = (window as unknown as { stockwire: { ops: { observe(change: object, shownAt: number): void } } }).stockwire.ops;
      const occurredAt = new Date(Date.now() - 1_000).toISOString();
      const product = { id: `spike-${peak}` };
      for (let version = 1; version <= peak; version++) {
        ops.observe({ product, version, occurredAt, reason: "ORDER_PLACED", stock: 0, available: 0, reserved: 0, delta: -1 }, Date.now());
      }
    }, peak);
    const chart = store.page.locator("#ops-orders-chart");
    const labels = async () => ((await chart.getAttribute("data-y-labels")) ?? "0").split(",").map(Number);
    await expect.poll(async () => Math.max(...(await labels())), { timeout: 5_000 }).toBeGreaterThanOrEqual(peak);
    expect((await labels()).length, "labels on the axis").toBeGreaterThanOrEqual(3);
    await store.page.locator("#ops-panel").scrollIntoViewIfNeeded();
    await store.page.locator("#ops-panel").screenshot({ path: artifact(`first-hour-ops-spike-${peak}.png`) });
    // Every label fits left of the plot (uPlot right-aligns them at the ticks: 10 px tick, 5 px gap).
    const fit = await chart.evaluate((el) => {
      const ctx = document.createElement("canvas").getContext("2d")!;
      ctx.font = "11px system-ui";
      const widest = Math.max(...el.dataset.yLabels!.split(",").map((l) => ctx.measureText(l).width));
      const plotLeft = (el.querySelector(".u-over") as HTMLElement).offsetLeft;
      return { labels: el.dataset.yLabels, room: plotLeft - 15 - widest };
    });
    expect(fit.room, `labels ${fit.labels}`).toBeGreaterThanOrEqual(0);
  });
});
