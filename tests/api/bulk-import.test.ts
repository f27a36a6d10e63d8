// Bulk import (issue 25): startBulkImport over a real multipart upload, the
// job runner on real PostgreSQL: rows written in chunks, bad rows reported by
// row number while the rest go on, an idempotent re-run, a runner that dies
// mid-job taken over without a row written twice, cancel, one job at a time,
// and file-level refusals that write nothing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BulkImportRunner } from "../../src/services/bulk-import-runner.js";
import { encodeGlobalId } from "../../src/ids/index.js";
import { startApi, type Api } from "../support/api.js";
import { rowId } from "../support/shop.js";

const MAX_BYTES = 1_000_000;
let api: Api;
/** What the app's runner does after a chunk: a test may pause it there (await) or watch. */
let afterChunk: (id: string, rowsDone: number) => void | Promise<void> = () => {};

beforeAll(async () => {
  api = await startApi(
    { BULK_IMPORT_MAX_BYTES: String(MAX_BYTES) },
    {},
    { bulkImport: { chunkSize: 500, afterChunk: (id, n) => afterChunk(id, n) } },
  );
  await api.sql.query(`INSERT INTO location (code, name) VALUES ('north', 'North')`);
});
afterAll(async () => {
  afterChunk = () => {};
  await api?.close();
});
beforeEach(() => {
  afterChunk = () => {};
});

const START = `mutation ($file: File!, $mode: BulkImportMode!) {
  startBulkImport(file: $file, mode: $mode) {
    __typename
    ... on StartBulkImportSuccess { bulkOperation { id status rowsTotal } }
    ... on BulkImportFileError { message problem columns }
    ... on Error { message }
  }
}`;

const OPERATION = `query ($id: ID!) {
  bulkOperation(id: $id) {
    status rowsTotal rowsDone rowsFailed startedAt finishedAt
    errors(first: 100) { edges { node { row column message } } }
  }
}`;

type Result = {
  __typename: string;
  bulkOperation?: { id: string; status: string; rowsTotal: number };
  problem?: string;
  columns?: string[];
  message?: string;
};

function form(query: string, variables: Record<string, unknown>, file: BlobPart, name: string): FormData {
  const body = new FormData();
  body.append("operations", JSON.stringify({ query, variables: { ...variables, file: null } }));
  body.append("map", JSON.stringify({ 0: ["variables.file"] }));
  body.append("0", new Blob([file]), name);
  return body;
}

async function upload(
  file: BlobPart,
  mode = "UPSERT",
  name = "products.csv",
  token = api.adminToken,
): Promise<{ status: number; body: any }> {
  const res = await api.fetch("/graphql", {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
    body: form(START, { mode }, file, name),
  });
  return { status: res.status, body: await res.json() };
}

async function start(file: BlobPart, mode = "UPSERT", name = "products.csv"): Promise<string> {
  const { body } = await upload(file, mode, name);
  const r = body.data?.startBulkImport as Result;
  expect(r?.__typename, JSON.stringify(body)).toBe("StartBulkImportSuccess");
  return r.bulkOperation!.id;
}

async function operation(id: string) {
  const res = await api.gql(OPERATION, { id }, { authorization: `Bearer ${api.adminToken}` });
  return (res.data as any).bulkOperation as {
    status: string;
    rowsTotal: number;
    rowsDone: number;
    rowsFailed: number;
    startedAt: string | null;
    finishedAt: string | null;
    errors: { edges: { node: { row: number; column: string | null; message: string } }[] };
  };
}

async function stagedRows(id: string): Promise<number> {
  const { rows } = await api.sql.query(`SELECT count(*)::int AS n FROM bulk_operation_row WHERE operation_id = $1`, [rowId(id)]);
  return rows[0].n;
}

async function settled(id: string) {
  for (let i = 0; i < 600; i++) {
    const op = await operation(id);
    if (!["QUEUED", "RUNNING"].includes(op.status)) return op;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`bulk operation ${id} did not finish`);
}

const HEADER = "sku,name,description,price_cents,currency,location,on_hand";
const csv = (rows: string[]) => [HEADER, ...rows].join("\n") + "\n";
const good = (prefix: string, i: number) => `${prefix}-${i},Product ${i},,${100 + i},EUR,default,${i % 50}`;

/** Totals a re-run must leave alone. */
async function fingerprint(prefix: string) {
  const { rows } = await api.sql.query(
    `SELECT (SELECT coalesce(sum(version), 0)::int FROM product WHERE sku LIKE $1) AS versions,
       (SELECT coalesce(sum(s.version), 0)::int FROM stock_level s JOIN product p ON p.id = s.product_id WHERE p.sku LIKE $1) AS level_versions,
       (SELECT count(*)::int FROM stock_movement m JOIN product p ON p.id = m.product_id WHERE p.sku LIKE $1) AS movements,
       (SELECT count(*)::int FROM outbox_event WHERE key IN (SELECT id::text FROM product WHERE sku LIKE $1)) AS events`,
    [`${prefix}-%`],
  );
  return rows[0];
}

/** A kind of bad row: the row that replaces good row `r`, the column reported and its message. */
type BadKind = [name: string, make: (r: number) => string, column: string, message: RegExp];
const BAD_KINDS: BadKind[] = [
  ["unknown location", (r) => `IMP-${r},P,,100,EUR,nowhere,5`, "location", /^No location with code nowhere$/],
  ["deactivated location", (r) => `IMP-${r},P,,100,EUR,closed,5`, "location", /^Location closed is deactivated$/],
  ["negative on hand", (r) => `IMP-${r},P,,100,EUR,default,-5`, "on_hand", /must not be negative/],
  ["on hand not whole", (r) => `IMP-${r},P,,100,EUR,default,2.5`, "on_hand", /must be a whole number/],
  ["on hand too large", (r) => `IMP-${r},P,,100,EUR,default,1000000001`, "on_hand", /at most 1000000000/],
  ["price not whole", (r) => `IMP-${r},P,,12.5,EUR,default,5`, "price_cents", /must be a whole number/],
  ["price that does not fit", (r) => `IMP-${r},P,,999999999999,EUR,default,5`, "price_cents", /at most 100000000/],
  ["negative price", (r) => `IMP-${r},P,,-1,EUR,default,5`, "price_cents", /must not be negative/],
  ["currency not 3 letters", (r) => `IMP-${r},P,,100,EU,default,5`, "currency", /ISO 4217/],
  ["not a currency", (r) => `IMP-${r},P,,100,XXX,default,5`, "currency", /ISO 4217/],
  // Row r - 1 is a good row: its SKU in another case, its location in another case.
  ["duplicate SKU and location", (r) => `imp-${r - 1},Dup,,149,EUR,DEFAULT,5`, "sku", /already in row \d+$/],
  ["empty sku", () => ",Nameless,,100,EUR,default,5", "sku", /sku must be 1-64/],
  ["sku with a space", (r) => `IMP ${r},P,,100,EUR,default,5`, "sku", /sku must be 1-64/],
  ["empty name", (r) => `IMP-${r},,,100,EUR,default,5`, "name", /name must be 1-200/],
  ["name too long", (r) => `IMP-${r},${"n".repeat(201)},,100,EUR,default,5`, "name", /name must be 1-200/],
  ["description too long", (r) => `IMP-${r},P,${"d".repeat(5_001)},100,EUR,default,5`, "description", /at most 5000/],
  ["location without on_hand", (r) => `IMP-${r},P,,100,EUR,default,`, "on_hand", /on_hand is empty but location is not/],
  ["on_hand without location", (r) => `IMP-${r},P,,100,EUR,,5`, "location", /location is empty but on_hand is not/],
];

describe("a 10,000-row import with 50 bad rows of every kind", () => {
  const ROWS = 10_000;
  const rows: string[] = [];
  for (let i = 1; i <= ROWS; i++) rows.push(good("IMP", i));
  // Every 199th row from row 10, through every chunk: the kinds in turn (each two or three times).
  const bad = Array.from({ length: 50 }, (_, k) => ({ row: 10 + 199 * k, kind: BAD_KINDS[k % BAD_KINDS.length]! }));
  for (const b of bad) rows[b.row - 1] = b.kind[1](b.row);
  rows[60 - 1] = 'IMP-60,"Quoted, with ""quotes""","line one\nline two",160,EUR,north,3'; // quoted newline, another location
  // A BOM first, as spreadsheets write it.
  const file = "\uFEFF" + csv(rows);
  let id = "";

  beforeAll(async () => {
    await api.sql.query(`INSERT INTO location (code, name, active) VALUES ('closed', 'Closed', false)`);
  });

  it("reports each bad row by number, column and message; imports the rest", async () => {
    id = await start(file);
    const op = await settled(id);
    expect(op).toMatchObject({ status: "COMPLETED", rowsTotal: ROWS, rowsDone: ROWS, rowsFailed: 50 });
    expect(op.finishedAt).not.toBeNull();
    // Its staged rows are dropped once it ended (the runner's next look at the job).
    await expect.poll(() => stagedRows(id), { timeout: 5_000 }).toBe(0);
    expect(op.errors.edges.map((e) => [e.node.row, e.node.column])).toEqual(bad.map((b) => [b.row, b.kind[2]]));
    op.errors.edges.forEach((e, i) => expect(e.node.message, bad[i]!.kind[0]).toMatch(bad[i]!.kind[3]));
    // The SKU of each bad row's place is in no other row (a duplicate repeats the row before): 50 fewer products.
    const { rows: products } = await api.sql.query(`SELECT count(*)::int AS n FROM product WHERE sku ILIKE 'IMP-%'`);
    expect(products[0].n).toBe(ROWS - 50);
    const { rows: missing } = await api.sql.query(`SELECT sku FROM product WHERE sku = ANY($1::text[])`, [bad.map((b) => `IMP-${b.row}`)]);
    expect(missing).toEqual([]);
    const { rows: p60 } = await api.sql.query(
      `SELECT p.name, p.description, p.price_cents, p.stock, l.code, s.on_hand FROM product p
       JOIN stock_level s ON s.product_id = p.id JOIN location l ON l.id = s.location_id WHERE p.sku = 'IMP-60' ORDER BY l.code`,
    );
    expect(p60).toEqual([
      { name: 'Quoted, with "quotes"', description: "line one\nline two", price_cents: 160, stock: 3, code: "default", on_hand: 0 },
      { name: 'Quoted, with "quotes"', description: "line one\nline two", price_cents: 160, stock: 3, code: "north", on_hand: 3 },
    ]);
    // Each count that moved is one ledger row (RECEIVED: the level had nothing) and one stock-changed event:
    // a new product's first count is its CREATED event, not a second one.
    const { rows: p7 } = await api.sql.query(
      `SELECT p.stock, p.version, (SELECT json_agg(json_build_object('reason', reason, 'adjustment', adjustment_reason, 'delta', delta_on_hand))
         FROM stock_movement WHERE product_id = p.id) AS moves,
       (SELECT json_agg(payload->>'reason' || ' ' || (payload->>'stock') ORDER BY id) FROM outbox_event WHERE key = p.id::text) AS events
       FROM product p WHERE sku = 'IMP-7'`,
    );
    expect(p7[0]).toMatchObject({ stock: 7, moves: [{ reason: "CREATED", adjustment: "RECEIVED", delta: 7 }] });
    expect(p7[0].events).toEqual(["CREATED 7"]);
    // Counted at another location than the one a new product's first level is at, it is a change of the new
    // product, and still its one CREATED event.
    const { rows: p60events } = await api.sql.query(
      `SELECT json_agg(payload->>'reason' || ' ' || (payload->>'stock')) AS events, max(p.version) AS version FROM outbox_event e
       JOIN product p ON e.key = p.id::text WHERE p.sku = 'IMP-60'`,
    );
    expect(p60events[0]).toEqual({ events: ["CREATED 3"], version: 1 });
    // A new product counted 0 moves nothing and still gets its one CREATED event.
    const { rows: p50 } = await api.sql.query(
      `SELECT json_agg(payload->>'reason' || ' ' || (payload->>'stock')) AS events FROM outbox_event
       WHERE key = (SELECT id::text FROM product WHERE sku = 'IMP-50')`,
    );
    expect(p50[0].events).toEqual(["CREATED 0"]);
    // Nothing of a bad row was written: no level, no ledger row at the locations it named.
    const { rows: stray } = await api.sql.query(
      `SELECT count(*)::int AS n FROM stock_movement m JOIN location l ON l.id = m.location_id WHERE l.code = 'closed'`,
    );
    expect(stray[0].n).toBe(0);
  });

  it("a re-run of the same file changes nothing: no version bumped, no ledger row, no event", async () => {
    const before = await fingerprint("IMP");
    const op = await settled(await start(file));
    expect(op).toMatchObject({ status: "COMPLETED", rowsDone: ROWS, rowsFailed: 50 });
    expect(await fingerprint("IMP")).toEqual(before);
  });

  it("a changed row changes only its product: a version bump for the price, a CORRECTION for the count", async () => {
    const before = await fingerprint("IMP");
    const changed = [...rows];
    changed[7 - 1] = "IMP-7,Product 7,,999,EUR,default,2";
    const op = await settled(await start(csv(changed)));
    expect(op).toMatchObject({ status: "COMPLETED", rowsFailed: 50 });
    const after = await fingerprint("IMP");
    expect(after.movements).toBe(before.movements + 1);
    const { rows: p7 } = await api.sql.query(
      `SELECT p.price_cents, p.stock, m.adjustment_reason, m.delta_on_hand FROM product p
       JOIN stock_movement m ON m.product_id = p.id WHERE p.sku = 'IMP-7' ORDER BY m.id DESC LIMIT 1`,
    );
    expect(p7[0]).toEqual({ price_cents: 999, stock: 2, adjustment_reason: "CORRECTION", delta_on_hand: -5 });
    // Price (+1) and the count (+1 through the stock write), nothing else.
    expect(after.versions).toBe(before.versions + 2);
  });

  it("CREATE_ONLY: a row whose SKU exists is an error, new SKUs are created (also at a second location)", async () => {
    const op = await settled(
      await start(csv(["IMP-1,Exists,,100,EUR,default,1", "NEW-1,New,,100,EUR,default,1", "NEW-1,New,,100,EUR,north,2"]), "CREATE_ONLY"),
    );
    expect(op).toMatchObject({ status: "COMPLETED", rowsFailed: 1 });
    expect(op.errors.edges.map((e) => e.node)).toEqual([{ row: 1, column: "sku", message: expect.stringMatching(/IMP-1 exists/) }]);
    const { rows: levels } = await api.sql.query(
      `SELECT sum(s.on_hand)::int AS n FROM stock_level s JOIN product p ON p.id = s.product_id WHERE p.sku = 'NEW-1'`,
    );
    expect(levels[0].n).toBe(3);
  });

  it("units an import brings in go to the product's waitlist first, as a restock's do", async () => {
    const product = await api.createProduct({ sku: "WAIT-1", stock: 0, priceCents: 100, currency: "EUR", name: "Waited for" });
    const customer = await api.createCustomer();
    const joined = await api.gql(
      `mutation ($id: ID!) { joinWaitlist(productId: $id, quantity: 2) { __typename } }`,
      { id: product.id },
      api.bearer(customer.token),
    );
    expect((joined.data as any).joinWaitlist.__typename).toBe("JoinWaitlistSuccess");
    expect((await settled(await start(csv(["WAIT-1,Waited for,,100,EUR,default,5"])))).rowsFailed).toBe(0);
    const { rows } = await api.sql.query(
      `SELECT w.status::text, p.reserved FROM waitlist_entry w JOIN product p ON p.id = w.product_id WHERE p.sku = 'WAIT-1'`,
    );
    expect(rows).toEqual([{ status: "OFFERED", reserved: 2 }]);
  });

  it("a new base price from an import is what the next order is charged, though the old one was in memory", async () => {
    const product = await api.createProduct({ sku: "REPRICE-1", stock: 10, priceCents: 1_000, currency: "EUR", name: "Repriced" });
    const customer = await api.createCustomer();
    const order = async (key: string) => {
      const r = await api.placeOrder(customer.token, [{ productId: product.id, quantity: 1 }], key);
      expect(r.__typename, JSON.stringify(r)).toBe("PlaceOrderSuccess");
      const { rows } = await api.sql.query(
        `SELECT i.unit_price_cents FROM order_item i JOIN "order" o ON o.id = i.order_id WHERE o.idempotency_key = $1`,
        [key],
      );
      return rows[0].unit_price_cents as number;
    };
    expect(await order("reprice-before")).toBe(1_000); // the price book now holds 1,000
    const op = await settled(await start(csv(["REPRICE-1,Repriced,,1200,EUR,default,9"])));
    expect(op).toMatchObject({ status: "COMPLETED", rowsFailed: 0 });
    const { rows: events } = await api.sql.query(`SELECT count(*)::int AS n FROM outbox_event WHERE topic = 'price-changed' AND key = $1`, [
      rowId(product.id),
    ]);
    expect(events[0].n).toBe(1);
    // Whether or not the event has reached this process yet: the statement sees the priceVersion moved.
    expect(await order("reprice-after")).toBe(1_200);
  });

  it("JSONL: one object per line, numbers as numbers", async () => {
    const lines = [
      { sku: "JL-1", name: "Json one", description: "d", price_cents: 5, currency: "USD", location: "north", on_hand: 4 },
      { sku: "JL-2", name: "Json two", price_cents: 6, currency: "USD" },
    ];
    const op = await settled(await start(lines.map((l) => JSON.stringify(l)).join("\n"), "UPSERT", "p.jsonl"));
    expect(op).toMatchObject({ status: "COMPLETED", rowsTotal: 2, rowsFailed: 0 });
    const { rows: p } = await api.sql.query(`SELECT sku, price_cents FROM product WHERE sku LIKE 'JL-%' ORDER BY sku`);
    expect(p).toEqual([
      { sku: "JL-1", price_cents: 5 },
      { sku: "JL-2", price_cents: 6 },
    ]);
  });
});

describe("the runner", () => {
  const file = (prefix: string, n: number) => csv(Array.from({ length: n }, (_, i) => good(prefix, i + 1)));
  const noSignal = { committed() {} };

  it("a runner that dies mid-job is taken over after the last committed chunk: no row written twice", async () => {
    // The app's runner stops after its first chunk and does nothing more (as if its process died).
    let revive!: () => void;
    const dead = new Promise<void>((r) => (revive = r));
    afterChunk = () => dead;
    // CREATE_ONLY: a row written twice would be refused the second time (its SKU exists), so rowsFailed counts any.
    const id = await start(file("RES", 2000), "CREATE_ONLY");
    for (let i = 0; i < 600 && (await operation(id)).rowsDone < 500; i++) await new Promise((r) => setTimeout(r, 20));
    const stalled = await operation(id);
    expect(stalled).toMatchObject({ status: "RUNNING", rowsDone: 500 });
    const { rows: half } = await api.sql.query(`SELECT count(*)::int AS n FROM product WHERE sku LIKE 'RES-%'`);
    expect(half[0].n).toBe(500);
    // Another instance's runner: it takes over a job whose runner has not beaten for staleMs.
    const other = new BulkImportRunner(api.db.prisma, noSignal, { chunkSize: 300, staleMs: 0, pollMs: 20 });
    other.start();
    try {
      expect(await settled(id)).toMatchObject({ status: "COMPLETED", rowsDone: 2000, rowsFailed: 0 });
    } finally {
      await other.stop();
      afterChunk = () => {};
      revive(); // the first runner wakes up: the job is no longer its own, it writes nothing
    }
    await new Promise((r) => setTimeout(r, 100));
    const { rows } = await api.sql.query(
      `SELECT count(*)::int AS products, (SELECT count(*)::int FROM stock_movement m JOIN product p ON p.id = m.product_id WHERE p.sku LIKE 'RES-%') AS moves,
         (SELECT count(*)::int FROM product WHERE sku LIKE 'RES-%' AND stock > 0) AS stocked,
         (SELECT count(*)::int FROM product WHERE sku LIKE 'RES-%' AND version <> 0 AND stock > 0) AS odd
       FROM product WHERE sku LIKE 'RES-%'`,
    );
    // Every row once: one product each, one ledger row per level that got units, each product written once
    // (created with its count).
    expect(rows[0]).toEqual({ products: 2000, moves: rows[0].stocked, stocked: 1960, odd: 0 });
  });

  it("cancel: the job stops after the chunk being written; the rows written stay", async () => {
    let go!: () => void;
    const paused = new Promise<void>((r) => (go = r));
    let reached!: () => void;
    const atChunk = new Promise<void>((r) => (reached = r));
    afterChunk = () => {
      reached();
      return paused;
    };
    const id = await start(file("CAN", 2000));
    await atChunk;
    const res = await api.gql(
      `mutation ($id: ID!) { cancelBulkOperation(id: $id) { __typename ... on CancelBulkOperationSuccess { bulkOperation { status } } } }`,
      { id },
      { authorization: `Bearer ${api.adminToken}` },
    );
    expect((res.data as any).cancelBulkOperation).toEqual({
      __typename: "CancelBulkOperationSuccess",
      bulkOperation: { status: "CANCELLED" },
    });
    afterChunk = () => {};
    go();
    await new Promise((r) => setTimeout(r, 200));
    const op = await operation(id);
    expect(op).toMatchObject({ status: "CANCELLED", rowsDone: 500 });
    expect(op.finishedAt).not.toBeNull();
    const { rows } = await api.sql.query(`SELECT count(*)::int AS n FROM product WHERE sku LIKE 'CAN-%'`);
    expect(rows[0].n).toBe(500);
    expect(await stagedRows(id)).toBe(0); // an ended job's staged rows are dropped
  });

  it("two imports queue: one runs after the other, also with a second runner beside (one job at a time)", async () => {
    const running: number[] = [];
    const watch = async () => {
      const { rows } = await api.sql.query(`SELECT count(*)::int AS n FROM bulk_operation WHERE status = 'RUNNING'`);
      running.push(rows[0].n);
    };
    afterChunk = watch;
    const other = new BulkImportRunner(api.db.prisma, noSignal, { chunkSize: 500, pollMs: 5, afterChunk: watch });
    other.start();
    try {
      const [a, b] = [await start(file("QA", 1500)), await start(file("QB", 1500))];
      const [opA, opB] = [await settled(a), await settled(b)];
      expect(opA.status).toBe("COMPLETED");
      expect(opB.status).toBe("COMPLETED");
      expect(Date.parse(opB.startedAt!)).toBeGreaterThanOrEqual(Date.parse(opA.finishedAt!));
      // After each chunk (the last one completes its job: none running then).
      expect(running.length).toBeGreaterThan(0);
      expect(Math.max(...running)).toBe(1);
    } finally {
      await other.stop();
    }
  });
});

describe("file-level refusals write nothing", () => {
  async function counts() {
    const { rows } = await api.sql.query(
      `SELECT (SELECT count(*)::int FROM bulk_operation) AS ops, (SELECT count(*)::int FROM bulk_operation_row) AS staged,
         (SELECT count(*)::int FROM product) AS products`,
    );
    return rows[0];
  }

  const cases: [string, BlobPart, string, string[]?][] = [
    ["unknown column", "sku,name,price_cents,currency,colour\nA,a,1,EUR,red\n", "UNKNOWN_COLUMNS", ["colour"]],
    ["missing column", "sku,name,currency\nA,a,EUR\n", "MISSING_COLUMNS", ["price_cents"]],
    ["on_hand without location", "sku,name,price_cents,currency,on_hand\nA,a,1,EUR,3\n", "MISSING_COLUMNS", ["location"]],
    ["empty file", "", "EMPTY_FILE"],
    ["a header only", `${HEADER}\n`, "EMPTY_FILE"],
    ["not CSV (an unclosed quote)", `${HEADER}\n"A,a,,1,EUR,default,1\n`, "NOT_CSV_OR_JSONL"],
    ["not CSV (ragged rows)", `${HEADER}\nA,a\n`, "NOT_CSV_OR_JSONL"],
    ["not JSONL", '{"sku": "A"}\nnot json\n', "NOT_CSV_OR_JSONL"],
    [
      "not UTF-8",
      new Uint8Array([...new TextEncoder().encode(`${HEADER}\nA,caf`), 0xe9, ...new TextEncoder().encode(",,1,EUR,,\n")]),
      "INVALID_UTF8",
    ],
    ["over BULK_IMPORT_MAX_BYTES", `${HEADER}\n` + "x".repeat(MAX_BYTES), "TOO_LARGE"],
    // Rows are staged as they are parsed: a file refused part-way (after thousands of rows went to the
    // database) leaves nothing staged either.
    [
      "not CSV after 12,000 good rows",
      `${HEADER}\n` + Array.from({ length: 12_000 }, (_, i) => good("LATE", i + 1)).join("\n") + "\nLATE-X,x\n",
      "NOT_CSV_OR_JSONL",
    ],
    [
      "JSONL whose 1,500 lines all lack currency (known at the end)",
      Array.from({ length: 1_500 }, (_, i) => JSON.stringify({ sku: `JL-${i}`, name: `n ${i}`, price_cents: 1 })).join("\n"),
      "MISSING_COLUMNS",
      ["currency"],
    ],
  ];

  it.each(cases)("%s: a typed error, nothing staged", async (_name, file, problem, columns) => {
    const before = await counts();
    const { status, body } = await upload(file);
    expect(status).toBe(200);
    const r = body.data.startBulkImport as Result;
    expect(r, JSON.stringify(body)).toMatchObject({ __typename: "BulkImportFileError", problem });
    if (columns) expect(r.columns).toEqual(columns);
    expect(await counts()).toEqual(before);
  });

  it("a multipart body past the limit is 413; other operations may not use multipart; JSON bodies stay at 100 kB", async () => {
    // Over a socket, as a client sends it (with its Content-Length).
    const url = await api.app.start();
    const big = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { authorization: `Bearer ${api.adminToken}` },
      body: form(START, { mode: "UPSERT" }, "x".repeat(MAX_BYTES + 200_000), "big.csv"),
    });
    expect(big.status).toBe(413);
    // Without credentials a multipart body gets no more room than any other.
    const anonymous = await fetch(`${url}/graphql`, {
      method: "POST",
      body: form(START, { mode: "UPSERT" }, "x".repeat(150_000), "a.csv"),
    });
    expect(anonymous.status).toBe(413);
    // Nor with credentials that are not an admin's: a forged token, or a customer's.
    const customer = await api.createCustomer();
    for (const authorization of ["Bearer forged.token.here", `Bearer ${customer.token}`]) {
      const r = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { authorization },
        body: form(START, { mode: "UPSERT" }, "x".repeat(150_000), "a.csv"),
      });
      expect(r.status, authorization).toBe(413);
    }
    const other = await api.fetch("/graphql", {
      method: "POST",
      headers: { authorization: `Bearer ${api.adminToken}` },
      body: form(
        `mutation ($file: File!) { __typename startBulkImport(file: $file, mode: UPSERT) { __typename } } query { products(first: 1) { totalCount } }`,
        {},
        "x",
        "a.csv",
      ),
    });
    expect(other.status).toBe(400);
    const json = await api.fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${api.adminToken}` },
      body: JSON.stringify({ query: "{ __typename }", variables: { pad: "x".repeat(150_000) } }),
    });
    expect(json.status).toBe(413);
  });

  it("admins only: a customer is refused; bulkOperation is null for anyone else", async () => {
    const before = await counts();
    const customer = await api.createCustomer();
    const { body } = await upload(csv([good("CU", 1)]), "UPSERT", "a.csv", customer.token);
    expect(body.errors[0].extensions.code).toBe("FORBIDDEN");
    expect(await counts()).toEqual(before);
    const { rows } = await api.sql.query(`SELECT id FROM bulk_operation LIMIT 1`);
    const id = encodeGlobalId("BulkOperation", rows[0].id);
    const res = await api.gql(OPERATION, { id }, api.bearer(customer.token));
    expect((res.data as any).bulkOperation).toBeNull();
    expect(rowId(id)).toBe(rows[0].id);
  });
});
