// The provisioned Grafana dashboard and the Prometheus alert rules query only
// metrics the server really exports: every name in every panel's and rule's
// PromQL is in a running app's GET /metrics (histograms as _bucket, _sum and
// _count). A renamed metric fails here, not on an operator's empty panel.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { JWT_SECRET } from "../support/shop.js";
import { parseMetrics } from "../support/metrics.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dashboard = JSON.parse(readFileSync(path.join(root, "ops/grafana/dashboards/stockwire.json"), "utf8")) as {
  panels: { title: string; targets?: { expr: string }[] }[];
};
const rules = parse(readFileSync(path.join(root, "ops/prometheus/alerts.yml"), "utf8")) as {
  groups: { rules: { alert: string; expr: string }[] }[];
};

/** Metric names in a PromQL expression: ours, Yoga's and prom-client's defaults (functions and labels never start so). */
const metricNames = (expr: string) => [...expr.matchAll(/\b(?:stockwire|graphql|nodejs|process)_\w+/g)].map((m) => m[0]);

let database: TestDatabase;
let t: TestApp;
let exported: Set<string>;

beforeAll(async () => {
  database = await createTestDatabase();
  t = await startTestApp({ DATABASE_URL: database.url, JWT_SECRET });
  const { types } = parseMetrics(await (await t.fetch("/metrics")).text());
  exported = new Set(
    [...types].flatMap(([name, type]) =>
      type === "histogram"
        ? [`${name}_bucket`, `${name}_sum`, `${name}_count`]
        : type === "summary"
          ? [name, `${name}_sum`, `${name}_count`]
          : [name],
    ),
  );
});
afterAll(async () => {
  await t?.close();
  await database?.drop();
});

describe("dashboard and alert rules", () => {
  it("every dashboard panel queries metrics the server exports", () => {
    expect(dashboard.panels.length).toBeGreaterThan(0);
    for (const panel of dashboard.panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const { expr } of panel.targets!) {
        const names = metricNames(expr);
        expect(names.length, `${panel.title}: ${expr} names no metric`).toBeGreaterThan(0);
        for (const name of names) expect(exported.has(name), `${panel.title}: ${name} is not exported`).toBe(true);
      }
    }
  });

  it("shows what the issue asks to watch", () => {
    const queried = new Set(dashboard.panels.flatMap((p) => p.targets!.flatMap((t) => metricNames(t.expr))));
    for (const name of [
      "stockwire_orders_total",
      "stockwire_order_duration_seconds_bucket",
      "stockwire_outbox_pending",
      "stockwire_outbox_oldest_age_seconds",
      "stockwire_bridge_consumer_lag",
      "stockwire_live_delivery_latency_seconds_bucket",
      "stockwire_ws_connections",
      "stockwire_subscriptions_active",
      "stockwire_rate_limited_total",
      "stockwire_response_cache_hits_total",
      "stockwire_response_cache_misses_total",
    ])
      expect(queried.has(name), name).toBe(true);
  });

  it("every alert rule queries exported metrics, and outbox age and consumer lag are alerted on", () => {
    const all = rules.groups.flatMap((g) => g.rules);
    for (const rule of all) {
      for (const name of metricNames(rule.expr)) expect(exported.has(name), `${rule.alert}: ${name}`).toBe(true);
    }
    const alerted = new Set(all.flatMap((r) => metricNames(r.expr)));
    expect(alerted.has("stockwire_outbox_oldest_age_seconds")).toBe(true);
    expect(alerted.has("stockwire_bridge_consumer_lag")).toBe(true);
  });
});
