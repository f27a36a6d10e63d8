// Request ids, the debug request line and the metrics token, against the real
// app in process (its own PostgreSQL database), with its log captured.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { JWT_SECRET, shop as shopOver, type Shop } from "../support/shop.js";
import { bearer } from "../support/client.js";
import { createLog } from "../../src/observability/log.js";
import { parseMetrics } from "../support/metrics.js";

const METRICS_TOKEN = "metrics-token-0123456789";
let database: TestDatabase;
let t: TestApp;
let shop: Shop;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const log = createLog({ logLevel: "debug", env: "production" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  t = await startTestApp({ DATABASE_URL: database.url, JWT_SECRET, LOG_LEVEL: "debug", METRICS_TOKEN }, {}, { log });
  shop = await shopOver(t.gql);
});
afterAll(async () => {
  await t?.close();
  await database?.drop();
});

const probe = (headers: Record<string, string> = {}) =>
  t.fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query: "query Probe { __typename }", operationName: "Probe" }),
  });

describe("request ids", () => {
  it("returns the X-Request-Id the client sent", async () => {
    const res = await probe({ "x-request-id": "client-abc-123" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("client-abc-123");
  });

  it("generates one when none was sent, and replaces one that could forge a log line", async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect((await probe()).headers.get("x-request-id")).toMatch(uuid);
    expect((await probe({ "x-request-id": 'x" level=error msg="forged' })).headers.get("x-request-id")).toMatch(uuid);
    expect((await probe({ "x-request-id": "x".repeat(129) })).headers.get("x-request-id")).toMatch(uuid);
  });

  it("logs one JSON line per request at debug: operation, viewer kind, status, duration and the request id", async () => {
    const res = await probe({ "x-request-id": "line-check-1", ...bearer(shop.adminToken) });
    expect(res.status).toBe(200);
    const mine = lines.filter((l) => l.requestId === "line-check-1");
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      level: 20,
      msg: "request",
      method: "POST",
      path: "/graphql",
      status: 200,
      operation: "Probe",
      viewer: "admin",
      service: "stockwire",
    });
    expect(typeof mine[0]!.durationMs).toBe("number");
  });

  it("does not log the monitoring probes (but still answers them with a request id)", async () => {
    const res = await t.fetch("/health", { headers: { "x-request-id": "probe-check-1" } });
    expect(res.headers.get("x-request-id")).toBe("probe-check-1");
    expect(lines.filter((l) => l.requestId === "probe-check-1")).toHaveLength(0);
  });
});

describe("metrics token", () => {
  it("answers /metrics only with METRICS_TOKEN as a bearer token", async () => {
    expect((await t.fetch("/metrics")).status).toBe(401);
    expect((await t.fetch("/metrics", { headers: bearer("wrong-token-0123456789") })).status).toBe(401);
    const res = await t.fetch("/metrics", { headers: bearer(METRICS_TOKEN) });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^# TYPE stockwire_orders_total counter$/m);
  });
});

describe("stockwire_rate_limited_total", () => {
  it("counts a request the cost limit refused", async () => {
    const small = await startTestApp({
      DATABASE_URL: database.url,
      JWT_SECRET,
      RATE_LIMIT_ANONYMOUS_BUCKET: "5",
      RATE_LIMIT_ANONYMOUS_RESTORE: "1",
    });
    try {
      const limited = async () =>
        parseMetrics(await (await small.fetch("/metrics")).text()).value("stockwire_rate_limited_total", { limit: "cost" });
      const before = await limited();
      const res = await small.fetch("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ products(first: 100) { edges { node { id name } } } }" }),
      });
      expect(res.status).toBe(429);
      expect((await limited()) - before).toBe(1);
    } finally {
      await small.close();
    }
  });
});
