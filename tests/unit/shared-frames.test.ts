// Shared frames (fanout/shared-frames.ts) over real ws sockets on loopback: every
// client gets its own graphql-ws `next` message around the one payload Buffer
// (encoded once, the same object written to every socket), framed right at the
// 7/16/64-bit length boundaries and with multi-byte UTF-8, in order with ws' own
// sends and pings; one socket's writes in a tick leave as one writev; with
// permessage-deflate negotiated it falls back to ws' send().
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { NextFrames, writeTextFrameHeader } from "../../src/fanout/shared-frames.js";
import { Delivery } from "../../src/fanout/subscriber.js";

// ws' own framing, the reference for the header (not in ws' type definitions).
type FrameOptions = { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean };
const { Sender } = createRequire(import.meta.url)("ws") as { Sender: { frame(data: Buffer, o: FrameOptions): Buffer[] } };

interface Peer {
  /** The server's side of the connection, and what was written to its net.Socket: one entry per write call. */
  server: WebSocket;
  writes: Buffer[][];
  /** What the client received, in order: messages' text, and "<ping>". */
  received: string[];
  client: WebSocket;
}

let wss: WebSocketServer | undefined;
let clients: WebSocket[] = [];

afterEach(async () => {
  for (const c of clients) c.terminate();
  clients = [];
  await new Promise((resolve) => (wss ? wss.close(resolve) : resolve(undefined)));
  wss = undefined;
  vi.restoreAllMocks();
});

async function connect(n: number, perMessageDeflate = false): Promise<Peer[]> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate });
  wss = server;
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as { port: number };
  const accepted: WebSocket[] = [];
  server.on("connection", (socket) => accepted.push(socket));
  const peers: Peer[] = [];
  for (let i = 0; i < n; i++) {
    const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate });
    clients.push(client);
    const received: string[] = [];
    client.on("message", (data) => received.push(String(data)));
    client.on("ping", () => received.push("<ping>"));
    await new Promise((resolve) => client.once("open", resolve));
    await vi.waitFor(() => expect(accepted.length).toBe(i + 1));
    peers.push({ server: accepted[i]!, writes: recordWrites(accepted[i]!), received, client });
  }
  return peers;
}

/** Wraps the net.Socket's _write and _writev: every call that hands bytes to the OS. */
function recordWrites(socket: WebSocket): Buffer[][] {
  const raw = (socket as unknown as { _socket: Socket })._socket as Socket & {
    _write(chunk: Buffer, enc: string, cb: () => void): void;
    _writev(chunks: { chunk: Buffer }[], cb: () => void): void;
  };
  const writes: Buffer[][] = [];
  const write = raw._write.bind(raw);
  const writev = raw._writev.bind(raw);
  raw._write = (chunk, enc, cb) => (writes.push([chunk]), write(chunk, enc, cb));
  raw._writev = (chunks, cb) => (writes.push(chunks.map((c) => c.chunk)), writev(chunks, cb));
  return writes;
}

const delivery = (data: unknown) => {
  const result = { data } as Delivery["result"];
  return new Delivery(JSON.stringify(result), result);
};
const next = (id: string, d: Delivery) => `{"id":${JSON.stringify(id)},"type":"next","payload":${d.json}}`;
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A delivery whose whole `next` message for operation `id` is `bytes` long, with 2- and 4-byte characters. */
function sized(id: string, bytes: number): Delivery {
  const pad = bytes - Buffer.byteLength(next(id, delivery({ name: "Crème 🍮 " })));
  expect(pad).toBeGreaterThanOrEqual(0);
  const d = delivery({ name: "Crème 🍮 " + "a".repeat(pad) });
  expect(Buffer.byteLength(next(id, d))).toBe(bytes);
  return d;
}

describe("shared frames", () => {
  it("writes each socket its own message around the same payload Buffer, encoded once", async () => {
    const peers = await connect(4);
    const d = delivery({ stockChanged: { productId: "p1", name: "Café ☕ crème", available: 3 } });
    const from = vi.spyOn(Buffer, "from");
    peers.forEach((p, i) => new NextFrames(p.server, `op-${i}`).send(d));
    await vi.waitFor(() => peers.forEach((p) => expect(p.received).toHaveLength(1)));
    peers.forEach((p, i) => {
      expect(JSON.parse(p.received[0]!)).toEqual({ id: `op-${i}`, type: "next", payload: d.result });
      expect(p.writes.flat()).toContain(d.bytes); // the instance, not equal bytes
    });
    expect(from.mock.calls.filter(([arg]) => arg === d.json)).toHaveLength(1);
  });

  it("frames messages at the 7-, 16- and 64-bit length boundaries", async () => {
    const [p] = await connect(1);
    const frames = new NextFrames(p!.server, "opé");
    const lengths = [124, 125, 126, 127, 65535, 65536, 65537];
    const ds = lengths.map((n) => sized("opé", n));
    for (const d of ds) {
      frames.send(d);
      await tick();
    }
    await vi.waitFor(() => expect(p!.received).toHaveLength(lengths.length));
    expect(p!.received).toEqual(ds.map((d) => next("opé", d)));
    ds.forEach((d) => expect(p!.writes.flat()).toContain(d.bytes));
  });

  it("writes the header ws' Sender.frame writes", () => {
    for (const n of [0, 1, 125, 126, 127, 65535, 65536, 65537, 2 ** 24 + 3]) {
      const ws = Sender.frame(Buffer.alloc(n), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false })[0]!;
      const ours = Buffer.alloc(10);
      const written = writeTextFrameHeader(ours, n);
      expect(ours.subarray(0, written), `length ${n}`).toEqual(ws);
    }
  });

  it("keeps order with ws' own sends and pings", async () => {
    const [p] = await connect(1);
    const frames = new NextFrames(p!.server, "1");
    const [a, b, c] = ["a", "b", "c"].map((productId) => delivery({ stockChanged: { productId } }));
    frames.send(a!);
    p!.server.send("plain 1");
    p!.server.ping();
    frames.send(b!);
    await tick();
    p!.server.send("plain 2");
    frames.send(c!);
    p!.server.ping();
    await vi.waitFor(() => expect(p!.received).toHaveLength(7));
    expect(p!.received).toEqual([next("1", a!), "plain 1", "<ping>", next("1", b!), "plain 2", next("1", c!), "<ping>"]);
  });

  it("waits behind a message ws is still preparing (a Blob)", async () => {
    const [p] = await connect(1);
    const frames = new NextFrames(p!.server, "1");
    const [a, b] = ["a", "b"].map((productId) => delivery({ stockChanged: { productId } }));
    frames.send(a!);
    p!.server.send(new Blob(["blob"])); // ws reads it asynchronously and queues what follows
    frames.send(b!);
    await vi.waitFor(() => expect(p!.received).toHaveLength(3));
    expect(p!.received).toEqual([next("1", a!), "blob", next("1", b!)]);
  });

  it("sends one socket's messages of one tick in one write", async () => {
    const peers = await connect(2);
    const frames = peers.map((p, i) => new NextFrames(p.server, `op-${i}`));
    const ds = ["a", "b", "c"].map((productId) => delivery({ stockChanged: { productId, name: "Ünïcode ✓" } }));
    for (const d of ds) frames.forEach((f) => f.send(d));
    await vi.waitFor(() => peers.forEach((p) => expect(p.received).toHaveLength(3)));
    peers.forEach((p, i) => {
      expect(p.writes).toHaveLength(1);
      expect(p.received).toEqual(ds.map((d) => next(`op-${i}`, d)));
    });
    frames[0]!.send(ds[0]!); // a later tick: a write of its own
    await vi.waitFor(() => expect(peers[0]!.received).toHaveLength(4));
    expect(peers[0]!.writes).toHaveLength(2);
  });

  it("falls back to ws' send when permessage-deflate was negotiated", async () => {
    const [p] = await connect(1, true);
    expect(p!.server.extensions).toBe("permessage-deflate");
    const frames = new NextFrames(p!.server, "z");
    const send = vi.spyOn(p!.server, "send");
    const small = delivery({ name: "é" });
    const large = sized("z", 70_000); // compressed by ws (above its 1 KiB threshold)
    frames.send(large);
    p!.server.send("plain");
    frames.send(small);
    await vi.waitFor(() => expect(p!.received).toHaveLength(3));
    expect(p!.received).toEqual([next("z", large), "plain", next("z", small)]);
    expect(send.mock.calls.map(([data]) => data)).toEqual([next("z", large), "plain", next("z", small)]);
  });

  it("writes nothing to a socket that is closing", async () => {
    const [p] = await connect(1);
    p!.server.close();
    const before = p!.writes.length;
    new NextFrames(p!.server, "x").send(delivery({ name: "late" }));
    await tick();
    expect(p!.writes.slice(before).flat().map(String)).not.toContain(JSON.stringify({ data: { name: "late" } }));
  });
});
