// Malformed requests that used to be HTTP 500 with an error-level stack trace
// in the log: `variables` or `extensions` that is not JSON in a GET (or form)
// request, and a document nested deeper than graphql-js' parser can recurse.
// Each is a 400 with a code and at most one debug line.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { createLog } from "../../src/observability/log.js";

const lines: { level: number; text: string }[] = [];
afterEach(() => void lines.splice(0));

let api: Api;
beforeAll(async () => {
  const log = createLog(
    { logLevel: "debug", env: "production" },
    {
      write: (s: string) => {
        const l = JSON.parse(s) as { level: number; msg?: string; err?: { stack?: string } };
        lines.push({ level: l.level, text: [l.msg ?? "", l.err?.stack].filter(Boolean).join("\n") });
      },
    },
  );
  api = await startApi({ LOG_LEVEL: "debug" }, {}, { log });
});
afterAll(async () => {
  await api?.close();
});

const nestedList = (depth: number) => `{ product(sku: ${"[".repeat(depth)}${"]".repeat(depth)}) { id } }`;
const form = (body: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/graphql-response+json" },
  body: new URLSearchParams(body).toString(),
});
const json = { accept: "application/graphql-response+json" };

describe("malformed requests are 400 with a clear message and one quiet log line", () => {
  it.each<[string, string, RequestInit, string, RegExp]>([
    [
      "GET variables",
      "/graphql?query={__typename}&variables={bad",
      { headers: json },
      "BAD_REQUEST",
      /"variables" parameter is not valid JSON/,
    ],
    [
      "GET extensions",
      "/graphql?query={__typename}&extensions={bad",
      { headers: json },
      "BAD_REQUEST",
      /"extensions" parameter is not valid JSON/,
    ],
    ["form variables", "/graphql", form({ query: "{__typename}", variables: "{bad" }), "BAD_REQUEST", /"variables" parameter/],
    [
      "a list literal 3,000 deep (POST)",
      "/graphql",
      { method: "POST", headers: { ...json, "content-type": "application/json" }, body: JSON.stringify({ query: nestedList(3000) }) },
      "GRAPHQL_PARSE_FAILED",
      /nested too deeply/,
    ],
    [
      "a list literal 3,000 deep (GET)",
      `/graphql?query=${encodeURIComponent(nestedList(3000))}`,
      { headers: json },
      "GRAPHQL_PARSE_FAILED",
      /nested too deeply/,
    ],
  ])("%s", async (_what, path, init, code, message) => {
    const res = await api.fetch(path, init);
    const text = await res.text();
    expect(res.status, text).toBe(400);
    const body = JSON.parse(text) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]!.message).toMatch(message);
    expect(body.errors[0]!.extensions.code).toBe(code);
    expect(text).not.toMatch(/stack|\.js:\d+|SyntaxError|RangeError/);
    // Nothing above debug, no stack, at most one line about the error.
    expect(
      lines.filter((l) => l.level > 20),
      JSON.stringify(lines),
    ).toEqual([]);
    expect(lines.filter((l) => l.text.includes("client error")).length).toBeLessThanOrEqual(1);
    for (const l of lines) expect(l.text).not.toMatch(/\n|\bat .*\(/);
  });

  it("valid JSON parameters and ordinary nesting still work", async () => {
    const ok = await api.fetch(
      `/graphql?query=${encodeURIComponent("query($n: Int) { products(first: $n) { edges { node { id } } } }")}&variables={"n":1}`,
      {
        headers: json,
      },
    );
    expect(ok.status).toBe(200);
    const shallow = await api.fetch(`/graphql?query=${encodeURIComponent(nestedList(3))}`, { headers: json });
    expect(((await shallow.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      "GRAPHQL_VALIDATION_FAILED",
    );
  });
});
