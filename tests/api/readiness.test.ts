// GET /ready is public: with a backend down it names the component and how
// long it has been failing, never the driver's message (hosts, ports, client
// libraries); the cause goes to the log, once per outage.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { createLog } from "../../src/observability/log.js";

const lines: { level: number; msg: string }[] = [];
let api: Api;
beforeAll(async () => {
  const log = createLog(
    { logLevel: "info", env: "production" },
    { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) },
  );
  api = await startApi({ LOG_LEVEL: "info" }, {}, { log });
});
afterAll(async () => {
  // Its pool is closed already; close() may complain about it.
  await api?.close().catch(() => {});
});

const ready = async () => {
  const res = await api.fetch("/ready");
  return { http: res.status, text: await res.text() };
};

it("names the failing component and since when; the cause is logged once, not answered", async () => {
  expect(JSON.parse((await ready()).text)).toMatchObject({ status: "ready", failing: [], components: { database: { ok: true } } });
  await api.db.close();
  const first = await ready();
  expect(first.http).toBe(503);
  const body = JSON.parse(first.text);
  expect(body).toMatchObject({
    status: "unavailable",
    failing: ["database"],
    components: { database: { ok: false, failingSince: expect.any(String), failingForSeconds: expect.any(Number) }, pubsub: { ok: true } },
  });
  expect(Date.now() - Date.parse(body.components.database.failingSince)).toBeLessThan(60_000);
  // Only our own words: no driver or pool message, no error field.
  expect(first.text).not.toMatch(/pool|Cannot|prisma|invocation|ECONN|127\.0\.0\.1|"error"/i);

  const second = JSON.parse((await ready()).text);
  expect(second.components.database.failingSince).toBe(body.components.database.failingSince);
  const logged = lines.filter((l) => l.msg?.startsWith("readiness: database failing"));
  expect(logged, JSON.stringify(lines)).toHaveLength(1);
  expect(logged[0]!.level).toBe(40);
  expect(logged[0]!.msg).toMatch(/pool/i); // the cause, for the operator
});
