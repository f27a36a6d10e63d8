// `npm run import -- FILE` (issue 25) against a real API process on real
// PostgreSQL: it uploads, follows the job to its end and exits 0 (every row
// in), 1 (rows refused: named by row) or 2 (nothing started: no token, a
// customer's token, a file the server refuses); stdout that is not a terminal
// gets one plain line per change; Ctrl-C stops watching, not the job.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../src/auth/tokens.js";
import { encodeGlobalId } from "../../src/ids/index.js";
import { createTestDatabase, sqlPool, type TestDatabase } from "../support/database.js";
import { startServer, type ServerProcess } from "../support/process.js";
import { JWT_SECRET, rowId } from "../support/shop.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const scratch = mkdtempSync(path.join(tmpdir(), "stockwire-import-cli-"));
let database: TestDatabase;
let server: ServerProcess;
let sql: pg.Pool;
let adminToken: string;

beforeAll(async () => {
  database = await createTestDatabase();
  sql = sqlPool(database.url);
  server = await startServer({ DATABASE_URL: database.url, JWT_SECRET, LOG_LEVEL: "warn", STOCKWIRE_SEED: "never" });
  adminToken = await signToken({ role: "admin" }, JWT_SECRET, "1h");
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await sql?.end();
  await database?.drop();
  rmSync(scratch, { recursive: true, force: true });
});

const HEADER = "sku,name,description,price_cents,currency,location,on_hand";
const row = (sku: string, i: number) => `${sku},Product ${i},,${100 + i},EUR,default,${1 + (i % 50)}`;

function file(name: string, rows: string[]): string {
  const at = path.join(scratch, name);
  writeFileSync(at, [HEADER, ...rows].join("\n") + "\n");
  return at;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI as `npm run import` runs it, stdout a pipe (not a terminal). `onStdout` sees it as it comes. */
function cli(args: string[], env: Record<string, string | undefined>, onStdout?: (soFar: string, child: ReturnType<typeof spawn>) => void) {
  const clean = { ...process.env, STOCKWIRE_TOKEN: undefined, JWT_SECRET: undefined, ...env };
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/import.ts", ...args], {
    cwd: root,
    env: clean,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
    onStdout?.(stdout, child);
  });
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise<Run>((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
}

const graphql = () => `${server.url}/graphql`;
const importAs = (token: string | undefined, at: string, ...args: string[]) =>
  cli([at, "--url", graphql(), ...args], { STOCKWIRE_TOKEN: token });

async function count(text: string, params: unknown[] = []): Promise<number> {
  const { rows } = await sql.query(text, params);
  return rows[0].n;
}

describe("npm run import", () => {
  it("a file with a bad row: the rest imported, the row named with its column and message, exit 1", async () => {
    const rows = [1, 2, 3, 4, 5].map((i) => row(`CLI-BAD-${i}`, i));
    rows[3 - 1] = "CLI-BAD-3,Three,,103,EUR,nowhere,5";
    const r = await importAs(adminToken, file("bad.csv", rows));
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^COMPLETED: 5 of 5 rows done, 4 written, 1 failed$/m);
    expect(r.stdout).toMatch(/^ {2}row 3, location: No location with code nowhere$/m);
    expect(await count(`SELECT count(*)::int AS n FROM product WHERE sku LIKE 'CLI-BAD-%'`)).toBe(4);
  });

  it("a good file: exit 0, the products there with their stock", async () => {
    const r = await importAs(
      adminToken,
      file(
        "good.csv",
        [1, 2, 3].map((i) => row(`CLI-OK-${i}`, i)),
      ),
      "--mode",
      "CREATE_ONLY",
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^bulk operation \S+: 3 rows \(CREATE_ONLY\)$/m);
    expect(r.stdout).toMatch(/^COMPLETED: 3 of 3 rows done, 3 written, 0 failed$/m);
    expect(r.stderr).toBe("");
    const { rows } = await sql.query(`SELECT sku, stock, price_cents FROM product WHERE sku LIKE 'CLI-OK-%' ORDER BY sku`);
    expect(rows).toEqual([
      { sku: "CLI-OK-1", stock: 2, price_cents: 101 },
      { sku: "CLI-OK-2", stock: 3, price_cents: 102 },
      { sku: "CLI-OK-3", stock: 4, price_cents: 103 },
    ]);
  });

  it("stdout not a terminal: one plain line per change of the job, in order, up to the end", async () => {
    const rows = Array.from({ length: 3_000 }, (_, i) => row(`CLI-LINES-${i + 1}`, i + 1));
    const r = await importAs(adminToken, file("lines.csv", rows));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    const progress = lines.slice(1, -1);
    expect(lines[0]).toMatch(/^bulk operation \S+: 3000 rows \(UPSERT\)$/);
    expect(lines.at(-1)).toBe("COMPLETED: 3,000 of 3,000 rows done, 3,000 written, 0 failed");
    expect(r.stdout.includes("\r") || r.stdout.includes("\u001b"), "no carriage return or escape sequence").toBe(false);
    expect(progress.length).toBeGreaterThanOrEqual(2); // the state the upload returned, ..., the end
    expect(progress.at(-1)).toBe("COMPLETED 3000/3000 rows, 0 failed");
    const parsed = progress.map((l) => {
      const m = /^(QUEUED|RUNNING|COMPLETED) (\d+)\/3000 rows, 0 failed$/.exec(l);
      expect(m, l).not.toBeNull();
      return { line: l, done: Number(m![2]) };
    });
    // A line only when something changed: never the same twice in a row, progress never backwards.
    parsed.slice(1).forEach((p, i) => {
      expect(p.line).not.toBe(parsed[i]!.line);
      expect(p.done).toBeGreaterThanOrEqual(parsed[i]!.done);
    });
  });

  it("without STOCKWIRE_TOKEN: exit 2, one line saying how to get one, no upload", async () => {
    const before = await count(`SELECT count(*)::int AS n FROM bulk_operation`);
    const r = await importAs(undefined, file("no-token.csv", [row("CLI-NT-1", 1)]));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim()).toBe(
      "import: STOCKWIRE_TOKEN is not set: it must hold an admin token, e.g. STOCKWIRE_TOKEN=$(npm run -s token -- --role admin)",
    );
    expect(await count(`SELECT count(*)::int AS n FROM bulk_operation`)).toBe(before);
  });

  it("exit 2 with the server's reason for a customer's token, a forged one, a refused file, a missing file", async () => {
    const customer = await signToken(
      { role: "customer", sub: encodeGlobalId("Customer", "3f1f9b1e-8d8a-4c5e-9a53-0a3b1d2c4e5f") },
      JWT_SECRET,
      "1h",
    );
    const ok = file("ok.csv", [row("CLI-REF-1", 1)]);
    const colour = path.join(scratch, "colour.csv");
    writeFileSync(colour, "sku,name,price_cents,currency,colour\nA,a,1,EUR,red\n");
    const cases: [string | undefined, string, RegExp][] = [
      [customer, ok, /^import: the token in STOCKWIRE_TOKEN is not an admin's: /],
      ["forged.token.here", ok, /^import: the server refused the token in STOCKWIRE_TOKEN: /],
      [adminToken, colour, /^import: the file was refused \(UNKNOWN_COLUMNS\): Unknown columns: colour/],
      [adminToken, path.join(scratch, "absent.csv"), /^import: cannot read .*absent\.csv: ENOENT$/],
    ];
    for (const [token, at, message] of cases) {
      const r = await importAs(token, at);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim()).toMatch(message);
      expect(r.stderr).not.toMatch(/\bat .*[(:]\d|node:internal/);
    }
    expect(await count(`SELECT count(*)::int AS n FROM product WHERE sku = 'CLI-REF-1'`)).toBe(0);
  });

  it("Ctrl-C stops watching and says how to cancel; the job goes on to the end", async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => row(`CLI-INT-${i + 1}`, i + 1));
    let sent = false;
    const r = await cli([file("interrupt.csv", rows), "--url", graphql()], { STOCKWIRE_TOKEN: adminToken }, (soFar, child) => {
      // At the first progress line, while the job has rows to go.
      if (!sent && /^(QUEUED|RUNNING) \d+\/10000 /m.test(soFar)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    expect(r.code, r.stdout + r.stderr).toBe(130);
    const id = /^bulk operation (\S+):/m.exec(r.stdout)![1]!;
    expect(r.stdout).toContain(`Stopped watching. The import goes on on the server: bulk operation ${id}`);
    expect(r.stdout).toContain(`cancelBulkOperation(id: "${id}")`);
    expect(r.stdout).not.toMatch(/^COMPLETED/m);
    await expect
      .poll(async () => (await sql.query(`SELECT status::text, rows_done FROM bulk_operation WHERE id = $1`, [rowId(id)])).rows[0], {
        timeout: 60_000,
        interval: 200,
      })
      .toEqual({ status: "COMPLETED", rows_done: 10_000 });
    expect(await count(`SELECT count(*)::int AS n FROM product WHERE sku LIKE 'CLI-INT-%'`)).toBe(10_000);
  });
});
