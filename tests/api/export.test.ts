// Bulk export (issue 25): GET /export/products.csv, /export/stock.csv and
// /export/ledger.csv?since= for admins only, RFC 4180 quoting (csv-stringify),
// the importer's columns, and streaming: over a real socket, a reader that does
// not read holds the server to a few pages of a large table, and one that
// goes away ends the export's reads.
import { get, type IncomingMessage } from "node:http";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { signToken } from "../../src/auth/tokens.js";
import { rawSqlOverPg } from "../../src/db/raw-sql.js";
import { EXPORT_READS, ExportService, MAX_CONCURRENT_EXPORTS } from "../../src/services/export.service.js";
import { encodeGlobalId } from "../../src/ids/index.js";
import { startApi, type Api } from "../support/api.js";
import { expectTypename, JWT_SECRET, rowId } from "../support/shop.js";

let api: Api;
/** Statements of the exports' page reads, counted as the app sends them. */
let pageReads = 0;
const PAGE_READ = /-- export:/;
/** Rows per page read (EXPORT_PAGE_ROWS): small, so that the streaming tests' table has many pages. */
const PAGE_ROWS = 2_000;

beforeAll(async () => {
  api = await startApi({ EXPORT_PAGE_ROWS: String(PAGE_ROWS) }, { onQuery: (sql) => PAGE_READ.test(sql) && pageReads++ });
});
afterAll(async () => {
  await api?.close();
});

const STACK = /\bat (async )?[\w$.<>]+ \(|node:internal|\.(ts|js):\d+|"stack"/;
const asAdmin = () => ({ authorization: `Bearer ${api.adminToken}` });
const exportOf = (path: string, headers: Record<string, string> = asAdmin()) => api.fetch(path, { headers });

describe("who may export", () => {
  const paths = ["/export/products.csv", "/export/stock.csv", "/export/ledger.csv"];

  it("nobody without a token: 401 UNAUTHENTICATED, JSON, no stack", async () => {
    for (const path of paths) {
      const res = await exportOf(path, {});
      const text = await res.text();
      expect(res.status, path).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(JSON.parse(text).errors[0].extensions.code).toBe("UNAUTHENTICATED");
      expect(STACK.test(text)).toBe(false);
    }
  });

  it("a bad or expired token: 401; a customer: 403 FORBIDDEN", async () => {
    const customer = await api.createCustomer();
    const expired = await signToken({ role: "admin" }, JWT_SECRET, "-1m");
    const forged = await signToken({ role: "admin" }, "another-secret-another-secret-another-secret");
    for (const path of paths) {
      for (const token of [expired, forged, "garbage"]) {
        const res = await exportOf(path, { authorization: `Bearer ${token}` });
        expect(res.status, `${path} ${token.slice(0, 10)}`).toBe(401);
        expect((await res.json()).errors[0].extensions.code).toBe("UNAUTHENTICATED");
      }
      const res = await exportOf(path, api.bearer(customer.token));
      const text = await res.text();
      expect(res.status).toBe(403);
      expect(JSON.parse(text).errors[0].extensions.code).toBe("FORBIDDEN");
      expect(STACK.test(text)).toBe(false);
    }
  });

  it("credentials are checked before the parameters (a bad since from a stranger: 401, not 400)", async () => {
    expect((await exportOf("/export/ledger.csv?since=yesterday", {})).status).toBe(401);
  });

  it("only GET: POST is 405 with Allow", async () => {
    const res = await api.fetch("/export/products.csv", { method: "POST", headers: asAdmin(), body: "x" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET");
  });
});

describe("what is exported", () => {
  // Every character CSV must quote, and some it must not mangle.
  const awkward = [
    { sku: "EXP-1", name: 'Comma, and "quotes"', description: "line one\nline two", priceCents: 1999, currency: "EUR", stock: 7 },
    { sku: "EXP-2", name: "Ünïcödé 🚀 日本語", description: 'crlf\r\nend, "x"', priceCents: 5, currency: "USD", stock: 0 },
    { sku: "EXP-3", name: "spaces", description: "", priceCents: 0, currency: "GBP", stock: 3 },
  ];
  let ids: string[];
  let storeId: string;

  beforeAll(async () => {
    ids = [];
    for (const p of awkward) ids.push((await api.createProduct(p)).id);
    // EXP-1 is stocked at a second location too; EXP-3 at none (its default level removed).
    const store = await api.sql.query<{ id: string }>(
      `INSERT INTO location (code, name, priority) VALUES ('store, 2', 'Store', 1) RETURNING id`,
    );
    storeId = store.rows[0]!.id;
    await api.sql.query(`INSERT INTO stock_level (product_id, location_id, on_hand) VALUES ($1, $2, 4)`, [rowId(ids[0]!), storeId]);
    await api.sql.query(`DELETE FROM stock_level WHERE product_id = $1`, [rowId(ids[2]!)]);
    // The API trims names; an import need not have: what is stored is what is exported.
    await api.sql.query(`UPDATE product SET name = ' spaces ' WHERE id = $1`, [rowId(ids[2]!)]);
  });

  it("products.csv: the importer's header, one row per product and location, quoted per RFC 4180, as an attachment", async () => {
    const res = await exportOf("/export/products.csv");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="stockwire-products-\d{8}T\d{6}Z\.csv"$/);
    expect(await res.text()).toBe(
      [
        "sku,name,description,price_cents,currency,location,on_hand",
        `EXP-1,"Comma, and ""quotes""","line one\nline two",1999,EUR,default,7`,
        `EXP-1,"Comma, and ""quotes""","line one\nline two",1999,EUR,"store, 2",4`,
        `EXP-2,Ünïcödé 🚀 日本語,"crlf\r\nend, ""x""",5,USD,default,0`,
        `EXP-3, spaces ,"",0,GBP,,`, // an empty description is "", as COPY writes it (NULL is nothing)
        "",
      ].join("\n"),
    );
  });

  it("stock.csv: one row per product and location with every count (committed after an order)", async () => {
    const customer = await api.createCustomer();
    expectTypename(await api.placeOrder(customer.token, [{ productId: ids[0]!, quantity: 2 }]), "PlaceOrderSuccess");
    const res = await exportOf("/export/stock.csv");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="stockwire-stock-\d{8}T\d{6}Z\.csv"$/);
    expect(await res.text()).toBe(
      [
        "sku,location,on_hand,committed,reserved,incoming,available",
        "EXP-1,default,7,2,0,0,5",
        'EXP-1,"store, 2",4,0,0,0,4',
        "EXP-2,default,0,0,0,0,0",
        "",
      ].join("\n"),
    );
  });

  it("the rows through csv-stringify (PGlite's way) are COPY's bytes (PostgreSQL's way), for every export", async () => {
    const { copyOut, ...withoutCopy } = rawSqlOverPg(api.sql);
    expect(copyOut).toBeTypeOf("function");
    const stringified = new ExportService(withoutCopy, 2);
    for (const kind of ["products", "stock", "ledger"] as const) {
      const chunks: Buffer[] = [];
      for await (const chunk of (await stringified.open({ viewer: { kind: "admin" } }, kind, {})).chunks) chunks.push(chunk);
      const copied = await (await exportOf(`/export/${kind}.csv`)).text();
      expect(copied.split("\n").length, kind).toBeGreaterThan(2);
      expect(Buffer.concat(chunks).toString(), kind).toBe(copied);
    }
  });

  it(`an export alone reads ${EXPORT_READS} pages at once and writes them in order; beside another, one each`, async () => {
    // The real COPY reads, each held back 30 ms so that reads in flight overlap and can be counted.
    const real = rawSqlOverPg(api.sql);
    let inFlight = 0;
    let most = 0;
    const slow = {
      ...real,
      copyOut: async (statement: string) => {
        most = Math.max(most, ++inFlight);
        try {
          await new Promise((r) => setTimeout(r, 30));
          return await real.copyOut!(statement);
        } finally {
          inFlight--;
        }
      },
    };
    const service = new ExportService(slow, 1);
    const read = async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of (await service.open({ viewer: { kind: "admin" } }, "products", {})).chunks) chunks.push(chunk);
      return Buffer.concat(chunks).toString();
    };
    const whole = await (await exportOf("/export/products.csv")).text();
    expect(whole.split("\n").length, "more pages than reads in flight").toBeGreaterThan(EXPORT_READS + 2);
    expect(await read()).toBe(whole);
    expect(most).toBe(EXPORT_READS);

    // Two at once: each asks for one page at a time (the first may still have its first reads in flight).
    most = 0;
    const first = read();
    await vi.waitFor(() => expect(inFlight).toBeGreaterThan(0), { interval: 1 });
    const both = await Promise.all([first, read()]);
    expect(both).toEqual([whole, whole]);
    expect(most).toBeLessThanOrEqual(EXPORT_READS + 1);
    expect(service.stats).toMatchObject({ active: 0, completed: 3, abandoned: 0 });
  });

  it("ledger.csv: every movement, ids as global IDs; since= keeps those at or after it", async () => {
    await new Promise((r) => setTimeout(r, 20)); // the adjustment's time is after everything above
    await api.adjustStock(ids[1]!, 5, 'restock, "urgent"\nsecond line');
    const all = await exportOf("/export/ledger.csv");
    expect(all.status).toBe(200);
    const text = await all.text();
    const [header] = text.split("\n");
    expect(header).toBe(
      "id,occurred_at,sku,location,reason,adjustment_reason,delta_on_hand,delta_committed,delta_reserved,delta_incoming," +
        "on_hand_after,committed_after,reserved_after,incoming_after,version_after,order_id,hold_id,transfer_id,actor,note",
    );
    const { rows } = await api.sql.query(`SELECT id, occurred_at, order_id FROM stock_movement ORDER BY id`);
    const last = rows.at(-1)!;
    const at = (last.occurred_at as Date).toISOString();
    expect(text.endsWith(`,admin,"restock, ""urgent""\nsecond line"\n`)).toBe(true);
    expect(text).toContain(`\n${last.id},${at},EXP-2,default,`);
    const ordered = rows.find((r) => r.order_id)!;
    expect(text).toContain(`,${encodeGlobalId("Order", ordered.order_id)},,,`);

    const since = await exportOf(`/export/ledger.csv?since=${encodeURIComponent(at)}`);
    expect(since.status).toBe(200);
    const sinceLines = (await since.text()).split("\n");
    const expected = rows.filter((r) => (r.occurred_at as Date) >= (last.occurred_at as Date));
    expect(expected.length).toBeLessThan(rows.length);
    // The header, each movement since (the last one's note spans two lines), and the final newline.
    expect(sinceLines).toHaveLength(1 + expected.length + 1 + 1);
    expect(sinceLines[1]).toMatch(new RegExp(`^${expected[0]!.id},`));

    const future = await exportOf("/export/ledger.csv?since=2999-01-01");
    expect(await future.text()).toBe(header + "\n");
  });

  it("a bad since, since on another export, an unknown parameter: 400 BAD_USER_INPUT naming it", async () => {
    const cases: [string, string][] = [
      ["/export/ledger.csv?since=yesterday", "since"],
      ["/export/ledger.csv?since=2026-02-30", "since"],
      ["/export/ledger.csv?since=2026-12-07T06:00:00", "since"], // no time zone
      ["/export/ledger.csv?since=", "since"],
      ["/export/ledger.csv?since=2026-12-01&since=2026-12-02", "since"],
      ["/export/products.csv?since=2026-12-01", "since"],
      ["/export/stock.csv?limit=5", "limit"],
    ];
    for (const [path, field] of cases) {
      const res = await exportOf(path);
      const text = await res.text();
      expect(res.status, path).toBe(400);
      const error = JSON.parse(text).errors[0];
      expect(error.extensions, path).toEqual({ code: "BAD_USER_INPUT", field });
      expect(error.message).toMatch(new RegExp(field));
      expect(STACK.test(text)).toBe(false);
    }
    for (const since of ["2026-12-07T06:00:00.123%2B01:00", "2026-12-07T06:00:00+01:00", "2026-12-07T06:00-05:30", "2026-12-07"]) {
      const ok = await exportOf(`/export/ledger.csv?since=${since}`);
      expect(ok.status, since).toBe(200);
      await ok.text();
    }
  });
});

describe("streaming a large table", () => {
  const PRODUCTS = 30_000;
  // About 2 KB a row: 60 MB in all, far more than the socket buffers between server and client hold.
  const DESCRIPTION = "d".repeat(2_000);
  let url: string;

  beforeAll(async () => {
    await api.sql.query(
      `INSERT INTO product (sku, name, description, price_cents, currency, stock)
       SELECT 'BULK-' || lpad(g::text, 6, '0'), 'Bulk ' || g, $2, g, 'EUR', 1 FROM generate_series(1, $1::int) g`,
      [PRODUCTS, DESCRIPTION],
    );
    url = await api.app.start();
  }, 120_000);

  /** GET over a real socket; the response is not read until the test reads it. */
  async function open(path: string): Promise<{ res: IncomingMessage; destroy(): void }> {
    const req = get(`${url}${path}`, { headers: asAdmin() });
    const [res] = (await once(req, "response")) as [IncomingMessage];
    return { res, destroy: () => req.destroy() };
  }

  /** Waits until the page reads stop growing for a while (the server is waiting for the client, or done). */
  async function settledPageReads(): Promise<number> {
    let seen = -1;
    let still = 0;
    while (still < 5) {
      await new Promise((r) => setTimeout(r, 100));
      still = pageReads === seen ? still + 1 : 0;
      seen = pageReads;
    }
    return seen;
  }

  // A few: the reads in flight (EXPORT_READS, an export alone) and the pages the stream and the socket buffer.
  const pages = Math.ceil(PRODUCTS / PAGE_ROWS);
  const few = EXPORT_READS + 4;
  it("a client that stops reading holds the server to a few pages; reading on, it gets every row", { timeout: 120_000 }, async () => {
    expect(few, "the table is large enough to tell a few pages from all").toBeLessThan(pages / 1.5);
    const before = pageReads;
    const { res } = await open("/export/products.csv");
    expect(res.statusCode).toBe(200);
    expect(res.headers["transfer-encoding"]).toBe("chunked");
    // Not reading: the server writes until the socket's buffers are full, then waits for 'drain'.
    const whilePaused = (await settledPageReads()) - before;
    expect(whilePaused).toBeGreaterThanOrEqual(1);
    expect(whilePaused, `page reads while the client read nothing, of ${pages}`).toBeLessThanOrEqual(few);

    let bytes = 0;
    let newlines = 0;
    let firstBytesAtPage = -1;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (firstBytesAtPage < 0) firstBytesAtPage = pageReads - before;
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) newlines++;
    }
    expect(firstBytesAtPage, "the first bytes arrived while most pages were still unread").toBeLessThanOrEqual(few);
    expect(pageReads - before).toBeGreaterThanOrEqual(pages);
    // The header, the bulk rows, and the few products of the tests above (with their quoted newlines).
    expect(newlines).toBeGreaterThan(PRODUCTS);
    expect(bytes).toBeGreaterThan(PRODUCTS * DESCRIPTION.length);
    expect(api.app.services.exports.stats.active).toBe(0);
  });

  it("a client that goes away ends the export: the page reads stop", { timeout: 120_000 }, async () => {
    const { abandoned } = api.app.services.exports.stats;
    const before = pageReads;
    const { res, destroy } = await open("/export/products.csv");
    await once(res, "readable");
    expect(api.app.services.exports.stats.active).toBe(1);
    destroy();
    await vi.waitFor(() => expect(api.app.services.exports.stats.active).toBe(0), { timeout: 10_000, interval: 50 });
    expect(api.app.services.exports.stats.abandoned).toBe(abandoned + 1);
    const after = await settledPageReads();
    expect(after - before).toBeLessThanOrEqual(few);
  });

  it(`${MAX_CONCURRENT_EXPORTS} exports at once: one more is refused with 429 THROTTLED until one ends`, { timeout: 120_000 }, async () => {
    const running = await Promise.all(Array.from({ length: MAX_CONCURRENT_EXPORTS }, () => open("/export/products.csv")));
    expect(running.map((r) => r.res.statusCode)).toEqual(running.map(() => 200));
    const refused = await exportOf("/export/stock.csv");
    const text = await refused.text();
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(JSON.parse(text).errors[0].extensions).toEqual({ code: "THROTTLED", limit: MAX_CONCURRENT_EXPORTS });
    running[0]!.destroy();
    await vi.waitFor(() => expect(api.app.services.exports.stats.active).toBe(MAX_CONCURRENT_EXPORTS - 1), { timeout: 10_000 });
    const next = await exportOf("/export/stock.csv");
    expect(next.status).toBe(200);
    await next.text();
    for (const r of running.slice(1)) r.destroy();
    await vi.waitFor(() => expect(api.app.services.exports.stats.active).toBe(0), { timeout: 10_000 });
  });

  it(
    "a page read that fails after the status line cuts the connection: a broken download, not a short file",
    { timeout: 120_000 },
    async () => {
      const { abandoned } = api.app.services.exports.stats;
      const { res } = await open("/export/products.csv");
      expect(res.statusCode).toBe(200);
      await settledPageReads(); // waiting for the client, pages read ahead
      // The next page reads fail (no such table) until it is back.
      await api.sql.query(`ALTER TABLE product RENAME TO product_away`);
      let ended = false;
      try {
        const outcome = await new Promise<string>((resolve) => {
          res.on("data", () => {});
          res.on("end", () => resolve("end"));
          res.on("error", (err) => resolve(`error: ${err.message}`));
          res.on("close", () => resolve(res.complete ? "end" : "closed incomplete"));
          // Without the cut the response would stay open for good: fail rather than wait for the test's timeout.
          setTimeout(() => resolve("hung: neither ended nor cut"), 30_000).unref();
        });
        ended = outcome === "end";
        expect(outcome).not.toBe("end");
        expect(res.complete).toBe(false);
      } finally {
        await api.sql.query(`ALTER TABLE product_away RENAME TO product`);
      }
      expect(ended).toBe(false);
      await vi.waitFor(() => expect(api.app.services.exports.stats.active).toBe(0), { timeout: 10_000 });
      expect(api.app.services.exports.stats.abandoned).toBe(abandoned + 1);
    },
  );
});
