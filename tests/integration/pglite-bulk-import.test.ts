// The bulk import on embedded PGlite: the same staging, claim (FOR UPDATE SKIP
// LOCKED, an advisory lock) and chunk statements as on PostgreSQL, through the
// same service and runner: rows imported over several chunks, a bad row
// reported, a re-run changing nothing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openDatabase, type Database, type DbClient } from "../../src/db/database.js";
import { createPubSub } from "../../src/realtime/pubsub.js";
import { BulkImportRunner } from "../../src/services/bulk-import-runner.js";
import { BulkImportService } from "../../src/services/bulk-import.service.js";

const dataDir = mkdtempSync(path.join(tmpdir(), "stockwire-pglite-import-"));
const admin = { viewer: { kind: "admin" as const } };
let db: Database;
let runner: BulkImportRunner;
let imports: BulkImportService;
/** Chunks that told the app the catalogue changed (it clears every instance's catalogue cache then). */
let catalogChanges = 0;

beforeAll(async () => {
  db = await openDatabase({ kind: "pglite", dataDir });
  await db.migrate();
  runner = new BulkImportRunner(db.prisma, { committed() {} }, { chunkSize: 200, pollMs: 10, onCatalogChanged: () => catalogChanges++ });
  imports = new BulkImportService(db.prisma, db.sql, runner);
  runner.start();
}, 120_000);
afterAll(async () => {
  await runner?.stop();
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const file = (text: string) => ({ name: "p.csv", size: text.length, arrayBuffer: async () => new TextEncoder().encode(text).buffer });
const rows = ["sku,name,description,price_cents,currency,location,on_hand"];
for (let i = 1; i <= 700; i++) rows.push(`PGI-${i},P ${i},,${i},EUR,default,${i % 9}`);
rows[100] = "PGI-100,P 100,,100,EUR,nowhere,1";
const csv = rows.join("\n");

async function settled(id: string) {
  for (let i = 0; i < 1000; i++) {
    const [op] = await imports.byIds(admin, [id]);
    if (op && !["QUEUED", "RUNNING"].includes(op.status)) return op;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("did not finish");
}

const totals = async () =>
  (
    await db.prisma.$queryRawUnsafe<{ v: number; m: number; n: number }[]>(
      `SELECT (SELECT sum(version)::int FROM product) AS v, (SELECT count(*)::int FROM stock_movement) AS m, (SELECT count(*)::int FROM product) AS n`,
    )
  )[0]!;

it("imports over several chunks, reports the bad row, and a re-run changes nothing", async () => {
  const op = await settled((await imports.start(admin, file(csv), "UPSERT")).id);
  expect(op).toMatchObject({ status: "COMPLETED", rowsTotal: 700, rowsDone: 700, rowsFailed: 1 });
  expect(catalogChanges).toBe(4); // every chunk created products
  expect(await imports.errors(op.id, 0, 10)).toEqual([{ row: 100, column: "location", message: "No location with code nowhere" }]);
  const first = await totals();
  expect(first.n).toBe(699);
  expect((await settled((await imports.start(admin, file(csv), "UPSERT")).id)).rowsFailed).toBe(1);
  expect(await totals()).toEqual(first);
  expect(catalogChanges).toBe(4); // nothing changed: no cache is cleared

  // A rename only (no count moves, so no stock event would tell a cache): the catalogue changed.
  const renamed = ["sku,name,description,price_cents,currency", "PGI-5,Renamed 5,,5,EUR"].join("\n");
  expect((await settled((await imports.start(admin, file(renamed), "UPSERT")).id)).rowsFailed).toBe(0);
  expect(catalogChanges).toBe(5);
}, 120_000);

it("20 watchers of one job on this instance: one read of the job per update, and each gets it", async () => {
  await runner.stop(); // the job stays QUEUED until this test moves it
  const { id } = await imports.start(admin, file(csv), "UPSERT");
  let jobReads = 0;
  // The same database client, counting the statements that read jobs by id.
  const counted = new Proxy(db.prisma, {
    get(target, key, receiver) {
      if (key !== "$queryRaw") return Reflect.get(target, key, receiver);
      return (strings: TemplateStringsArray, ...values: unknown[]) => {
        if (strings.join("?").includes("FROM bulk_operation WHERE id")) jobReads++;
        return target.$queryRaw(strings, ...values);
      };
    },
  }) as DbClient;
  const pubsub = createPubSub({ kind: "memory" });
  const watched = new BulkImportService(counted, db.sql, runner, undefined, pubsub);
  const feeds = await Promise.all(Array.from({ length: 20 }, async () => (await watched.changes(admin, id))[Symbol.asyncIterator]()));
  try {
    expect((await Promise.all(feeds.map((f) => f.next()))).map((r) => r.value?.rowsDone)).toEqual(Array(20).fill(0));
    await db.prisma.$executeRawUnsafe(`UPDATE bulk_operation SET rows_done = 7, version = version + 1 WHERE id = $1::uuid`, id);
    const before = jobReads;
    watched.announce(id);
    expect((await Promise.all(feeds.map((f) => f.next()))).map((r) => r.value?.rowsDone)).toEqual(Array(20).fill(7));
    // One statement for the 20 (two if the throttles' timers fall either side of the shared read's window).
    expect(jobReads - before).toBeGreaterThanOrEqual(1);
    expect(jobReads - before).toBeLessThanOrEqual(2);
  } finally {
    await Promise.all(feeds.map((f) => f.return?.()));
    await imports.cancel(admin, id);
    await pubsub.close();
    runner.start();
  }
}, 60_000);
