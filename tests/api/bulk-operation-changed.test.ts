// subscription bulkOperationChanged (issue 25): two API instances on one
// PostgreSQL and Redis, the import running on A and the subscriber on B over
// graphql-ws. The subscriber gets the job's state at once, its progress as
// chunks commit (at most 4 updates a second), the final state, and then the
// subscription completes; a non-admin or an unknown job is refused with a
// typed error.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { encodeGlobalId, idOfType } from "../../src/ids/index.js";
import { channelName } from "../../src/realtime/pubsub.js";
import { BULK_OPERATION_READ_INTERVAL_MS } from "../../src/services/bulk-operation-feed.js";
import { startApi, type Api } from "../support/api.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { redisUrl } from "../support/services.js";
import { JWT_SECRET } from "../support/shop.js";
import { signToken } from "../../src/auth/tokens.js";
import { BULK_OPERATION_CHANGED } from "../support/operations.js";
import { subscribe, type Subscription } from "../support/stockwire.js";
import type { ResultOf } from "../support/graphql.js";

type Update = ResultOf<typeof BULK_OPERATION_CHANGED>["bulkOperationChanged"];

/** Instance A: runs the imports (uploads go to it, and wake its runner). */
let a: Api;
/** Instance B: the subscribers' (its runner stopped). */
let b: TestApp;
let bUrl: string;
/** What A's runner does after a chunk: a test may pause it there (await). */
let afterChunk: (id: string, rowsDone: number) => void | Promise<void> = () => {};
const subscriptions: Subscription<Update>[] = [];

beforeAll(async () => {
  a = await startApi({ REDIS_URL: redisUrl() }, {}, { bulkImport: { chunkSize: 100, afterChunk: (id, n) => afterChunk(id, n) } });
  b = await startTestApp({ DATABASE_URL: a.dbUrl, JWT_SECRET, REDIS_URL: redisUrl() });
  // B only serves subscribers (its runner's first look for work could otherwise come late and take a job).
  await b.app.services.bulkImportRunner.stop();
  bUrl = await b.app.start();
});
afterAll(async () => {
  afterChunk = () => {};
  await Promise.allSettled(subscriptions.map((s) => s.close()));
  await b?.close();
  await a?.close();
});
beforeEach(() => {
  afterChunk = () => {};
});

const HEADER = "sku,name,description,price_cents,currency,location,on_hand";
const csv = (prefix: string, rows: number, bad: number[] = []) =>
  [
    HEADER,
    ...Array.from({ length: rows }, (_, i) =>
      bad.includes(i + 1) ? `${prefix}-${i + 1},Bad,,100,EUR,nowhere,1` : `${prefix}-${i + 1},Product ${i + 1},,100,EUR,default,${i % 7}`,
    ),
  ].join("\n") + "\n";

async function start(file: string): Promise<string> {
  const body = new FormData();
  body.append(
    "operations",
    JSON.stringify({
      query: `mutation ($file: File!) { startBulkImport(file: $file, mode: UPSERT) { ... on StartBulkImportSuccess { bulkOperation { id } } ... on Error { message } } }`,
      variables: { file: null },
    }),
  );
  body.append("map", JSON.stringify({ 0: ["variables.file"] }));
  body.append("0", new Blob([file]), "products.csv");
  const res = await a.fetch("/graphql", { method: "POST", headers: { authorization: `Bearer ${a.adminToken}` }, body });
  const json = (await res.json()) as any;
  const id = json.data?.startBulkImport?.bulkOperation?.id;
  expect(id, JSON.stringify(json)).toBeTruthy();
  return id;
}

async function operation(id: string) {
  const res = await a.gql(
    `query ($id: ID!) { bulkOperation(id: $id) { id status rowsTotal rowsDone rowsFailed finishedAt version } }`,
    { id },
    {
      authorization: `Bearer ${a.adminToken}`,
    },
  );
  return (res.data as any).bulkOperation as Update;
}

const watch = (id: string, token = a.adminToken) => {
  const sub = subscribe(bUrl, token, BULK_OPERATION_CHANGED, { id }, "bulkOperationChanged");
  subscriptions.push(sub);
  return sub;
};

async function completed(sub: Subscription<Update>) {
  await until("the subscription to complete", () => sub.completed || sub.errors.length > 0);
  expect(sub.errors).toEqual([]);
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A promise and the function that resolves it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe("bulkOperationChanged across instances", () => {
  it("sends the job at once (QUEUED), then its progress as chunks commit on the other instance, then COMPLETED, and completes", async () => {
    // One import at a time: a first job held after its chunk keeps the second QUEUED while B subscribes.
    const blocker = gate();
    let second = "";
    const seen: number[] = [];
    const subscriber: { sub?: Subscription<Update> } = {};
    // (Set before the upload: a chunk may commit before the upload's answer arrives.)
    afterChunk = async (id, rowsDone) => {
      await blocker.opened;
      // Each chunk's progress reaches the subscriber on B before the next chunk is written.
      if (encodeGlobalId("BulkOperation", id) === second) {
        await subscriber.sub!.waitFor(`rowsDone ${rowsDone}`, (e) => e.rowsDone === rowsDone);
        seen.push(rowsDone);
      }
    };
    await start(csv("FIRST", 50));
    second = await start(csv("PROG", 450, [123]));
    const sub = (subscriber.sub = watch(second));
    await sub.waitFor("the job as it is now", () => true);
    expect(sub.events[0]).toMatchObject({ id: second, status: "QUEUED", rowsTotal: 450, rowsDone: 0, finishedAt: null });
    blocker.open();

    await completed(sub);
    expect(seen).toEqual([100, 200, 300, 400, 450]);
    const statuses = sub.events.map((e) => e.status);
    expect(statuses[0]).toBe("QUEUED");
    expect(statuses).toContain("RUNNING");
    expect(statuses.at(-1)).toBe("COMPLETED");
    expect(statuses.filter((s) => s === "COMPLETED")).toHaveLength(1);
    const versions = sub.events.map((e) => e.version);
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    expect(new Set(versions).size).toBe(versions.length);
    const done = sub.events.map((e) => e.rowsDone);
    expect(done).toEqual([...done].sort((x, y) => x - y));
    // The final state is the database's: what bulkOperation(id) answers.
    expect(sub.events.at(-1)).toEqual(await operation(second));
    expect(sub.events.at(-1)).toMatchObject({ rowsTotal: 450, rowsDone: 450, rowsFailed: 1 });
  });

  it("conflates: a job of many quick chunks reaches a subscriber at most 4 times a second, the final state included", async () => {
    // 60 chunks of 100 rows, not held: without the throttle each chunk's signal would be an update.
    const big = await start(csv("BURST", 6_000));
    const sub = watch(big);
    await completed(sub);
    const at = sub.received.map((r) => r.at);
    const spanMs = at.at(-1)! - at[0]!;
    // The snapshot, then reads at least BULK_OPERATION_READ_INTERVAL_MS apart (an answer may come sooner after
    // the one before than that: one more).
    expect(sub.events.length).toBeLessThanOrEqual(3 + Math.floor(spanMs / BULK_OPERATION_READ_INTERVAL_MS));
    expect(sub.events.at(-1)).toMatchObject({ status: "COMPLETED", rowsDone: 6_000 });
    expect(sub.events.at(-1)).toEqual(await operation(big));
  });

  it("a cancelled job: CANCELLED is delivered and the subscription completes", async () => {
    const paused = gate();
    const resume = gate();
    afterChunk = async () => {
      paused.open();
      await resume.opened;
    };
    const id = await start(csv("CANCEL", 400));
    const sub = watch(id);
    await paused.opened;
    await sub.waitFor("the first chunk", (e) => e.rowsDone === 100);
    const res = await a.gql(
      `mutation ($id: ID!) { cancelBulkOperation(id: $id) { __typename } }`,
      { id },
      {
        authorization: `Bearer ${a.adminToken}`,
      },
    );
    expect(res.errors).toBeUndefined();
    await completed(sub);
    resume.open();
    expect(sub.events.at(-1)).toMatchObject({ status: "CANCELLED", rowsDone: 100 });
    expect(sub.events.at(-1)).toEqual(await operation(id));
  });
});

describe("unsubscribing", () => {
  it("a client that unsubscribes while nothing changes leaves the job's pub/sub channel at once", async () => {
    const paused = gate();
    const resume = gate();
    afterChunk = async () => {
      paused.open();
      await resume.opened;
    };
    const id = await start(csv("LEAVE", 300));
    const channel = channelName("bulkOperation", idOfType("BulkOperation", id)!);
    const raw = new Redis(redisUrl());
    try {
      const listeners = async () => Number(((await raw.pubsub("NUMSUB", channel)) as [string, number])[1]);
      const sub = watch(id);
      await paused.opened;
      await sub.waitFor("the first chunk", (e) => e.rowsDone === 100);
      expect(await listeners()).toBe(1);
      // The runner is held: no signal comes that would wake a stream waiting for its next item.
      await sub.close();
      for (let i = 0; i < 100 && (await listeners()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await listeners()).toBe(0);
    } finally {
      resume.open();
      raw.disconnect();
    }
  });

  it("a subscription that outlives its admin token ends with UNAUTHENTICATED (no stack)", async () => {
    const paused = gate();
    const resume = gate();
    afterChunk = async () => {
      paused.open();
      await resume.opened;
    };
    const id = await start(csv("EXPIRY", 300));
    try {
      const sub = watch(id, await signToken({ role: "admin" }, JWT_SECRET, "2s"));
      await paused.opened;
      await sub.waitFor("the job", () => true);
      const error = await sub.waitForError();
      expect(error).toMatchObject([
        { message: "Your token expired: subscribe again with a fresh one", extensions: { code: "UNAUTHENTICATED" } },
      ]);
      expect(JSON.stringify(error)).not.toMatch(/stack|at .*\.ts/);
    } finally {
      resume.open();
    }
  });
});

describe("who may subscribe", () => {
  let id = "";
  beforeAll(async () => {
    id = await start(csv("WHO", 5));
  });

  it("a customer is refused with FORBIDDEN, no data and no stack", async () => {
    const customer = await a.createCustomer();
    const sub = watch(id, customer.token);
    const error = await sub.waitForError();
    expect(error).toMatchObject({ message: "Only admins can do this", extensions: { code: "FORBIDDEN" } });
    expect(JSON.stringify(error)).not.toMatch(/stack|at .*\.ts/);
    expect(sub.events).toEqual([]);
  });

  it("an unknown job is NOT_FOUND; a malformed ID is BAD_USER_INPUT", async () => {
    const unknown = watch(encodeGlobalId("BulkOperation", randomUUID()));
    expect(await unknown.waitForError()).toMatchObject({ extensions: { code: "NOT_FOUND" } });
    const malformed = watch("not-an-id");
    expect(await malformed.waitForError()).toMatchObject({ extensions: { code: "BAD_USER_INPUT" } });
  });

  it("a finished job: its final state, then the subscription completes", async () => {
    let final: Update | null = null;
    for (let i = 0; i < 400 && final?.status !== "COMPLETED"; i++) {
      final = await operation(id);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(final?.status).toBe("COMPLETED");
    const sub = watch(id);
    await completed(sub);
    expect(sub.events).toEqual([final]);
  });
});
