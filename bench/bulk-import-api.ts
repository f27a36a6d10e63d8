// One API round of bench/bulk-import.ts: the file uploaded through startBulkImport (GraphQL multipart,
// admin token) and bulkOperation polled until the job is done, with the API's RSS sampled every 10 ms
// meanwhile and its CPU time taken, and optionally watchers: graphql-ws subscribers of stockChanged on
// products the file touches, which must stay connected and end at each product's final count.
import { performance } from "node:perf_hooks";
import pg from "pg";
import { encodeGlobalId } from "../src/ids/index.js";
import type { ApiProcess } from "./lib/api.js";
import { processCpu } from "./lib/cpu.js";
import { jsonClient } from "./lib/http.js";
import { processMemory } from "./lib/stats.js";
import { startSubscriberThread, type SubscriberThread } from "./lib/subscribers.js";
import type { CheckReply } from "./lib/subscriber-worker.js";
import { COLUMNS, fileRow, type ImportFile } from "./bulk-import-floor.js";

const START = `mutation ($file: File!, $mode: BulkImportMode!) {
  startBulkImport(file: $file, mode: $mode) {
    __typename
    ... on StartBulkImportSuccess { bulkOperation { id status } }
    ... on Error { message }
  }
}`;
const OPERATION = `query ($id: ID!) { bulkOperation(id: $id) { status rowsTotal rowsDone rowsFailed } }`;

interface Operation {
  status: string;
  rowsTotal: number;
  rowsDone: number;
  rowsFailed: number;
}

/** startBulkImport of `csv`: the GraphQL result's startBulkImport (a success or a typed error). */
async function upload(
  api: ApiProcess,
  token: string,
  csv: Buffer,
  name: string,
): Promise<{ __typename: string; bulkOperation?: { id: string }; message?: string }> {
  const body = new FormData();
  body.append("operations", JSON.stringify({ query: START, variables: { mode: "UPSERT", file: null } }));
  body.append("map", JSON.stringify({ 0: ["variables.file"] }));
  body.append("0", new Blob([new Uint8Array(csv)]), name);
  const res = await fetch(`${api.url}/graphql`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body });
  const json = (await res.json()) as { data?: { startBulkImport?: { __typename: string } }; errors?: unknown };
  if (!json.data?.startBulkImport) throw new Error(`startBulkImport: HTTP ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
  return json.data.startBulkImport;
}

/** The code paths of an upload loaded without writing anything: a file with a column the importer refuses. */
export async function warmUp(api: ApiProcess, token: string): Promise<void> {
  const refused = await upload(api, token, Buffer.from(`${COLUMNS.join(",")},colour\nWARM-1,Warm,,100,EUR,default,1,red\n`), "warm.csv");
  if (refused.__typename !== "BulkImportFileError") throw new Error(`the warm-up file was not refused: ${JSON.stringify(refused)}`);
}

export interface ImportRun {
  /** Until startBulkImport answered (the file parsed and staged). */
  uploadMs: number;
  /** Until a poll saw the job COMPLETED (or otherwise finished). */
  ms: number;
  /** Outbox events not yet relayed when the job was seen finished, and when the last of them was (from the upload's start). */
  backlogAtEnd: number;
  relayedMs: number;
  op: Operation;
  rssMax: number;
  /** The largest RSS until the upload answered (the file parsed and staged). */
  rssMaxUpload: number;
  /** CPU seconds of the API process from the upload until its events were relayed. */
  cpuSeconds: number;
  /** CPU seconds of the PostgreSQL backends serving the round's database, the same span. */
  pgCpuSeconds: number;
  polls: number;
  /**
   * The longest a poll waited for its answer: bulkOperation(id) once the upload answered, `{ __typename }`
   * while it was under way (the API's event loop busy, e.g. parsing the file, shows here).
   */
  pollMaxMs: number;
}

/** The file through the API, timed from the upload's start until a poll sees the job finished. */
export async function apiImport(
  api: ApiProcess,
  token: string,
  file: ImportFile,
  o: {
    pollMs: number;
    timeoutMs: number;
    backendsCpu: () => Promise<Map<number, number>>;
    /** Outbox events the relay has not published yet. */
    backlog: () => Promise<number>;
    onStart?: () => void;
    onEnd?: () => void;
  },
): Promise<ImportRun> {
  const http = jsonClient(api.url, 1);
  let rssMax = processMemory(api.pid).rss;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, processMemory(api.pid).rss)), 10);
  try {
    const pg0 = await o.backendsCpu();
    const cpu0 = processCpu(api.pid);
    o.onStart?.();
    const headers = { authorization: `Bearer ${token}` };
    let polls = 0;
    let pollMaxMs = 0;
    const started = performance.now();
    let uploading = true;
    let uploadMs = NaN;
    let rssMaxUpload = NaN;
    const answered = upload(api, token, file.csv, "products.csv").finally(() => {
      uploading = false;
      uploadMs = performance.now() - started;
      rssMaxUpload = Math.max(rssMax, processMemory(api.pid).rss);
    });
    const probe = JSON.stringify({ query: "{ __typename }" });
    while (uploading) {
      const sent = performance.now();
      await Promise.race([http.post("/graphql", probe, headers), answered.catch(() => {})]);
      if (uploading) pollMaxMs = Math.max(pollMaxMs, performance.now() - sent);
      await new Promise((r) => setTimeout(r, o.pollMs));
    }
    const result = await answered;
    if (!result.bulkOperation) throw new Error(`startBulkImport refused the file: ${JSON.stringify(result)}`);
    const query = JSON.stringify({ query: OPERATION, variables: { id: result.bulkOperation.id } });
    for (;;) {
      const sent = performance.now();
      const { json } = await http.post("/graphql", query, headers);
      pollMaxMs = Math.max(pollMaxMs, performance.now() - sent);
      polls++;
      const op = (json as { data?: { bulkOperation?: Operation } }).data?.bulkOperation;
      if (!op) throw new Error(`bulkOperation: ${JSON.stringify(json).slice(0, 300)}`);
      const ms = performance.now() - started;
      if (op.status !== "QUEUED" && op.status !== "RUNNING") {
        o.onEnd?.();
        const { backlogAtEnd, relayedMs } = await relayed(started, o);
        const cpuSeconds = processCpu(api.pid) - cpu0;
        const pg1 = await o.backendsCpu();
        const pgCpuSeconds = [...pg1].reduce((n, [pid, cpu]) => n + cpu - (pg0.get(pid) ?? 0), 0);
        return {
          uploadMs,
          ms,
          backlogAtEnd,
          relayedMs,
          op,
          rssMax: Math.max(rssMax, processMemory(api.pid).rss),
          rssMaxUpload,
          cpuSeconds,
          pgCpuSeconds,
          polls,
          pollMaxMs,
        };
      }
      if (ms > o.timeoutMs) throw new Error(`the import did not finish within ${o.timeoutMs / 1000} s (${JSON.stringify(op)})`);
      if (api.exitedAs()) throw new Error(`the API stopped (${api.exitedAs()}):\n${api.logTail()}`);
      await new Promise((r) => setTimeout(r, o.pollMs));
    }
  } finally {
    clearInterval(sampler);
    http.close();
  }
}

/**
 * CPU seconds so far of each PostgreSQL backend connected to database `name` (the server on this machine):
 * a backend that connects later counts from zero, one that leaves in between is lost.
 */
export function backendsCpu(serverUrl: string, name: string): () => Promise<Map<number, number>> {
  return async () => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1`, [name]);
      return new Map(rows.map((r) => [r.pid, processCpu(r.pid)]).filter(([, cpu]) => Number.isFinite(cpu)) as [number, number][]);
    } finally {
      await client.end();
    }
  };
}

/** Waits until the relay has published every outbox event (the import's events reach subscribers after that). */
async function relayed(started: number, o: { timeoutMs: number; backlog: () => Promise<number> }) {
  const backlogAtEnd = await o.backlog();
  for (let left = backlogAtEnd; left > 0; left = await o.backlog()) {
    if (performance.now() - started > o.timeoutMs) throw new Error(`the relay still had ${left} events after ${o.timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { backlogAtEnd, relayedMs: performance.now() - started };
}

/** The outbox events of the database at `url` not published yet (one connection, kept open: close() it). */
export async function outboxBacklog(url: string): Promise<{ count: () => Promise<number>; close: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    count: async () =>
      (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox_event WHERE published_at IS NULL")).rows[0]!.n,
    close: () => client.end(),
  };
}

export interface Watchers {
  thread: SubscriberThread;
  /** Row numbers (SKU numbers) of the watched products, index = product number of the subscriber thread. */
  watched: number[];
  watchers: number;
  connected: number;
  connectMs: number;
  connectFailures: string[];
  /** Sockets closed before the import started (they never got in). */
  closedBefore: number;
}

/**
 * Creates the products `watchers` subscribers will watch (`perWatcher` each, spread over the file,
 * with the file's fields and no stock: the import then changes only their counts) and connects
 * the subscribers. Run before the API starts its import, on the round's fresh database.
 */
export async function createWatched(
  databaseUrl: string,
  rows: number,
  watchers: number,
  perWatcher: number,
): Promise<{ watched: number[]; gids: string[] }> {
  const count = Math.min(rows, watchers * perWatcher);
  const watched = Array.from({ length: count }, (_, i) => 1 + Math.floor((i * rows) / count));
  const records = watched.map(fileRow);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: created } = await client.query<{ id: string; sku: string }>(
      `INSERT INTO product (sku, name, description, price_cents, currency, stock)
       SELECT * , 0 FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[]) ORDER BY 1
       RETURNING id, sku`,
      [
        records.map((r) => r.sku),
        records.map((r) => r.name),
        records.map((r) => r.description),
        records.map((r) => r.price_cents),
        records.map((r) => r.currency),
      ],
    );
    const idOf = new Map(created.map((r) => [r.sku, r.id]));
    return { watched, gids: records.map((r) => encodeGlobalId("Product", idOf.get(r.sku)!)) };
  } finally {
    await client.end();
  }
}

export async function connectWatchers(
  wsUrl: string,
  w: { watched: number[]; gids: string[] },
  watchers: number,
  perWatcher: number,
): Promise<Watchers> {
  const n = w.watched.length;
  const subscribers = Array.from({ length: watchers }, (_, s) =>
    Array.from({ length: Math.min(perWatcher, n) }, (_, j) => (s * perWatcher + j) % n),
  );
  const thread = await startSubscriberThread({
    url: wsUrl,
    productGids: w.gids,
    subscribers,
    connectConcurrency: 50,
    connectTimeoutMs: 60_000,
  });
  const c = await thread.connect();
  const before = await thread.check(w.watched.map(() => 0));
  return {
    thread,
    watched: w.watched,
    watchers,
    connected: c.connected,
    connectMs: c.ms,
    connectFailures: c.firstErrors,
    closedBefore: before.unexpectedCloses,
  };
}

export interface WatchOutcome {
  watchers: number;
  connected: number;
  connectMs: number;
  connectFailures: string[];
  /** Sockets the server closed after they had connected. */
  closedAfterConnect: number;
  /** Watchers whose every product reached its final version with the file's count. */
  sawFinal: number;
  /** Waited for the final versions this long after the job finished (complete: all of them arrived). */
  drainMs: number;
  drained: boolean;
  check: CheckReply;
}

/** After the import: waits (at most timeoutMs) for each watcher to have its products' final versions, then checks their counts. */
export async function watchOutcome(w: Watchers, databaseUrl: string, timeoutMs: number): Promise<WatchOutcome> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let versions: number[];
  try {
    const skus = w.watched.map((g) => fileRow(g).sku);
    const { rows } = await client.query<{ sku: string; version: number }>(`SELECT sku, version FROM product WHERE sku = ANY($1::text[])`, [
      skus,
    ]);
    const bySku = new Map(rows.map((r) => [r.sku, r.version]));
    versions = skus.map((s) => bySku.get(s) ?? Infinity);
  } finally {
    await client.end();
  }
  const stocks = w.watched.map((g) => fileRow(g).on_hand);
  const t0 = performance.now();
  const drained = await w.thread.awaitVersions(versions, timeoutMs);
  const drainMs = performance.now() - t0;
  const check = await w.thread.check(versions, stocks);
  return {
    watchers: w.watchers,
    connected: w.connected,
    connectMs: w.connectMs,
    connectFailures: w.connectFailures,
    closedAfterConnect: check.unexpectedCloses - w.closedBefore,
    sawFinal: check.atFinal,
    drainMs,
    drained: drained.complete,
    check,
  };
}
