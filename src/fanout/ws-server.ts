// graphql-ws over the `ws` library, through graphql-ws' own makeServer (the
// protocol stays the library's). This replaces graphql-ws/use/ws, whose timers
// close healthy sockets when the process is busy: a keepalive or init timer
// that fires after a long event-loop stall runs before the pong or
// connection_init waiting behind it is read, and closes the socket (1006,
// 4408). Here each of those verdicts waits for pending I/O (setImmediate), and a
// tick that itself came late does not judge. Also: the WebSocket limits.
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { WebSocket, WebSocketServer } from "ws";
import { CloseCode, DEPRECATED_GRAPHQL_WS_PROTOCOL, handleProtocols, makeServer, type ServerOptions } from "graphql-ws";

/** What a connection keeps of its upgrade request: not the IncomingMessage itself (memory per socket). */
export interface UpgradeRequest {
  url?: string;
  headers: IncomingHttpHeaders;
  socket: { remoteAddress?: string };
}

export interface Extra {
  socket: WebSocket;
  request: UpgradeRequest;
}

export interface WsLimits {
  /** Ping interval; a socket that answered no ping for a whole interval is closed. */
  keepAliveMs: number;
  /** How long a connection may take to send connection_init. */
  connectionInitMs: number;
  /** Connections per client address; 0 = no cap. */
  maxConnectionsPerAddress: number;
  /** Addresses the cap does not apply to. */
  uncapped?: (address: string) => boolean;
  /** Checks an Authorization header sent with the upgrade request; false closes the socket with 4403. */
  verifyUpgrade(request: UpgradeRequest): Promise<boolean>;
  addressOf(request: UpgradeRequest): string;
  log?: (line: string) => void;
}

export function serveGraphQLWs(options: ServerOptions<Record<string, unknown> | undefined, Extra>, wss: WebSocketServer, limits: WsLimits) {
  const initialised = new WeakSet<WebSocket>();
  const server = makeServer<Record<string, unknown> | undefined, Extra>({
    ...options,
    connectionInitWaitTimeout: Infinity, // ours below waits for pending I/O
    onConnect: async (ctx) => {
      initialised.add(ctx.extra.socket);
      return options.onConnect ? options.onConnect(ctx) : true;
    },
  });
  const perAddress = new Map<string, number>();
  wss.options.handleProtocols = handleProtocols;

  wss.on("connection", (socket, upgrade: IncomingMessage) => {
    const request: UpgradeRequest = { url: upgrade.url, headers: upgrade.headers, socket: { remoteAddress: upgrade.socket.remoteAddress } };
    const address = limits.addressOf(request);
    const count = (perAddress.get(address) ?? 0) + 1;
    perAddress.set(address, count);
    socket.once("close", () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left) perAddress.set(address, left);
      else perAddress.delete(address);
    });
    if (limits.maxConnectionsPerAddress && count > limits.maxConnectionsPerAddress && !limits.uncapped?.(address)) {
      limits.log?.(`live: refusing connection ${count} from ${address} (cap ${limits.maxConnectionsPerAddress})`);
      return socket.close(CloseCode.Forbidden, "Too many connections from this address");
    }
    socket.once("error", () => socket.terminate());

    // Keepalive: ping every interval; no pong for a whole interval closes the socket.
    let awaitingPong = false;
    let lastTick = Date.now();
    socket.on("pong", () => (awaitingPong = false));
    const keepAlive = setInterval(() => {
      const now = Date.now();
      const late = now - lastTick - limits.keepAliveMs;
      lastTick = now;
      if (socket.readyState !== socket.OPEN) return;
      if (awaitingPong && late < limits.keepAliveMs / 2) {
        setImmediate(() => {
          if (!awaitingPong || socket.readyState !== socket.OPEN) return;
          limits.log?.(`live: closing ${address}: no pong for ${Math.round(limits.keepAliveMs / 1000)} s`);
          socket.terminate();
        });
        return;
      }
      awaitingPong = true;
      socket.ping();
    }, limits.keepAliveMs);
    const initWait = setTimeout(
      () =>
        setImmediate(() => {
          if (!initialised.has(socket) && socket.readyState === socket.OPEN) {
            socket.close(CloseCode.ConnectionInitialisationTimeout, "Connection initialisation timeout");
          }
        }),
      limits.connectionInitMs,
    );

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (err) => (err ? reject(err) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (cb) =>
          socket.on("message", async (data) => {
            try {
              await cb(String(data));
            } catch (err) {
              limits.log?.(`live: internal error on a socket from ${address}: ${err instanceof Error ? err.message : String(err)}`);
              socket.close(CloseCode.InternalServerError, "Internal server error");
            }
          }),
      },
      { socket, request },
    );
    socket.once("close", (code, reason) => {
      clearInterval(keepAlive);
      clearTimeout(initWait);
      if (code === CloseCode.SubprotocolNotAcceptable && socket.protocol === DEPRECATED_GRAPHQL_WS_PROTOCOL) {
        limits.log?.("live: a client used the deprecated subscriptions-transport-ws protocol");
      }
      void closed(code, String(reason));
    });

    // A bad token in the upgrade request is refused like one in connection_init.
    if (request.headers.authorization) {
      void limits.verifyUpgrade(request).then((ok) => ok || socket.close(CloseCode.Forbidden, "Forbidden"));
    }
  });

  return {
    async dispose() {
      for (const client of wss.clients) client.close(1001, "Going away");
      wss.removeAllListeners();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
