// Finding 3 of issue 11: errors a client causes (no or wrong credentials, bad
// input, refused queries) are one debug line without a stack, so nobody can
// flood the log; server failures are still logged as errors with their cause.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { createLog } from "../../src/observability/log.js";

type Level = "debug" | "info" | "warn" | "error";
const LEVELS: Record<number, Level> = { 20: "debug", 30: "info", 40: "warn", 50: "error" };
const lines: { level: Level; text: string }[] = [];
// The app's own log (pino, JSON lines), captured: each line's level, message and error stack if any.
const captured = (level: "debug" | "info") =>
  createLog(
    { logLevel: level, env: "production" },
    {
      write: (s: string) => {
        const l = JSON.parse(s) as { level: number; msg?: string; err?: { stack?: string } };
        lines.push({ level: LEVELS[l.level] ?? "error", text: [l.msg ?? "", l.err?.stack].filter(Boolean).join("\n") });
      },
    },
  );
afterEach(() => void lines.splice(0));

let api: Api;
let customerToken: string;
beforeAll(async () => {
  api = await startApi({ LOG_LEVEL: "debug" }, {}, { log: captured("debug") });
  customerToken = (await api.createCustomer()).token;
});
afterAll(async () => {
  await api?.close();
});

const post = (body: string, headers: Record<string, string> = {}) =>
  api.fetch("/graphql", { method: "POST", headers: { "content-type": "application/json", ...headers }, body }).then((r) => r.text());
const query = (q: string, headers: Record<string, string> = {}) => post(JSON.stringify({ query: q }), headers);

describe("client errors", () => {
  it.each<[string, () => Promise<unknown>, string]>([
    ["anonymous { me { id } }", () => query("{ me { id } }"), "UNAUTHENTICATED"],
    ["a customer asking for all customers", () => query("{ customers { edges { node { id } } } }", api.bearer(customerToken)), "FORBIDDEN"],
    ["a bad token", () => query("{ __typename }", { authorization: "Bearer nope" }), "UNAUTHENTICATED"],
    ["a NUL byte", () => query(`{ product(sku: "a\\u0000") { id } }`), "BAD_USER_INPUT"],
    ["a malformed ID", () => query(`{ order(id: "zzz") { id } }`, api.bearer(customerToken)), "BAD_USER_INPUT"],
    ["invalid JSON", () => post("{ nope"), "BAD_REQUEST"],
    ["a parse error", () => query("{ products {"), "GRAPHQL_PARSE_FAILED"],
    ["an unknown field", () => query("{ nope }"), "GRAPHQL_VALIDATION_FAILED"],
    ["too many aliases", () => query(`{ ${Array.from({ length: 30 }, (_, i) => `a${i}: __typename`).join(" ")} }`), "TOO_MANY_ALIASES"],
  ])("%s: at most one debug line, no stack, nothing at warn or error", async (_what, send, code) => {
    await send();
    const loud = lines.filter((l) => l.level !== "debug");
    expect(loud, JSON.stringify(loud)).toEqual([]);
    // Yoga's own debug lines aside (request parsing etc.), at most one about this error.
    const about = lines.filter((l) => l.text.includes("client error"));
    expect(about.length, JSON.stringify(lines)).toBeLessThanOrEqual(1);
    if (about.length) expect(about[0]!.text).toContain(code);
    for (const l of lines) {
      expect(l.text).not.toMatch(/\n/);
      expect(l.text).not.toMatch(/\bat .*\(|node_modules|\.ts:\d+/);
    }
  });

  it("an anonymous { me { id } } is one short debug line naming the code", async () => {
    await query("{ me { id } }");
    const about = lines.filter((l) => l.text.includes("client error"));
    expect(about).toHaveLength(1);
    expect(about[0]!.level).toBe("debug");
    expect(about[0]!.text).toMatch(/client error UNAUTHENTICATED: Sign in to do this.* \(at me\)$/);
    expect(about[0]!.text.length).toBeLessThan(300);
  });
});

describe("server failures", () => {
  it("are still logged at error level with their cause", async () => {
    const broken = await startApi({ LOG_LEVEL: "info" }, {}, { log: captured("info") });
    try {
      await broken.db.close().catch(() => {});
      lines.splice(0);
      const body = await broken.fetch("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ products(first: 1) { edges { node { id } } } }" }),
      });
      expect(await body.text()).toMatch(/Unexpected error\./);
      expect(lines.some((l) => l.level === "error")).toBe(true);
    } finally {
      await broken.close().catch(() => {});
    }
  });
});
