// The API's HTTP side outside Yoga's plugins: which origins get CORS headers,
// and listening and stopping gracefully (in-flight requests finish, bounded).
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * CORS: only the origins in CORS_ORIGINS get CORS headers (same-origin pages need none);
 * any other origin gets none, so a browser will not let it read the answer. Tokens
 * travel in the Authorization header, not in cookies: no Allow-Credentials.
 */
export function corsFor(origins: string[]) {
  const allowed = new Set(origins);
  return (request: Request) => {
    const origin = request.headers.get("origin");
    return origin && allowed.has(origin)
      ? {
          origin: [origin],
          credentials: false,
          allowedHeaders: ["content-type", "authorization", "accept"],
          methods: ["GET", "POST"],
          maxAge: 600,
        }
      : false;
  };
}

/** Listens on `port` (0 picks a free one) with room for `backlog` unaccepted connections; resolves with the base URL. */
export function listen(server: Server, port: number, host: string, backlog: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, backlog }, () => {
      const { port } = server.address() as AddressInfo;
      resolve(`http://${host === "0.0.0.0" || host === "::" ? "localhost" : host}:${port}`);
    });
  });
}

/** Stops accepting and closes idle connections; busy ones get `graceMs` to finish. */
export function closeGracefully(server: Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
