// GraphiQL at /graphql works in a browser with no internet: its assets come
// from @graphql-yoga/render-graphiql, not a CDN. A query runs, and a
// subscription (over SSE) shows a stock change made through the API.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { INSTALL_TIMEOUT_MS, launchChromium } from "./support/chromium.js";
import { artifact, startDemoServer, type DemoServer } from "./support/demo-server.js";
import { createProduct } from "./support/storefront.js";

let browser: Browser;
let server: DemoServer;

beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startDemoServer("browser-graphiql")]);
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Replaces the operation in GraphiQL's editor and runs it. */
async function run(page: Page, operation: string) {
  await page.locator(".graphiql-query-editor .monaco-editor").first().click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(operation); // no auto-closed brackets, unlike typing
  await page
    .getByRole("button", { name: /execute/i })
    .first()
    .click();
}

/** The response pane's text, whitespace normalised (Monaco renders non-breaking spaces). */
const response = async (page: Page) => (await page.locator(".graphiql-response").first().innerText()).replace(/\s+/g, " ");

it("runs a query and shows a live subscription event, offline", async () => {
  const product = await createProduct(server.shop, "GraphiQL Desk Lamp", 7);
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const offline: string[] = [];
  page.on("requestfailed", (r) => offline.push(`${r.url()} ${r.failure()?.errorText}`));
  // Anything not from our server would need the internet: refuse it, as this machine does.
  await page.route(
    (url) => !url.href.startsWith(server.url) && !url.protocol.startsWith("blob") && !url.protocol.startsWith("data"),
    (route) => route.abort(),
  );
  // The first operation comes in the URL, not typed over the default example: that example has
  // two named operations, and an Execute clicked before GraphiQL re-parsed the replaced text
  // still sent the old selection ("Cannot infer operation Products", once on a loaded CI machine).
  const query = `{ product(sku: "${product.sku}") { name sku stock } }`;
  await page.goto(`${server.url}/graphql?query=${encodeURIComponent(query)}`);
  await page.locator(".graphiql-query-editor .monaco-editor").first().waitFor({ timeout: 30_000 });
  await expect.poll(() => page.locator(".graphiql-query-editor").first().innerText(), { timeout: 10_000 }).toContain(product.sku);
  await page
    .getByRole("button", { name: /execute/i })
    .first()
    .click();
  await expect.poll(() => response(page), { timeout: 10_000 }).toMatch(/"stock": 7/);
  expect(await response(page)).toMatch(/"name": "GraphiQL Desk Lamp"/);

  await run(page, `subscription { stockChanged(productIds: ["${product.id}"]) { reason stock version } }`);
  // First the count at subscribe time (CURRENT, or the CREATED event if it was still on its way).
  await expect
    .poll(() => response(page), { timeout: 10_000 })
    .toMatch(/"stockChanged": \{ "reason": "(CURRENT|CREATED)", "stock": 7, "version": 0 \}/);
  await server.shop.adjustStock(product.id, 5);
  await expect
    .poll(() => response(page), { timeout: 10_000 })
    .toMatch(/"stockChanged": \{ "reason": "RESTOCK", "stock": 12, "version": 1 \}/);
  await page.screenshot({ path: artifact("graphiql-subscription.png") });
  expect(offline).toEqual([]);
  await context.close();
});
