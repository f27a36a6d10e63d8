// The socket floor: the least a server can do to deliver live stock, run as
// its own process like the API. A bare `ws` server speaking just enough
// graphql-ws (graphql-transport-ws) for the bench's real graphql-ws clients:
// connection_init -> connection_ack, ping -> pong, subscribe -> a CURRENT
// snapshot per product, then per event one `next` frame per subscriber. It
// takes the same events as the API, from the same Redis channels; each
// event's payload is serialized once and every subscriber's frame is that
// payload behind the subscriber's pre-serialized `{"id":..,"type":"next","payload":`
// prefix. No GraphQL, no per-subscriber iterator: what is left is framing and
// socket writes, which any server pays.
//
// With maxUpdatesPerSecond (the flash sale), it conflates as the API is meant
// to: every 1000/max ms each subscriber gets the newest state of a product
// that changed, unless its socket still has more than 64 KiB queued.
//
//   run by bench/lib/node-process.ts (bundled with esbuild, as the API is built): <config.json>
import { readFileSync } from "node:fs";
import http from "node:http";
import { Redis } from "ioredis";
import { WebSocketServer, type WebSocket } from "ws";
import { channelName } from "../../src/realtime/pubsub.js";
import type { StockChangedEvent } from "../../src/events/stock-changed.event.js";

export interface SocketFloorConfig {
  redisUrl: string;
  /** Current state of every product, index = product number. */
  products: { gid: string; sku: string; stock: number; version: number }[];
  maxUpdatesPerSecond?: number;
}

interface Subscription {
  ws: WebSocket;
  id: string;
  prefix: string;
  products: number[];
  /** Per watched product (same order): the version last sent. */
  sent: number[];
}

const MAX_QUEUED = 64 * 1024;

const config = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as SocketFloorConfig;
const index = new Map(config.products.map((p, i) => [p.gid, i]));
const state = config.products.map((p) => ({ ...p, data: "" }));
const watchers: Set<Subscription>[] = config.products.map(() => new Set());

/** `{"data":{"stockChanged":...}}` with the fields the bench's subscription selects. */
function payload(
  p: number,
  e: { stock: number; version: number; delta: number; reason: string; orderId: string | null; occurredAt: string },
): string {
  const s = state[p]!;
  return JSON.stringify({
    data: {
      stockChanged: {
        product: { id: s.gid, sku: s.sku, stock: e.stock, version: e.version },
        stock: e.stock,
        version: e.version,
        delta: e.delta,
        reason: e.reason,
        orderId: e.orderId,
        occurredAt: e.occurredAt,
      },
    },
  });
}

function send(ws: WebSocket, frame: string) {
  if (ws.readyState === ws.OPEN) ws.send(frame);
}

function subscribe(ws: WebSocket, id: string, ids: unknown): Subscription | undefined {
  const products = Array.isArray(ids) ? ids.map((gid) => index.get(String(gid))) : [];
  if (!products.length || products.some((p) => p === undefined)) {
    send(ws, JSON.stringify({ id, type: "error", payload: [{ message: "unknown product" }] }));
    return undefined;
  }
  const sub: Subscription = {
    ws,
    id,
    prefix: `{"id":${JSON.stringify(id)},"type":"next","payload":`,
    products: products as number[],
    sent: [],
  };
  const now = new Date().toISOString();
  for (const p of sub.products) {
    const s = state[p]!;
    send(
      ws,
      `${sub.prefix}${payload(p, { stock: s.stock, version: s.version, delta: 0, reason: "CURRENT", orderId: null, occurredAt: now })}}`,
    );
    sub.sent.push(s.version);
    watchers[p]!.add(sub);
  }
  return sub;
}

const server = http.createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({
  server,
  path: "/graphql",
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has("graphql-transport-ws") ? "graphql-transport-ws" : false),
});
wss.on("connection", (ws) => {
  const subs = new Map<string, Subscription>();
  const drop = (sub: Subscription) => {
    for (const p of sub.products) watchers[p]!.delete(sub);
  };
  ws.on("message", (data) => {
    let msg: { type?: string; id?: string; payload?: { variables?: { ids?: unknown } } };
    try {
      msg = JSON.parse(String(data));
    } catch {
      return ws.close(4400, "invalid message");
    }
    switch (msg.type) {
      case "connection_init":
        return send(ws, '{"type":"connection_ack"}');
      case "ping":
        return send(ws, '{"type":"pong"}');
      case "subscribe": {
        const sub = subscribe(ws, String(msg.id), msg.payload?.variables?.ids);
        if (sub) subs.set(sub.id, sub);
        return;
      }
      case "complete": {
        const sub = subs.get(String(msg.id));
        if (sub) drop(sub);
        subs.delete(String(msg.id));
        return;
      }
    }
  });
  ws.on("close", () => {
    for (const sub of subs.values()) drop(sub);
    subs.clear();
  });
  ws.on("error", () => {});
});

const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
redis.on("error", (err) => console.error(`socket-floor: redis: ${err.message}`));
redis.on("pmessage", (_pattern: string, _channel: string, message: string) => {
  let e: StockChangedEvent;
  try {
    e = JSON.parse(message) as StockChangedEvent;
  } catch {
    return;
  }
  const p = index.get(e.productId);
  if (p === undefined) return;
  const s = state[p]!;
  if (e.version <= s.version) return;
  s.version = e.version;
  s.stock = e.stock;
  s.data = payload(p, e);
  if (config.maxUpdatesPerSecond) return; // sent by the conflation tick
  for (const sub of watchers[p]!) send(sub.ws, `${sub.prefix}${s.data}}`);
});

if (config.maxUpdatesPerSecond) {
  const all = new Set<Subscription>();
  const tick = () => {
    all.clear();
    for (const set of watchers) for (const sub of set) all.add(sub);
    for (const sub of all) {
      if (sub.ws.bufferedAmount > MAX_QUEUED) continue; // stays behind; gets the newest state on a later tick
      sub.products.forEach((p, j) => {
        const s = state[p]!;
        if (s.version > sub.sent[j]! && s.data) {
          send(sub.ws, `${sub.prefix}${s.data}}`);
          sub.sent[j] = s.version;
        }
      });
    }
  };
  setInterval(tick, Math.ceil(1000 / config.maxUpdatesPerSecond));
}

await redis.psubscribe(channelName("stock", "*"));
server.listen(0, "127.0.0.1", () => {
  const address = server.address() as { port: number };
  console.log(`socket-floor: listening on ws://127.0.0.1:${address.port}/graphql (pid ${process.pid})`);
});

const stop = () => {
  redis.disconnect();
  for (const ws of wss.clients) ws.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
