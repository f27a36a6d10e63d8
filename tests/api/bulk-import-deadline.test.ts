// startBulkImport parses and stages its whole file before it answers: longer
// than REQUEST_DEADLINE_MS allows any other request, for a large file. It is
// exempt (its staging transaction and statement_timeout bound it), so a file
// of the size imports with default settings; other mutations keep the deadline.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startApi, type Api } from "../support/api.js";

let api: Api;
beforeAll(async () => {
  // Far below what parsing and staging 20,000 rows take.
  api = await startApi({ REQUEST_DEADLINE_MS: "20" });
});
afterAll(async () => {
  await api?.close();
});

it("a 20,000-row upload is answered though it takes longer than the request deadline", { timeout: 60_000 }, async () => {
  const rows = Array.from({ length: 20_000 }, (_, i) => `DL-${i},Deadline ${i},,${100 + i},EUR,default,${i % 9}`);
  const file = ["sku,name,description,price_cents,currency,location,on_hand", ...rows].join("\n") + "\n";
  const body = new FormData();
  const query = `mutation ($file: File!) { startBulkImport(file: $file, mode: UPSERT) { __typename ... on StartBulkImportSuccess { bulkOperation { rowsTotal } } } }`;
  body.append("operations", JSON.stringify({ query, variables: { file: null } }));
  body.append("map", JSON.stringify({ 0: ["variables.file"] }));
  body.append("0", new Blob([file]), "products.csv");
  const res = await api.fetch("/graphql", { method: "POST", headers: { authorization: `Bearer ${api.adminToken}` }, body });
  const json = await res.json();
  expect(json.errors, JSON.stringify(json.errors)).toBeUndefined();
  expect(json.data.startBulkImport).toEqual({ __typename: "StartBulkImportSuccess", bulkOperation: { rowsTotal: 20_000 } });
});
