// The admin's stock by location (issue 24), in Chromium against a real
// Stockwire with the demo seed's two locations: the level table shows each
// location's numbers as the API has them; an adjustment with a reason (and a
// refusal, shown in the panel, never as a dialog) and a counted quantity change
// the row and the API alike; a transfer shows as incoming at its destination,
// lands on receive (a count, then the rest), and a cancelled one goes back;
// a change made through the API elsewhere reaches the table live.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Locator } from "playwright-core";
import { INSTALL_TIMEOUT_MS, launchChromium } from "./support/chromium.js";
import { artifact, startDemoServer, type DemoServer } from "./support/demo-server.js";
import { createProduct, Storefront } from "./support/storefront.js";
import { sqlPool } from "../support/database.js";
import { rowId } from "../support/shop.js";

// vitest polls for 1 s by default: a page's read after an action can take longer on a machine running the whole suite.
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

let browser: Browser;
let server: DemoServer;
let store: Storefront | undefined;
const dialogs: string[] = [];
/** web-demo/src/stock-admin.ts reads this many transfers per location in its one query, then pages on. */
const TRANSFERS_PAGE = 20;

beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startDemoServer("browser-stock-levels")]);
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  if (store) expect(store.errors, "errors in the page").toEqual([]);
  expect(dialogs, "dialogs the page opened").toEqual([]);
  await browser?.close();
  await server?.stop();
});

const NUMBERS = ["onHand", "committed", "reserved", "incoming", "available"] as const;
type Numbers = Record<(typeof NUMBERS)[number], number>;

async function admin<T = any>(query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await server.shop.admin<T>(query, variables);
  if (res.errors || !res.data) throw new Error(JSON.stringify(res));
  return res.data;
}

/** The product's levels as the API gives them, by location code. */
async function apiLevels(productId: string): Promise<Record<string, Numbers>> {
  const { product } = await admin(
    `query($id: ID!) { product(id: $id) { stockLevels { location { code } onHand committed reserved incoming available } } }`,
    { id: productId },
  );
  return Object.fromEntries(product.stockLevels.map(({ location, ...n }: { location: { code: string } } & Numbers) => [location.code, n]));
}

/** The level table as the page shows it, by location code. */
async function shownLevels(table: Locator): Promise<Record<string, Numbers>> {
  return (await table.evaluate((el, fields) => {
    const rows = [...el.querySelectorAll<HTMLTableRowElement>("tbody tr[data-location-code]")];
    return Object.fromEntries(
      rows.map((tr) => [
        tr.dataset.locationCode!,
        Object.fromEntries(fields.map((f) => [f, Number(tr.querySelector(`[data-field="${f}"]`)!.textContent)])),
      ]),
    );
  }, NUMBERS)) as Record<string, Numbers>;
}

const at = (onHand: number, committed: number, reserved: number, incoming: number): Numbers => ({
  onHand,
  committed,
  reserved,
  incoming,
  available: onHand - committed - reserved,
});

describe("admin: stock by location", () => {
  it("shows each location's levels from the API; adjusts with a reason, counts, and transfers between them", async () => {
    const product = await createProduct(server.shop, "Two Shop Lantern", 12, 3900);
    const { locations } = await admin(`{ locations(first: 10) { edges { node { id code name } } } }`, {});
    const byCode = Object.fromEntries(locations.edges.map((e: any) => [e.node.code, e.node]));
    expect(byCode["store-1"]).toMatchObject({ name: "City store" }); // the demo seed's second location
    const store1 = byCode["store-1"];
    // Units at the city store, and an order that commits 2 at the default location.
    await admin(`mutation($input: AdjustStockInput!) { adjustStock(input: $input) { __typename } }`, {
      input: { productId: product.id, locationId: store1.id, delta: 8, reason: "RECEIVED", note: "opening" },
    });
    // A busy pair of locations: a full first page of transfers (TRANSFERS_PAGE) at both, so the ones
    // sent below are on later pages, which the panel must read too.
    const crate = await createProduct(server.shop, "Pallet Filler Crate", TRANSFERS_PAGE);
    for (let i = 0; i < TRANSFERS_PAGE; i++) {
      const r = await admin(`mutation($input: TransferStockInput!) { transferStock(input: $input) { __typename } }`, {
        input: { productId: crate.id, from: byCode.default.id, to: store1.id, quantity: 1 },
      });
      expect(r.transferStock.__typename).toBe("TransferStockSuccess");
    }
    const buyer = await server.shop.createCustomer();
    expect((await server.shop.placeOrder(buyer.token, [{ productId: product.id, quantity: 2 }])).__typename).toBe("PlaceOrderSuccess");

    store = await Storefront.open(browser, server.url, { viewport: { width: 1280, height: 1000 } });
    const page = store.page;
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const panel = page.locator("#admin-panel");
    const table = panel.getByTestId("levels");
    await panel.getByLabel("Search the catalogue").fill(product.sku);
    await poll(() => panel.getByLabel("Product").inputValue()).toBe(product.id);

    // Both locations, in allocation order, with the API's numbers.
    const expected = { default: at(12, 2, 0, 0), "store-1": at(8, 0, 0, 0) };
    await poll(() => shownLevels(table)).toEqual(expected);
    expect(await apiLevels(product.id)).toEqual(expected);
    await poll(() => panel.getByTestId("transfers").locator(".transfer").count()).toBe(TRANSFERS_PAGE);
    expect(
      await table.locator("tbody tr[data-location-code]").evaluateAll((rows) => rows.map((r) => r.querySelector("th")!.textContent)),
    ).toEqual(["defaultDefaultAdjust", "store-1City storeAdjust"]);

    // An adjustment with a reason at the city store: the row and the API follow, and the ledger keeps the reason.
    const storeRow = table.locator('tr[data-location-code="store-1"]');
    await storeRow.getByRole("button", { name: "Adjust stock at City store" }).click();
    const storeForm = panel.getByRole("form", { name: "Adjust stock at City store" });
    await storeForm.getByLabel("Change").fill("-3");
    await storeForm.getByLabel("Reason").selectOption("DAMAGED");
    expect(await storeForm.locator(".reason-hint").textContent()).toBe("Units broken or spoiled: no longer sellable.");
    await storeForm.getByLabel("Note").fill("dropped a box");
    await storeForm.getByRole("button", { name: "Adjust" }).click();
    await expect
      .poll(() => panel.locator("#levels-result.ok").textContent())
      .toBe("Took off 3 × Two Shop Lantern at City store (Damaged): 5 on hand, 5 available there.");
    await poll(() => shownLevels(table)).toEqual({ default: at(12, 2, 0, 0), "store-1": at(5, 0, 0, 0) });
    expect(await apiLevels(product.id)).toEqual({ default: at(12, 2, 0, 0), "store-1": at(5, 0, 0, 0) });
    const sql = sqlPool(server.databaseUrl);
    try {
      const { rows } = await sql.query(
        `SELECT m.delta_on_hand AS delta, m.adjustment_reason AS reason, m.note FROM stock_movement m JOIN location l ON l.id = m.location_id
         WHERE m.product_id = $1 AND l.code = 'store-1' ORDER BY m.id DESC LIMIT 1`,
        [rowId(product.id)],
      );
      expect(rows).toEqual([{ delta: -3, reason: "DAMAGED", note: "dropped a box" }]);
    } finally {
      await sql.end();
    }

    // More than is there is refused: the API's answer is in the panel, the row unchanged.
    await storeForm.getByLabel("Change").fill("-50");
    await storeForm.getByRole("button", { name: "Adjust" }).click();
    await expect
      .poll(() => panel.locator("#levels-result.error").textContent())
      .toMatch(/^Not enough stock for .*: requested 50, available 5$/);
    expect(await shownLevels(table)).toEqual({ default: at(12, 2, 0, 0), "store-1": at(5, 0, 0, 0) });

    // A counted quantity at the default location (setOnHand against the level's version as read).
    const defaultRow = table.locator('tr[data-location-code="default"]');
    await defaultRow.getByRole("button", { name: "Adjust stock at Default" }).click();
    const count = panel.getByRole("form", { name: "Count at Default" });
    expect(await count.getByLabel("Counted on hand").inputValue()).toBe("12");
    await count.getByLabel("Counted on hand").fill("15");
    await count.getByRole("button", { name: "Set count" }).click();
    await expect
      .poll(() => panel.locator("#levels-result.ok").textContent())
      .toBe("Counted 15 × Two Shop Lantern at Default: 13 available there.");
    await poll(() => shownLevels(table)).toEqual({ default: at(15, 2, 0, 0), "store-1": at(5, 0, 0, 0) });

    // A transfer: it leaves what is available at Default and shows as incoming at the city store.
    const transfer = panel.locator("#transfer-form");
    await transfer.getByLabel("From", { exact: true }).selectOption({ label: "Default (default) · 13 available" });
    await transfer.getByLabel("To", { exact: true }).selectOption(store1.id);
    await transfer.getByLabel("Units to send").fill("4");
    await transfer.getByRole("button", { name: "Send" }).click();
    await expect
      .poll(() => panel.locator("#transfer-result.ok").textContent())
      .toBe("Sent 4 × Two Shop Lantern from Default to City store.");
    const afterSend = { default: at(11, 2, 0, 0), "store-1": at(5, 0, 0, 4) };
    await poll(() => shownLevels(table)).toEqual(afterSend);
    expect(await apiLevels(product.id)).toEqual(afterSend);
    const onTheWay = panel.getByTestId("transfers").locator(".transfer", { hasText: "Two Shop Lantern" });
    await poll(() => onTheWay.locator(".transfer-items").textContent()).toBe("4 × Two Shop Lantern");
    await store.screenshot("stock-levels-in-transit", true);
    await panel.screenshot({ path: artifact("stock-levels-panel.png") });

    // Received in two parts: a count, then the rest.
    const what = "Two Shop Lantern from Default to City store";
    await onTheWay.getByLabel(`Units of ${what} (empty: all)`).fill("1");
    await onTheWay.getByRole("button", { name: `Receive ${what}` }).click();
    await poll(() => panel.locator("#transfer-result.ok").textContent()).toBe("Received 1 × Two Shop Lantern at City store.");
    await poll(() => shownLevels(table)).toEqual({ default: at(11, 2, 0, 0), "store-1": at(6, 0, 0, 3) });
    await poll(() => onTheWay.locator(".transfer-items").textContent()).toBe("3 × Two Shop Lantern");
    await onTheWay.getByRole("button", { name: `Receive ${what}` }).click();
    await poll(() => panel.locator("#transfer-result.ok").textContent()).toBe("Received 3 × Two Shop Lantern at City store.");
    const landed = { default: at(11, 2, 0, 0), "store-1": at(9, 0, 0, 0) };
    await poll(() => shownLevels(table)).toEqual(landed);
    expect(await apiLevels(product.id)).toEqual(landed);
    await poll(() => onTheWay.count()).toBe(0);

    // Another one, cancelled: its units go back where they came from.
    await transfer.getByLabel("From", { exact: true }).selectOption(store1.id);
    await transfer.getByLabel("To", { exact: true }).selectOption({ label: "Default (default) · 9 available" });
    await transfer.getByLabel("Units to send").fill("2");
    await transfer.getByRole("button", { name: "Send" }).click();
    const back = panel.getByTestId("transfers").locator(".transfer", { hasText: "Two Shop Lantern" });
    await poll(() => shownLevels(table)).toEqual({ default: at(11, 2, 0, 2), "store-1": at(7, 0, 0, 0) });
    await back.getByRole("button", { name: "Cancel Two Shop Lantern from City store to Default" }).click();
    await poll(() => panel.locator("#transfer-result.ok").textContent()).toBe("Cancelled 2 × Two Shop Lantern: back at City store.");
    await poll(() => shownLevels(table)).toEqual(landed);
    expect(await apiLevels(product.id)).toEqual(landed);
    await poll(() => back.count()).toBe(0);

    // A change made elsewhere (another admin, through the API) reaches the table live.
    await server.shop.adjustStock(product.id, 6, "from elsewhere");
    await poll(() => shownLevels(table)).toEqual({ default: at(17, 2, 0, 0), "store-1": at(9, 0, 0, 0) });
  });
});
