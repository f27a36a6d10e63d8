// Member prices in the storefront demo (issue 27), in Chromium against a real
// Stockwire with the demo seed: the demo customer is in the seed's members
// group, so a product with a member price shows it (the list price struck
// through) and its quantity break ("3+ for 17.99"), an order of 3 is
// charged the tier's price, and price changes reach the open page (priceChanged).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { INSTALL_TIMEOUT_MS, launchChromium } from "./support/chromium.js";
import { startDemoServer, type DemoServer } from "./support/demo-server.js";
import { createProduct, Storefront } from "./support/storefront.js";
import { sqlPool } from "../support/database.js";
import { rowId } from "../support/shop.js";
import { DEMO_PRICE_LIST } from "../../src/db/seed.js";

let browser: Browser;
let server: DemoServer;
let store: Storefront | undefined;

beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startDemoServer("browser-member-prices")]);
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  if (store) expect(store.errors, "errors in the page").toEqual([]);
  await browser?.close();
  await server?.stop();
});

describe("member prices in the storefront", () => {
  it("the demo customer sees a product's member price and its tier hint, and is charged the tier for 3", async () => {
    const product = await createProduct(server.shop, "Member Mug", 20, 1999);
    const sql = sqlPool(server.databaseUrl);
    try {
      const { rows } = await sql.query(`SELECT id FROM price_list WHERE code = $1`, [DEMO_PRICE_LIST.code]);
      const listId = Buffer.from(`PriceList:${rows[0].id}`).toString("base64");
      const set = await server.shop.admin(`mutation($input: SetPriceListEntryInput!) { setPriceListEntry(input: $input) { __typename } }`, {
        input: { priceListId: listId, productId: product.id, unitPriceCents: 1899, tiers: [{ minQuantity: 3, unitPriceCents: 1799 }] },
      });
      expect(set.data?.setPriceListEntry.__typename, JSON.stringify(set)).toBe("SetPriceListEntrySuccess");

      store = await Storefront.open(browser, server.url);
      await store.show(product);
      const card = store.card(product.id);
      await expect.poll(() => card.getByTestId("price").textContent(), { timeout: 15_000 }).toBe("€18.99");
      expect(await card.getByTestId("list-price").textContent()).toBe("€19.99");
      expect(await card.getByTestId("tier-hint").textContent()).toBe("3+ for 17.99");
      await store.screenshot("member-price");

      expect(await store.order(product.id, 3)).toMatchObject({ ok: true });
      const { rows: items } = await sql.query(`SELECT quantity, unit_price_cents FROM order_item WHERE product_id = $1`, [
        rowId(product.id),
      ]);
      expect(items).toEqual([{ quantity: 3, unit_price_cents: 1799 }]);

      // Changed while the page is open: the card follows without a reload, the member's list and the list price alike.
      const changed = await server.shop.admin(
        `mutation($input: SetPriceListEntryInput!) { setPriceListEntry(input: $input) { __typename } }`,
        {
          input: { priceListId: listId, productId: product.id, unitPriceCents: 1699, tiers: [{ minQuantity: 3, unitPriceCents: 1599 }] },
        },
      );
      expect(changed.data?.setPriceListEntry.__typename, JSON.stringify(changed)).toBe("SetPriceListEntrySuccess");
      await expect.poll(() => card.getByTestId("price").textContent(), { timeout: 15_000 }).toBe("€16.99");
      expect(await card.getByTestId("tier-hint").textContent()).toBe("3+ for 15.99");
      const [{ version }] = (await sql.query(`SELECT version FROM product WHERE id = $1`, [rowId(product.id)])).rows;
      const updated = await server.shop.admin(`mutation($input: UpdateProductInput!) { updateProduct(input: $input) { __typename } }`, {
        input: { id: product.id, expectedVersion: version, priceCents: 2199 },
      });
      expect(updated.data?.updateProduct.__typename, JSON.stringify(updated)).toBe("UpdateProductSuccess");
      await expect.poll(() => card.getByTestId("list-price").textContent(), { timeout: 15_000 }).toBe("€21.99");
      expect(await card.getByTestId("price").textContent()).toBe("€16.99");
    } finally {
      await sql.end();
    }
  });
});
