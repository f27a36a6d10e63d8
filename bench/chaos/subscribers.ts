// The stockChanged watchers of a chaos run: graphql-ws clients in this
// process that reconnect for ever (as the demo's do), each remembering the
// newest version it saw per product. A reconnect re-subscribes, and the
// server's snapshot-then-live feed brings it up to date.
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

const STOCK_CHANGED = `subscription Stock($ids: [ID!]!) { stockChanged(productIds: $ids) { product { id } version } }`;

export interface Watchers {
  count: number;
  /** Subscriptions the server ended (with an error, or completed), each subscribed again. */
  ended: { errors: number; completes: number };
  /** Subscribers that have seen at least `versions[product]` of every product. */
  onVersions(versions: Map<string, number>): number;
  close(): Promise<void>;
}

export async function startWatchers(wsUrl: string, products: string[], count: number, connectTimeoutMs = 60_000): Promise<Watchers> {
  const seen = Array.from({ length: count }, () => new Map<string, number>());
  const clients: Client[] = [];
  let closed = false;
  const ended = { errors: 0, completes: 0 };
  const firsts: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: Number.MAX_SAFE_INTEGER,
      shouldRetry: () => true,
      retryWait: () => new Promise((r) => setTimeout(r, 200 + Math.random() * 300)),
    });
    clients.push(client);
    let first: () => void = () => {};
    firsts.push(new Promise<void>((resolve) => (first = resolve)));
    const subscribe = (): void =>
      void client.subscribe<{ stockChanged: { product: { id: string }; version: number } }>(
        { query: STOCK_CHANGED, variables: { ids: products } },
        {
          next: ({ data }) => {
            const change = data?.stockChanged;
            if (!change) return;
            const mine = seen[i]!;
            if ((mine.get(change.product.id) ?? -1) < change.version) mine.set(change.product.id, change.version);
            first();
          },
          // graphql-ws retries a lost socket itself, not a subscription the server ended (with an error or complete)
          // (e.g. SERVICE_UNAVAILABLE while the database is down): subscribe again, as a client would.
          error: () => {
            ended.errors++;
            setTimeout(() => !closed && subscribe(), 500);
          },
          complete: () => {
            if (closed) return;
            ended.completes++;
            setTimeout(() => !closed && subscribe(), 500);
          },
        },
      );
    subscribe();
  }
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(
      () => reject(new Error(`watchers: not every subscriber had its snapshot after ${connectTimeoutMs} ms`)),
      connectTimeoutMs,
    ).unref(),
  );
  await Promise.race([Promise.all(firsts), timeout]);
  return {
    count,
    ended,
    onVersions: (versions) => seen.filter((mine) => [...versions].every(([p, v]) => (mine.get(p) ?? -1) >= v)).length,
    async close() {
      closed = true;
      await Promise.all(clients.map((c) => c.dispose()));
    },
  };
}
