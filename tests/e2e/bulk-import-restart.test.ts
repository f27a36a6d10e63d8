// Issue 25: an import survives the death of its API process. A real server
// process on real PostgreSQL runs a 10,000-row import; the test holds the
// job's row between two chunks (so the job is RUNNING with some rows done and
// the runner waiting on its next chunk), SIGKILLs the server's process group,
// and starts a new server on the same database. Its runner takes the job over
// once the heartbeat is BULK_IMPORT_STALE_SECONDS old and finishes it from the
// last committed chunk: every row exactly once (CREATE_ONLY would refuse a row
// written twice; one product, its stock and one RECEIVED ledger row per SKU).
import { afterAll, beforeAll, expect, it } from "vitest";
import type pg from "pg";
import { signToken } from "../../src/auth/tokens.js";
import { createTestDatabase, sqlPool, type TestDatabase } from "../support/database.js";
import { startServer, type ServerProcess } from "../support/process.js";
import { JWT_SECRET, rowId } from "../support/shop.js";

const ROWS = 10_000;
const env = (url: string) => ({
  DATABASE_URL: url,
  JWT_SECRET,
  LOG_LEVEL: "warn",
  STOCKWIRE_SEED: "never",
  // The takeover waits for the dead runner's heartbeat to be this old (default 30 s).
  BULK_IMPORT_STALE_SECONDS: "1",
});

let database: TestDatabase;
let sql: pg.Pool;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  sql = sqlPool(database.url, 3);
});

afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) await s.stop();
  await sql?.end();
  await database?.drop();
});

async function start(): Promise<ServerProcess> {
  const server = await startServer(env(database.url));
  servers.push(server);
  return server;
}

/** SIGKILL to the whole process group: nothing of the server gets to clean up. */
async function kill(server: ServerProcess): Promise<void> {
  const exited = new Promise((r) => server.child.once("exit", r));
  process.kill(-server.child.pid!, "SIGKILL");
  await exited;
}

async function upload(url: string, csv: string): Promise<string> {
  const body = new FormData();
  const query = `mutation ($file: File!) { startBulkImport(file: $file, mode: CREATE_ONLY) {
    __typename ... on StartBulkImportSuccess { bulkOperation { id } } } }`;
  body.append("operations", JSON.stringify({ query, variables: { file: null } }));
  body.append("map", JSON.stringify({ 0: ["variables.file"] }));
  body.append("0", new Blob([csv]), "restart.csv");
  const token = await signToken({ role: "admin" }, JWT_SECRET, "1h");
  const res = await fetch(`${url}/graphql`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body });
  const json = (await res.json()) as any;
  expect(json.data?.startBulkImport?.__typename, JSON.stringify(json)).toBe("StartBulkImportSuccess");
  return rowId(json.data.startBulkImport.bulkOperation.id);
}

/**
 * Locks the job's row once it is RUNNING with rows done and rows to go: the runner's next chunk
 * (which locks the row first) waits. Returns the client holding the lock and the rows done then.
 */
async function holdBetweenChunks(id: string): Promise<{ client: pg.PoolClient; rowsDone: number }> {
  const client = await sql.connect();
  for (let i = 0; i < 3_000; i++) {
    await client.query("BEGIN");
    // Waits for a chunk in flight to commit, then sees the row as that chunk left it.
    const { rows } = await client.query(
      `SELECT rows_done FROM bulk_operation WHERE id = $1 AND status = 'RUNNING' AND rows_done > 0 AND rows_done < rows_total FOR UPDATE`,
      [id],
    );
    if (rows.length) return { client, rowsDone: rows[0].rows_done };
    await client.query("ROLLBACK");
    const { rows: now } = await client.query(`SELECT status::text FROM bulk_operation WHERE id = $1`, [id]);
    if (!["QUEUED", "RUNNING"].includes(now[0].status)) throw new Error(`the job ended (${now[0].status}) before it could be held`);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("the job never ran");
}

const job = async (id: string) =>
  (
    await sql.query(
      `SELECT status::text, rows_total, rows_done, rows_failed, started_at, finished_at,
         (SELECT count(*)::int FROM bulk_operation_error WHERE operation_id = $1) AS errors
       FROM bulk_operation WHERE id = $1`,
      [id],
    )
  ).rows[0];

const count = async (text: string) => (await sql.query(text)).rows[0].n as number;

it(
  "SIGKILL of the API mid-import: a new process resumes the job from the last committed chunk, every row once",
  { timeout: 240_000 },
  async () => {
    const first = await start();
    const csv = ["sku,name,description,price_cents,currency,location,on_hand"];
    for (let i = 1; i <= ROWS; i++) csv.push(`RST-${i},Restart ${i},,${100 + i},EUR,default,${1 + (i % 50)}`);
    const id = await upload(first.url, csv.join("\n") + "\n");

    const held = await holdBetweenChunks(id);
    let killedAt;
    try {
      await kill(first);
      killedAt = await job(id);
    } finally {
      await held.client.query("ROLLBACK");
      held.client.release();
    }
    // Dead mid-job: RUNNING (nobody gave it back), the committed chunks' rows in, the rest not.
    expect(killedAt).toMatchObject({ status: "RUNNING", rows_total: ROWS, rows_done: held.rowsDone, rows_failed: 0, finished_at: null });
    expect(held.rowsDone % 500).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM product WHERE sku LIKE 'RST-%'`)).toBe(held.rowsDone);

    await start();
    await expect.poll(async () => (await job(id)).status, { timeout: 120_000, interval: 100 }).toBe("COMPLETED");
    const done = await job(id);
    expect(done).toMatchObject({ rows_total: ROWS, rows_done: ROWS, rows_failed: 0, errors: 0 });
    expect(done.started_at).toEqual(killedAt.started_at); // the same job resumed, not started over
    expect(await count(`SELECT count(*)::int AS n FROM product WHERE sku LIKE 'RST-%'`)).toBe(ROWS);
    // Each SKU: the stock of its row, one ledger row (RECEIVED: the level had nothing), and nothing else:
    // written once (created with its count, version 0).
    const { rows: odd } = await sql.query(
      `SELECT p.sku, p.stock, p.version, count(m.id)::int AS moves, array_agg(m.adjustment_reason::text) AS reasons
     FROM product p LEFT JOIN stock_movement m ON m.product_id = p.id
     WHERE p.sku LIKE 'RST-%'
     GROUP BY p.id
     HAVING p.stock <> 1 + substring(p.sku FROM 5)::int % 50 OR count(m.id) <> 1
       OR bool_or(m.adjustment_reason IS DISTINCT FROM 'RECEIVED') OR p.version <> 0
     LIMIT 5`,
    );
    expect(odd).toEqual([]);
    const { rows: levels } = await sql.query(
      `SELECT count(*)::int AS n, sum(s.on_hand)::int AS units FROM stock_level s
     JOIN product p ON p.id = s.product_id JOIN location l ON l.id = s.location_id WHERE p.sku LIKE 'RST-%' AND l.code = 'default'`,
    );
    let units = 0;
    for (let i = 1; i <= ROWS; i++) units += 1 + (i % 50);
    expect(levels[0]).toEqual({ n: ROWS, units });
  },
);
