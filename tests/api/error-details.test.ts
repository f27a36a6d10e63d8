// Finding 4 of issue 11: no error detail beyond message and code reaches a
// client, and the request limits (depth, aliases, directives, tokens) refuse one
// operation with a code, over HTTP and over graphql-ws alike (the socket stays open).
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REQUEST_LIMITS } from "../../src/app.js";
import { startApi, type Api } from "../support/api.js";
import { withoutCost } from "../support/client.js";

let api: Api;
let wsUrl: string;
beforeAll(async () => {
  api = await startApi();
  wsUrl = `${(await api.app.start()).replace(/^http/, "ws")}/graphql`;
});
afterAll(async () => {
  await api?.close();
});

const aliases = (n: number, field = "__typename") => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(" ")} }`;
const deep = (depth: number) => {
  // customers > edges > node > orders > edges > node > customer > orders ... (first: 1 keeps the cost low)
  const cycle = ["orders(first: 1)", "edges", "node", "customer"];
  const path = ["customers(first: 1)", "edges", "node"];
  while (path.length < depth - 1) path.push(cycle[(path.length - 3) % 4]!);
  return `{ ${path.reduceRight((inner, field) => `${field} { ${inner} }`, "id")} }`;
};
const directives = (n: number) => `{ ${Array.from({ length: n }, () => "__typename @include(if: true)").join(" ")} }`;
const tokens = (n: number) => `{ ${Array.from({ length: n }, () => "__typename").join(" ")} }`;

const limits: [string, string, string][] = [
  ["depth", deep(REQUEST_LIMITS.maxDepth + 3), "QUERY_TOO_DEEP"], // + 3: a valid query otherwise (ends on a node)
  ["aliases", aliases(REQUEST_LIMITS.maxAliases + 1, "products(first: 1) { pageInfo { hasNextPage } }"), "TOO_MANY_ALIASES"],
  ["__typename aliases", aliases(REQUEST_LIMITS.maxAliases + 1), "TOO_MANY_ALIASES"],
  ["directives", directives(REQUEST_LIMITS.maxDirectives + 1), "TOO_MANY_DIRECTIVES"],
  ["tokens", tokens(REQUEST_LIMITS.maxTokens + 10), "GRAPHQL_PARSE_FAILED"],
];

describe("over HTTP", () => {
  it("invalid JSON: a 400 with a message and a code, nothing of the body or the parser's error", async () => {
    const res = await api.fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
      body: '{"query": "{ __typename }", "secret-marker": ',
    });
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(withoutCost(JSON.parse(text))).toEqual({
      errors: [{ message: "POST body sent invalid JSON.", extensions: { code: "BAD_REQUEST" } }],
    });
    expect(text).not.toMatch(/secret-marker|originalError|SyntaxError/);
  });

  it.each(limits)("a %s limit refusal carries its code", async (_what, query, code) => {
    const r = await api.gql(query, {}, api.bearer(api.adminToken));
    expect(r.data ?? null).toBeNull();
    expect(r.errors?.map((e) => e.extensions?.code)).toEqual([code]);
  });

  it("a variable that cannot be coerced is BAD_USER_INPUT", async () => {
    const r = await api.gql(`query($n: Int) { products(first: $n) { pageInfo { hasNextPage } } }`, { n: "ten" });
    expect(r.errors?.map((e) => e.extensions?.code)).toEqual(["BAD_USER_INPUT"]);
  });

  it("statuses follow GraphQL over HTTP for both media types: 200 under application/json, 400 under graphql-response+json", async () => {
    const bodies = {
      "invalid JSON": '{ "query": ',
      "a variable that does not coerce": JSON.stringify({
        query: "query($n: Int) { products(first: $n) { totalCount } }",
        variables: { n: "x" },
      }),
    };
    const statuses: Record<string, number> = {};
    for (const accept of ["application/json", "application/graphql-response+json"]) {
      for (const [what, body] of Object.entries(bodies)) {
        const res = await api.fetch("/graphql", { method: "POST", headers: { "content-type": "application/json", accept }, body });
        const json = await res.json();
        expect(json.data ?? null, what).toBeNull();
        expect(json.errors?.length, what).toBe(1);
        statuses[`${accept}: ${what}`] = res.status;
      }
    }
    expect(statuses).toEqual({
      "application/json: invalid JSON": 200,
      "application/json: a variable that does not coerce": 200,
      "application/graphql-response+json: invalid JSON": 400,
      "application/graphql-response+json: a variable that does not coerce": 400,
    });
  });

  it(`${REQUEST_LIMITS.maxAliases} __typename aliases are still fine`, async () => {
    const r = await api.gql(aliases(REQUEST_LIMITS.maxAliases));
    expect(r.errors).toBeUndefined();
  });
});

describe("over graphql-ws", () => {
  /** One connection; `send` runs an operation and resolves with its messages up to complete or error. */
  async function connect() {
    const socket = new WebSocket(wsUrl, "graphql-transport-ws");
    const messages: any[] = [];
    let closed: number | undefined;
    socket.on("message", (data) => messages.push(JSON.parse(String(data))));
    socket.on("close", (code) => (closed = code));
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    socket.send(JSON.stringify({ type: "connection_init", payload: {} }));
    await until(() => messages.some((m) => m.type === "connection_ack"));
    let next = 0;
    return {
      closed: () => closed,
      async send(query: string) {
        const id = String(++next);
        socket.send(JSON.stringify({ id, type: "subscribe", payload: { query } }));
        await until(() => closed !== undefined || messages.some((m) => m.id === id && (m.type === "complete" || m.type === "error")));
        return messages.filter((m) => m.id === id);
      },
      close: () => socket.close(),
    };
  }
  async function until(check: () => boolean) {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
    if (!check()) throw new Error("timed out");
  }

  it.each(limits)("a %s limit refusal is that operation's error with its code; the socket stays open", async (_what, query, code) => {
    const conn = await connect();
    try {
      const refused = await conn.send(query);
      expect(conn.closed()).toBeUndefined();
      expect(refused).toHaveLength(1);
      expect(refused[0].type).toBe("error");
      expect(refused[0].payload.map((e: any) => e.extensions?.code)).toEqual([code]);
      // The same connection still serves the next operation.
      const ok = await conn.send("{ __typename }");
      expect(ok.map((m) => m.type)).toEqual(["next", "complete"]);
      expect(withoutCost(ok[0].payload)).toEqual({ data: { __typename: "Query" } });
    } finally {
      conn.close();
    }
  });

  it("a NUL byte in a subscription's argument is BAD_USER_INPUT for that subscription (finding 2)", async () => {
    const conn = await connect();
    try {
      const refused = await conn.send(`subscription { stockChanged(productIds: ["a\\u0000"]) { stock } }`);
      expect(conn.closed()).toBeUndefined();
      // graphql-ws answers a subscription that fails to start with one result carrying the errors, then complete.
      expect(refused.map((m) => m.type)).toEqual(["next", "complete"]);
      expect(refused[0].payload.data ?? null).toBeNull();
      expect(refused[0].payload.errors[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "productIds[0]" });
    } finally {
      conn.close();
    }
  });

  it("an unknown field is a validation error with a code", async () => {
    const conn = await connect();
    try {
      const refused = await conn.send("{ nope }");
      expect(refused[0].type).toBe("error");
      expect(refused[0].payload[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    } finally {
      conn.close();
    }
  });
});
