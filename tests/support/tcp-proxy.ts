// A TCP proxy in front of a service (Redis, here) that a test can cut: it
// drops every client connection and refuses new ones while the service
// itself stays up, as a network partition would; restore() lets them in again.
import net from "node:net";

export interface TcpProxy {
  /** The service's URL, pointed at the proxy. */
  url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function tcpProxy(target: URL): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) return client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.pipe(to);
      from.on("error", () => to.destroy());
      from.on("close", () => (to.destroy(), sockets.delete(from)));
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
    close: () => new Promise((resolve) => (sockets.forEach((s) => s.destroy()), server.close(() => resolve()))),
  };
}
