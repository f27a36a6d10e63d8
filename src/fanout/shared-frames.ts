// One stock update to many graphql-ws sockets, its payload encoded once and
// never copied per socket: each subscriber's `next` message is ONE WebSocket
// text frame written as three chunks, a small head of its own (the frame
// header and `{"id":<op id>,"type":"next","payload":`), the payload Buffer
// every socket shares, and `}`. A socket's writes in one tick are corked and
// leave as one writev.
//
// Hand-rolled because ws has no API for it: send() takes one whole message,
// and encodes and frames it per socket. It reads ws 8 internals (named in
// WsInternals) and takes this path only where ws itself would write at once,
// unmasked and uncompressed; anywhere else it falls back to send().
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";

/** A payload rendered once for many sockets: its JSON and that JSON's UTF-8. */
export interface SharedPayload {
  readonly json: string;
  readonly bytes: Buffer;
}

/** What this reads of ws 8.23 (lib/websocket.js, lib/sender.js); a ws that differs only ever takes send(). */
interface WsInternals {
  /** Server side: frames are not masked. */
  _isServer?: boolean;
  _socket?: Duplex | null;
  /** `_state` 0 (DEFAULT): not deflating or reading a Blob, nothing queued; `_firstFragment`: not inside a fragmented message. */
  _sender?: { _state: number; _firstFragment: boolean } | null;
}

const TAIL = Buffer.from("}");
/** The longest frame header writeTextFrameHeader writes (a 64-bit length). */
const MAX_HEADER = 10;

/** A graphql-ws operation's `next` messages to one socket. */
export class NextFrames {
  // The message up to the payload, kept only as bytes (one copy per subscriber).
  private readonly prefix: Buffer;

  constructor(
    private readonly socket: WebSocket,
    id: string,
  ) {
    this.prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
  }

  send(payload: SharedPayload) {
    const raw = framedSocket(this.socket);
    if (!raw) return this.socket.send(this.prefix.toString() + payload.json + "}");
    const bytes = payload.bytes;
    const head = Buffer.allocUnsafe(MAX_HEADER + this.prefix.length);
    const headerLength = writeTextFrameHeader(head, this.prefix.length + bytes.length + TAIL.length);
    const end = headerLength + this.prefix.copy(head, headerLength);
    // In order with ws' own writes: in the DEFAULT state its Sender writes each frame to this same
    // socket synchronously (sendFrame), so whatever ws sent before is queued before these chunks and
    // whatever it sends after is queued behind them; cork and uncork keep that order (one buffer).
    corkForTick(raw);
    raw.write(head.subarray(0, end));
    raw.write(bytes);
    raw.write(TAIL);
  }
}

/** The net.Socket under `socket` when a frame may be written to it directly now, else undefined. */
function framedSocket(socket: WebSocket): Duplex | undefined {
  const ws = socket as WebSocket & WsInternals;
  if (socket.readyState !== socket.OPEN || socket.extensions !== "" || ws._isServer !== true) return undefined;
  const sender = ws._sender;
  return sender && sender._state === 0 && sender._firstFragment === true ? (ws._socket ?? undefined) : undefined;
}

/**
 * RFC 6455 5.2 header of an unmasked, final text frame of `length` bytes, into the start of `head`
 * (2, 4 or 10 bytes, as ws' Sender.frame writes it; tested against it); returns how many. Written here
 * because Sender.frame wants the whole message as one Buffer, the copy per socket this module avoids.
 */
export function writeTextFrameHeader(head: Buffer, length: number): number {
  head[0] = 0x81; // FIN, opcode 1 (text)
  if (length < 126) {
    head[1] = length;
    return 2;
  }
  if (length < 65536) {
    head[1] = 126;
    head.writeUInt16BE(length, 2);
    return 4;
  }
  head[1] = 127;
  head.writeUInt16BE(0, 2);
  head.writeUIntBE(length, 4, 6);
  return MAX_HEADER;
}

// Sockets corked this tick, uncorked in one process.nextTick, as Node's http uncorks a response's socket.
// Scheduled from a timer or I/O callback it runs once that callback is done; from a promise job (a render
// that was a promise), once the promise jobs queued by then and those they queue are done: one pass of
// deliveries leaves as one writev per socket, and nothing waits for a later turn of the event loop.
// queueMicrotask would run in the middle of such a batch of promise jobs.
const corked = new Set<Duplex>();

function corkForTick(socket: Duplex) {
  if (corked.has(socket)) return;
  socket.cork();
  corked.add(socket);
  if (corked.size === 1) process.nextTick(uncorkAll);
}

function uncorkAll() {
  const sockets = [...corked];
  corked.clear();
  for (const socket of sockets) socket.uncork();
}
