// graphql-ws connections per client address are capped by default
// (DEFAULT_MAX_CONNECTIONS_PER_ADDRESS), sparing loopback addresses (benches,
// a proxy on the same host without TRUST_PROXY); a cap set explicitly with
// LIVE_MAX_CONNECTIONS_PER_ADDRESS applies to every address.
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DEFAULT_MAX_CONNECTIONS_PER_ADDRESS } from "../../src/config/config.js";
import { startApi, type Api } from "../support/api.js";

const apis: Api[] = [];
const sockets: WebSocket[] = [];
afterAll(async () => {
  for (const s of sockets) s.terminate();
  for (const api of apis) await api.close();
});

async function serve(env: Record<string, string>) {
  const api = await startApi(env);
  apis.push(api);
  return (await api.app.start()).replace(/^http/, "ws") + "/graphql";
}

/** Opens a graphql-ws connection: "ack" once the server accepted it, or the close code it was refused with. */
function connect(url: string, headers: Record<string, string> = {}): Promise<"ack" | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, "graphql-transport-ws", { headers });
    sockets.push(socket);
    socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init" })));
    socket.on("message", (m) => JSON.parse(String(m)).type === "connection_ack" && resolve("ack"));
    socket.on("close", (code) => resolve(code));
    socket.on("error", reject);
  });
}

const open = (url: string, n: number, headers?: Record<string, string>) =>
  Promise.all(Array.from({ length: n }, () => connect(url, headers)));

describe("WebSocket connections per address", () => {
  it(`by default, ${DEFAULT_MAX_CONNECTIONS_PER_ADDRESS} per client address; loopback is spared`, async () => {
    const url = await serve({ TRUST_PROXY: "1" });
    const remote = { "x-forwarded-for": "203.0.113.9" };
    expect(new Set(await open(url, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, remote))).toEqual(new Set(["ack"]));
    expect(await connect(url, remote)).toBe(4403);
    // Another address has its own count; this machine's own connections are not capped.
    expect(await connect(url, { "x-forwarded-for": "203.0.113.10" })).toBe("ack");
    expect(new Set(await open(url, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS + 5))).toEqual(new Set(["ack"]));
  });

  it("LIVE_MAX_CONNECTIONS_PER_ADDRESS set explicitly applies to loopback too; 0 is no cap", async () => {
    const capped = await serve({ LIVE_MAX_CONNECTIONS_PER_ADDRESS: "3" });
    expect(await open(capped, 3)).toEqual(["ack", "ack", "ack"]);
    expect(await connect(capped)).toBe(4403);
    const uncapped = await serve({ LIVE_MAX_CONNECTIONS_PER_ADDRESS: "0", TRUST_PROXY: "1" });
    const remote = { "x-forwarded-for": "203.0.113.9" };
    expect(new Set(await open(uncapped, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS + 5, remote))).toEqual(new Set(["ack"]));
  });
});
