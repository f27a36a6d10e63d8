// A TCP proxy in front of a service (Redis, PostgreSQL) that a test can cut:
// it drops every client connection and refuses new ones while the service
// itself stays up, as a network partition would; restore() lets them in again.
// pause() stops forwarding without closing anything, as a service that hangs
// (SIGSTOP, a stalled disk) looks from outside: connections open, bytes held;
// resume() delivers what was held, in order, and forwards again.
import net from "node:net";

export interface TcpProxy {
  /** The service's URL, pointed at the proxy. */
  url: string;
  cut(): void;
  restore(): void;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function tcpProxy(target: URL): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const flushes = new Set<() => void>();
  let cut = false;
  let paused = false;
  const server = net.createServer((client) => {
    if (cut) return client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      const held: Buffer[] = [];
      const flush = () => {
        for (const chunk of held.splice(0)) to.write(chunk);
      };
      flushes.add(flush);
      from.on("data", (chunk: Buffer) => (paused ? held.push(chunk) : to.write(chunk)));
      from.on("error", () => to.destroy());
      from.on("close", () => (to.destroy(), sockets.delete(from), flushes.delete(flush)));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `${target.protocol}//127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut() {
      cut = true;
      sockets.forEach((s) => s.destroy());
    },
    restore() {
      cut = false;
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      flushes.forEach((f) => f());
    },
    close: () => new Promise((resolve) => (sockets.forEach((s) => s.destroy()), server.close(() => resolve()))),
  };
}
