// Bulk price updates through the bulk import (issue 27): rows with a price_list
// column set that list's price for a SKU (min_quantity empty) or a quantity tier,
// on real PostgreSQL through a real multipart upload. Each entry that changes is
// a price_change ledger row and a price-changed event; a re-run changes nothing;
// what cannot be priced is a row error and the rest goes on.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { rowId } from "../support/shop.js";

let api: Api;
let membersId = "";

beforeAll(async () => {
  api = await startApi({}, {}, { bulkImport: { chunkSize: 4 } });
  const created = await api.admin(
    `mutation($input: CreatePriceListInput!) { createPriceList(input: $input) { ... on CreatePriceListSuccess { priceList { id } } } }`,
    { input: { code: "BULK-MEMBERS", name: "Members", currency: "EUR", customerGroup: "bulk-members", priority: 0 } },
  );
  membersId = created.data.createPriceList.priceList.id;
  await api.admin(`mutation($input: CreatePriceListInput!) { createPriceList(input: $input) { __typename } }`, {
    input: { code: "BULK-USD", name: "US", currency: "USD", customerGroup: "bulk-us", priority: 0 },
  });
});
afterAll(async () => {
  await api?.close();
});

const START = `mutation ($file: File!) {
  startBulkImport(file: $file, mode: UPSERT) {
    __typename
    ... on StartBulkImportSuccess { bulkOperation { id } }
    ... on BulkImportFileError { problem message columns }
  }
}`;
const OPERATION = `query ($id: ID!) {
  bulkOperation(id: $id) { status rowsTotal rowsDone rowsFailed errors(first: 100) { edges { node { row column message } } } }
}`;

async function upload(file: string): Promise<any> {
  const body = new FormData();
  body.append("operations", JSON.stringify({ query: START, variables: { file: null } }));
  body.append("map", JSON.stringify({ 0: ["variables.file"] }));
  body.append("0", new Blob([file]), "prices.csv");
  const res = await api.fetch("/graphql", { method: "POST", headers: { authorization: `Bearer ${api.adminToken}` }, body });
  return (await res.json()).data.startBulkImport;
}

async function run(file: string) {
  const started = await upload(file);
  expect(started.__typename, JSON.stringify(started)).toBe("StartBulkImportSuccess");
  for (let i = 0; i < 600; i++) {
    const op = (await api.gql(OPERATION, { id: started.bulkOperation.id }, api.bearer(api.adminToken))).data.bulkOperation;
    if (!["QUEUED", "RUNNING"].includes(op.status)) return { ...op, errors: op.errors.edges.map((e: any) => e.node) };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the import did not finish");
}

/** The list's entries of these SKUs, their ledger rows, and the products' price versions and price events. */
async function state(skus: string[]) {
  const q = async (sql: string) => (await api.sql.query(sql, [skus, rowId(membersId)])).rows;
  return {
    entries: await q(`SELECT p.sku, e.unit_price_cents, e.tiers, e.version FROM price_list_entry e JOIN product p ON p.id = e.product_id
      WHERE p.sku = ANY($1) AND e.price_list_id = $2 ORDER BY p.sku`),
    ledger:
      await q(`SELECT p.sku, c.from_unit_price_cents, c.to_unit_price_cents, c.actor FROM price_change c JOIN product p ON p.id = c.product_id
      WHERE p.sku = ANY($1) AND c.price_list_id = $2 ORDER BY c.id`),
    versions: await q(`SELECT sku, price_version FROM product WHERE sku = ANY($1) AND $2::uuid IS NOT NULL ORDER BY sku`),
    events: await q(`SELECT count(*)::int AS n FROM outbox_event WHERE topic = 'price-changed'
      AND key IN (SELECT id::text FROM product WHERE sku = ANY($1)) AND $2::uuid IS NOT NULL`),
  };
}

const HEADER = "sku,name,description,price_cents,currency,location,on_hand,price_list,min_quantity";
const FILE =
  [
    HEADER,
    "PL-1,Mug,,1999,EUR,default,5,,", // a product row
    "PL-1,,,1799,EUR,,,BULK-MEMBERS,", // its member price: a product an earlier row created
    "PL-1,,,1599,EUR,,,bulk-members,3", // and a tier (the list's code regardless of case)
    "PL-1,,,1499,EUR,,,BULK-MEMBERS,10",
    "PL-2,Plate,,2999,EUR,default,2,,",
    "PL-2,,,2799,EUR,,,BULK-MEMBERS,1", // min_quantity 1: the entry's own price
    "PL-2,,,2599,EUR,,,NO-SUCH-LIST,", // row 7: unknown list
    "PL-2,,,2599,USD,,,BULK-USD,", // row 8: the product is priced in EUR
    "PL-9,,,999,EUR,,,BULK-MEMBERS,", // row 9: no such product
    "PL-2,Name,,2399,EUR,,,BULK-MEMBERS,2", // row 10: a price row with a product field
    "PL-3,Bowl,,999,EUR,,,,4", // row 11: min_quantity on a product row
    "PL-2,,,2499,EUR,,,BULK-MEMBERS,5",
    "PL-2,,,2699,EUR,,,BULK-MEMBERS,", // row 13: row 6's price again (min_quantity empty is 1)
  ].join("\n") + "\n";

it("sets list prices and tiers from price_list rows, reports the rows it cannot price, and a re-run changes nothing", async () => {
  const file = FILE;
  const done = await run(file);
  expect(done).toMatchObject({ status: "COMPLETED", rowsTotal: 13, rowsDone: 13, rowsFailed: 6 });
  expect(done.errors).toEqual([
    { row: 7, column: "price_list", message: "No price list with code NO-SUCH-LIST" },
    { row: 8, column: "currency", message: "Price list BULK-USD is in USD; the row is in USD, the product in EUR" },
    { row: 9, column: "sku", message: "No product with sku PL-9 (create it on an earlier row)" },
    { row: 10, column: "name", message: expect.stringContaining("leave name empty") },
    { row: 11, column: "min_quantity", message: "min_quantity applies to a price_list row only" },
    { row: 13, column: "sku", message: "This price of sku PL-2 is already in row 6" },
  ]);
  const after = await state(["PL-1", "PL-2"]);
  expect(after.entries).toEqual([
    {
      sku: "PL-1",
      unit_price_cents: 1799,
      tiers: [
        { minQuantity: 3, unitPriceCents: 1599 },
        { minQuantity: 10, unitPriceCents: 1499 },
      ],
      version: 0,
    },
    // Its tier came in a later chunk (chunks of 4 rows): a second write.
    { sku: "PL-2", unit_price_cents: 2799, tiers: [{ minQuantity: 5, unitPriceCents: 2499 }], version: 1 },
  ]);
  expect(after.ledger).toEqual([
    { sku: "PL-1", from_unit_price_cents: null, to_unit_price_cents: 1799, actor: expect.stringMatching(/^admin/) },
    { sku: "PL-2", from_unit_price_cents: null, to_unit_price_cents: 2799, actor: expect.stringMatching(/^admin/) },
    { sku: "PL-2", from_unit_price_cents: 2799, to_unit_price_cents: 2799, actor: expect.stringMatching(/^admin/) },
  ]);

  // A member is charged what the import set (the price book read it anew on the event or on the miss).
  const member = await api.createCustomer();
  await api.admin(`mutation($input: SetCustomerGroupInput!) { setCustomerGroup(input: $input) { __typename } }`, {
    input: { customerId: member.id, customerGroup: "bulk-members" },
  });
  const [{ id: plate }] = (await api.sql.query(`SELECT id FROM product WHERE sku = 'PL-2'`)).rows;
  const plateId = Buffer.from(`Product:${plate}`).toString("base64");
  const shown = await api.gql(
    `query($id: ID!) { product(id: $id) { price(quantity: 5) { amountCents } } }`,
    { id: plateId },
    api.bearer(member.token),
  );
  expect(shown.data.product.price.amountCents).toBe(2499);

  // The same file again: nothing changes, no ledger row, no new price version or event.
  const again = await run(file);
  expect(again).toMatchObject({ status: "COMPLETED", rowsFailed: 6 });
  expect(await state(["PL-1", "PL-2"])).toEqual(after);

  // A new price for one tier: that entry alone, one ledger row, one version more, one event more.
  const changed = await run([HEADER, "PL-1,,,1549,EUR,,,BULK-MEMBERS,3"].join("\n") + "\n");
  expect(changed).toMatchObject({ status: "COMPLETED", rowsFailed: 0 });
  const last = await state(["PL-1", "PL-2"]);
  expect(last.entries[0]).toMatchObject({
    unit_price_cents: 1799,
    tiers: [
      { minQuantity: 3, unitPriceCents: 1549 },
      { minQuantity: 10, unitPriceCents: 1499 },
    ],
    version: 1,
  });
  expect(last.entries[1]).toEqual(after.entries[1]);
  expect(last.ledger).toHaveLength(after.ledger.length + 1);
  expect(last.versions[0].price_version).toBe(after.versions[0].price_version + 1);
  expect(last.versions[1]).toEqual(after.versions[1]);
  expect(last.events[0].n).toBe(after.events[0].n + 1);
});

it("a tier for a list price not set yet is refused; a file of price rows only needs no name column", async () => {
  await run([HEADER, "PL-T,Tea,,500,EUR,default,1,,"].join("\n") + "\n");
  const done = await run(
    ["sku,price_cents,currency,price_list,min_quantity", "PL-T,400,EUR,BULK-MEMBERS,3", "PL-T,450,EUR,BULK-MEMBERS,"].join("\n") + "\n",
  );
  expect(done).toMatchObject({ status: "COMPLETED", rowsFailed: 1 });
  expect(done.errors).toEqual([
    {
      row: 1,
      column: "min_quantity",
      message: "Price list BULK-MEMBERS has no price for PL-T yet: give it one (a row without min_quantity) before its tiers",
    },
  ]);
  expect((await state(["PL-T"])).entries).toEqual([{ sku: "PL-T", unit_price_cents: 450, tiers: [], version: 0 }]);
  const refused = await upload(["sku,price_cents,currency,min_quantity", "PL-T,400,EUR,3"].join("\n") + "\n");
  expect(refused).toMatchObject({
    __typename: "BulkImportFileError",
    problem: "MISSING_COLUMNS",
    columns: expect.arrayContaining(["name", "price_list"]),
  });
});
