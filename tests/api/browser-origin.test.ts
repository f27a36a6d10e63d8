// Finding 1 of issue 11: what a web page on another origin may get from the API.
// CORS headers only for CORS_ORIGINS; /demo/session only for this machine's own
// browser (loopback client, loopback Host, same origin); demo mode listens on
// loopback unless HOST is set.
import { request as httpRequest } from "node:http";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { startApi, type Api } from "../support/api.js";

/** A GET over a real socket with any headers (fetch will not send a foreign Host). */
function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** This machine's first non-loopback IPv4 address, if it has one. */
const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === "IPv4" && !i.internal)?.address;

describe("config: HOST and CORS_ORIGINS", () => {
  const secret = { JWT_SECRET: "x".repeat(40) };
  it("demo mode listens on loopback unless HOST is set; without demo mode on every interface", () => {
    expect(loadConfig({}).host).toBe("127.0.0.1");
    expect(loadConfig({ ...secret, STOCKWIRE_DEMO: "on", HOST: "0.0.0.0" }).host).toBe("0.0.0.0");
    expect(loadConfig(secret).host).toBe("0.0.0.0");
    expect(loadConfig({ ...secret, STOCKWIRE_DEMO: "on" }).host).toBe("127.0.0.1");
  });

  it("CORS_ORIGINS is a list of origins, empty by default", () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: "https://shop.example.com, http://localhost:5173" }).corsOrigins).toEqual([
      "https://shop.example.com",
      "http://localhost:5173",
    ]);
    expect(() => loadConfig({ CORS_ORIGINS: "shop.example.com" })).toThrow(/^invalid CORS_ORIGINS: /);
    expect(() => loadConfig({ CORS_ORIGINS: "https://shop.example.com/path" })).toThrow(/^invalid CORS_ORIGINS: /);
  });
});

describe("CORS", () => {
  let api: Api;
  let allowing: Api;
  beforeAll(async () => {
    [api, allowing] = await Promise.all([startApi(), startApi({ CORS_ORIGINS: "https://shop.example.com" })]);
  });
  afterAll(async () => {
    await Promise.all([api?.close(), allowing?.close()]);
  });

  const post = (target: Api, origin: string) =>
    target.fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
  const preflight = (target: Api, origin: string) =>
    target.fetch("/graphql", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });

  it("by default answers no other origin with CORS headers (a browser keeps the answer from the page)", async () => {
    for (const res of [await post(api, "https://evil.example"), await preflight(api, "https://evil.example")]) {
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    }
  });

  it("answers an origin in CORS_ORIGINS, without credentials, and no other", async () => {
    const ok = await preflight(allowing, "https://shop.example.com");
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://shop.example.com");
    expect(ok.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    expect(ok.headers.get("access-control-allow-credentials")).toBeNull();
    expect((await post(allowing, "https://shop.example.com")).headers.get("access-control-allow-origin")).toBe("https://shop.example.com");
    const other = await post(allowing, "https://evil.example");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("GET /demo/session answers only this machine's own browser", () => {
  let api: Api;
  let port: number;
  beforeAll(async () => {
    // On every interface, to show that the route itself refuses other clients.
    api = await startApi({ STOCKWIRE_DEMO: "on", HOST: "0.0.0.0" });
    port = Number(new URL(await api.app.start()).port);
  });
  afterAll(async () => {
    await api?.close();
  });

  const session = (headers: Record<string, string> = {}, host = "127.0.0.1") => get(`http://${host}:${port}/demo/session`, headers);

  it("gives tokens to a same-origin request from loopback (as the storefront sends it)", async () => {
    const cases: Record<string, string>[] = [
      {},
      { "sec-fetch-site": "same-origin" },
      { host: `localhost:${port}`, origin: `http://localhost:${port}` },
    ];
    for (const headers of cases) {
      const r = await session(headers);
      expect(r.status, JSON.stringify(headers)).toBe(200);
      expect(JSON.parse(r.body).admin.token).toEqual(expect.any(String));
    }
  });

  it.each([
    ["a cross-origin page", { origin: "https://evil.example" }],
    ["a cross-site fetch", { "sec-fetch-site": "cross-site" }],
    ["a same-site fetch from another port", { "sec-fetch-site": "same-site" }],
    ["a DNS-rebound name", { host: "evil.example" }],
  ])("refuses %s with 403 and no token", async (_what, headers) => {
    const r = await session(headers);
    expect(r.status).toBe(403);
    expect(r.body).not.toMatch(/token/);
    expect(JSON.parse(r.body).errors[0].extensions.code).toBe("FORBIDDEN");
    expect(r.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it.skipIf(!lanAddress)("refuses a client that is not on loopback", async () => {
    const r = await session({}, lanAddress);
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/not on loopback/);
    expect(r.body).not.toMatch(/token/);
  });
});
