// The storefront demo as a test drives it: a page object over web-demo's
// markup (the ids and data attributes in web-demo/index.html and its views),
// and products made for one test through the API.
import { randomBytes } from "node:crypto";
import type { Browser, BrowserContext, BrowserContextOptions, Locator, Page } from "playwright-core";
import type { Shop } from "../../support/shop.js";
import { artifact } from "./demo-server.js";

export const DESKTOP: BrowserContextOptions = { viewport: { width: 1366, height: 900 } };
export const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

export interface TestProduct {
  id: string;
  sku: string;
  name: string;
}

/** A product of its own for one test, with a readable name for the screenshots. */
export async function createProduct(shop: Shop, name: string, stock: number, priceCents = 2499): Promise<TestProduct> {
  const sku = `BT-${randomBytes(4).toString("hex").toUpperCase()}`;
  return shop.createProduct({ sku, name, description: "browser test", priceCents, currency: "EUR", stock });
}

export class Storefront {
  /** Uncaught errors and console errors of the page; a test can assert there were none. */
  readonly errors: string[] = [];

  private constructor(readonly page: Page) {
    page.on("pageerror", (err) => this.errors.push(err.message));
    page.on("console", (msg) => msg.type() === "error" && this.errors.push(msg.text()));
  }

  static async open(browser: Browser, url: string, options: BrowserContextOptions = DESKTOP): Promise<Storefront> {
    const context = await browser.newContext(options);
    return Storefront.openIn(context, url);
  }

  /** Another tab in the same browser context (same storage, same BroadcastChannel). */
  static async openIn(context: BrowserContext, url: string): Promise<Storefront> {
    const store = new Storefront(await context.newPage());
    await store.page.goto(url);
    await store.page.locator("#product-grid .card").first().waitFor();
    await store.page.locator('#connection[data-state="connected"]').waitFor();
    return store;
  }

  card(productId: string): Locator {
    return this.page.locator(`.card[data-product-id="${productId}"]`);
  }

  /** Searches, and waits until the product's card is live (its CURRENT count arrived). */
  async show(product: TestProduct): Promise<void> {
    await this.page.getByLabel("Search products").fill(product.sku);
    await this.page.getByLabel("Search products").press("Enter");
    await this.page.locator(`.card[data-product-id="${product.id}"][data-live="true"]`).waitFor();
  }

  async stock(productId: string): Promise<{ count: number; badge: string }> {
    const card = this.card(productId);
    return { count: Number(await card.locator(".count").textContent()), badge: (await card.locator(".badge").textContent()) ?? "" };
  }

  /** Resolves when the card shows `count` and `badge`; rejects after timeoutMs with what it showed. */
  async waitForStock(productId: string, count: number, badge: string, timeoutMs: number): Promise<void> {
    try {
      await this.page.waitForFunction(
        ({ id, count, badge }) => {
          const card = document.querySelector(`.card[data-product-id="${id}"]`);
          return card?.querySelector(".count")?.textContent === String(count) && card.querySelector(".badge")?.textContent === badge;
        },
        { id: productId, count, badge },
        { timeout: timeoutMs, polling: "raf" },
      );
    } catch {
      throw new Error(`waited ${timeoutMs} ms for ${count} / ${badge}; the card shows ${JSON.stringify(await this.stock(productId))}`);
    }
  }

  /** Orders from the product's card; resolves with the message the card shows. */
  async order(productId: string, quantity: number): Promise<{ text: string; ok: boolean }> {
    const card = this.card(productId);
    await card.getByLabel("Quantity").fill(String(quantity));
    await card.getByRole("button", { name: "Order" }).click();
    const result = card.locator(".order-result.ok, .order-result.error");
    await result.waitFor();
    return { text: (await result.textContent()) ?? "", ok: (await result.getAttribute("class"))!.includes("ok") };
  }

  /**
   * Changes the admin's picked product at one location (by name) through the
   * level table's form for it; the panel's answer is in #levels-result.
   */
  async adminAdjust(location: string, delta: number, { reason = "RECEIVED", note = "" } = {}): Promise<void> {
    const panel = this.page.locator("#admin-panel");
    const form = panel.getByRole("form", { name: `Adjust stock at ${location}` });
    if (!(await form.isVisible())) await panel.getByRole("button", { name: `Adjust stock at ${location}` }).click();
    await form.getByLabel("Change").fill(String(delta));
    await form.getByLabel("Reason").selectOption(reason);
    await form.getByLabel("Note").fill(note);
    await form.getByRole("button", { name: "Adjust" }).click();
  }

  async screenshot(name: string, fullPage = false): Promise<void> {
    await this.page.screenshot({ path: artifact(`${name}.png`), fullPage });
  }

  async close(): Promise<void> {
    await this.page.context().close();
  }
}
