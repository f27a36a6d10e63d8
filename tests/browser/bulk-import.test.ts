// The admin panel's import form (issue 25), in Chromium against a real
// Stockwire with the demo seed: a small CSV with one bad row, uploaded
// through the form as a multipart request, followed on bulkOperationChanged
// until the bar is full and the status says Completed, and the bad row
// listed with its column and message. The good rows are in the database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { INSTALL_TIMEOUT_MS, launchChromium } from "./support/chromium.js";
import { startDemoServer, type DemoServer } from "./support/demo-server.js";
import { Storefront } from "./support/storefront.js";
import { sqlPool } from "../support/database.js";

let browser: Browser;
let server: DemoServer;
let store: Storefront | undefined;

beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), startDemoServer("browser-bulk-import")]);
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  if (store) expect(store.errors, "errors in the page").toEqual([]);
  await browser?.close();
  await server?.stop();
});

const CSV = [
  "sku,name,description,price_cents,currency,location,on_hand",
  "FORM-1,Form Mug,Imported through the admin form,1299,EUR,default,7",
  "FORM-2,Form Bowl,,899,EUR,nowhere,3",
  "FORM-3,Form Plate,,1099,EUR,default,4",
].join("\n");

describe("the admin panel's import form", () => {
  it("uploads a CSV, shows the job's progress to 100% and COMPLETED, and lists the bad row", async () => {
    store = await Storefront.open(browser, server.url);
    const page = store.page;
    const panel = page.locator("#admin-panel");
    await panel.getByLabel("File").setInputFiles({ name: "products.csv", mimeType: "text/csv", buffer: Buffer.from(CSV) });
    await panel.getByLabel("Mode").selectOption("UPSERT");
    await panel.getByRole("button", { name: "Start import" }).click();

    const progress = page.locator("#import-progress");
    await expect.poll(() => progress.getAttribute("data-status"), { timeout: 20_000 }).toBe("COMPLETED");
    expect(await progress.evaluate((p: HTMLProgressElement) => [p.value, p.max])).toEqual([3, 3]);
    expect(await page.locator("#import-status").textContent()).toBe("Completed: 3 of 3 rows, 1 refused");
    await expect
      .poll(() => page.getByTestId("import-errors").locator("li").allTextContents(), { timeout: 10_000 })
      .toEqual(["Row 2locationNo location with code nowhere"]);
    expect(await page.locator("#import-errors-more").isHidden()).toBe(true);
    expect(await panel.getByRole("button", { name: "Cancel" }).isHidden()).toBe(true);
    await page.locator("#import-form").scrollIntoViewIfNeeded();
    await store.screenshot("bulk-import-form");

    const sql = sqlPool(server.databaseUrl);
    try {
      const { rows } = await sql.query(`SELECT sku, stock FROM product WHERE sku LIKE 'FORM-%' ORDER BY sku`);
      expect(rows).toEqual([
        { sku: "FORM-1", stock: 7 },
        { sku: "FORM-3", stock: 4 },
      ]);
    } finally {
      await sql.end();
    }
  });
});
