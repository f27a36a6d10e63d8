// The admin's stock-over-time chart (issue 14), in Chromium against a real
// Stockwire: for the picked product it plots on hand and reserved after each
// ledger movement, and follows the product's live changes (admin form, API,
// a shopper's hold) without a reload.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { INSTALL_TIMEOUT_MS, launchChromium } from "./support/chromium.js";
import { ARTIFACTS, startDemoServer, type DemoServer } from "./support/demo-server.js";
import { createProduct, Storefront } from "./support/storefront.js";

let browser: Browser;
let server: DemoServer;
let store: Storefront | undefined;

beforeAll(async () => {
  mkdirSync(path.join(ARTIFACTS, "review"), { recursive: true });
  [browser, server] = await Promise.all([launchChromium(), startDemoServer("browser-ledger-chart")]);
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  expect(store?.errors ?? [], "errors in the page").toEqual([]);
  await browser?.close();
  await server?.stop();
});

/** The ledger as the API gives it, oldest first. */
async function ledgerOf(productId: string) {
  const { data, errors } = await server.shop.admin<{
    product: { stock: number; stockMovements: { edges: { node: { deltaOnHand: number; deltaReserved: number; reason: string } }[] } };
  }>(`query ($id: ID!) { product(id: $id) { stock stockMovements(first: 100) { edges { node { deltaOnHand deltaReserved reason } } } } }`, {
    id: productId,
  });
  expect(errors).toBeUndefined();
  return { stock: data!.product.stock, movements: data!.product.stockMovements.edges.map((e) => e.node).reverse() };
}

describe("admin: stock over time from the ledger", () => {
  it("plots on hand and reserved after each movement of the picked product, and follows its live changes", async () => {
    const product = await createProduct(server.shop, "Ledger Chart Kettle", 5, 4900);
    store = await Storefront.open(browser, server.url, { viewport: { width: 1280, height: 900 } });
    const panel = store.page.locator("#admin-panel");
    const chart = panel.locator("#ledger-chart");
    const plotted = async () => ({
      productId: await chart.getAttribute("data-product-id"),
      onHand: (await chart.getAttribute("data-on-hand"))?.split(",").map(Number),
      reserved: (await chart.getAttribute("data-reserved"))?.split(",").map(Number),
    });

    await panel.getByLabel("Search the catalogue").fill(product.sku);
    await expect.poll(() => panel.getByLabel("Product").inputValue()).toBe(product.id);
    await expect.poll(plotted).toEqual({ productId: product.id, onHand: [5], reserved: [0] });

    // Two stock changes: one through the admin form, one through the API from elsewhere.
    await store.adminAdjust("Default", 7);
    await expect
      .poll(() => panel.locator("#levels-result").textContent())
      .toBe(`Added 7 × ${product.name} at Default (Received): 12 on hand, 12 available there.`);
    await server.shop.adjustStock(product.id, -3);
    await expect.poll(plotted, { timeout: 10_000 }).toEqual({ productId: product.id, onHand: [5, 12, 9], reserved: [0, 0, 0] });

    // A shopper's hold moves only the reserved line.
    const shopper = await server.shop.createCustomer();
    const { data } = await server.shop.gql<{ reserveStock: { __typename: string } }>(
      `mutation ($input: ReserveStockInput!) { reserveStock(input: $input) { __typename } }`,
      { input: { idempotencyKey: `ledger-chart-${Date.now()}`, items: [{ productId: product.id, quantity: 2 }] } },
      server.shop.bearer(shopper.token),
    );
    expect(data?.reserveStock.__typename).toBe("ReserveStockSuccess");
    await expect.poll(plotted, { timeout: 10_000 }).toEqual({ productId: product.id, onHand: [5, 12, 9, 9], reserved: [0, 0, 0, 2] });

    // What is plotted is the ledger: one point per movement, the running sums, ending at the current stock.
    const ledger = await ledgerOf(product.id);
    expect(ledger.movements.map((m) => m.reason)).toEqual(["CREATED", "RESTOCK", "ADJUSTMENT", "HOLD_PLACED"]);
    const { onHand, reserved } = await plotted();
    expect(onHand).toHaveLength(ledger.movements.length);
    expect(Number(await chart.getAttribute("data-points"))).toBe(ledger.movements.length);
    let sum = 0;
    let held = 0;
    expect(onHand).toEqual(ledger.movements.map((m) => (sum += m.deltaOnHand)));
    expect(reserved).toEqual(ledger.movements.map((m) => (held += m.deltaReserved)));
    expect(onHand!.at(-1)).toBe(ledger.stock);
    // uPlot drew it: a canvas inside the chart, and a caption naming the product.
    expect(await chart.locator("canvas").count()).toBeGreaterThan(0);
    expect(await panel.locator("#ledger-caption").textContent()).toContain(product.name);
    await panel.locator("figure.chart").screenshot({ path: path.join(ARTIFACTS, "review", "admin-ledger-chart.png") });
  });
});
