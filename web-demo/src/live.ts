// One graphql-ws WebSocket for everything live: subscriptions, and the flash
// sale's burst of orders (many operations at once over one socket). On a
// dropped connection it retries forever with capped exponential backoff;
// graphql-ws then re-sends every active subscription, and the server answers
// each with a fresh CURRENT snapshot, so counts are right again at once.
import { createClient, type Client } from "graphql-ws";
import type { TadaDocumentNode } from "./graphql";
import { RequestError, source } from "./http";

export type ConnectionState =
  { kind: "connecting" } | { kind: "connected"; reconnected: boolean } | { kind: "waiting"; retryInMs: number; attempt: number };

export interface Live {
  /** Streams results until the returned function is called. */
  subscribe<R, V>(doc: TadaDocumentNode<R, V>, variables: V, onData: (data: R) => void, onError?: (message: string) => void): () => void;
  /** A single-result operation (query or mutation) over the socket. */
  execute<R, V>(doc: TadaDocumentNode<R, V>, variables: V): Promise<R>;
  onState(listener: (state: ConnectionState) => void): void;
  /** Ends the wait before the next reconnect attempt: "Retry now", and the browser's `online` event. */
  retryNow(): void;
  /** For tests and debugging: drops the socket as a network failure would. */
  terminate(): void;
  /** Closes the socket for good (the flash sale's shopper connections). */
  dispose(): void;
}

/** 0.5 s, 1 s, 2 s, capped at 4 s, with up to 30% jitter so clients spread out ("Retry now" skips the wait). */
export const backoffMs = (retries: number) => Math.round(Math.min(500 * 2 ** retries, 4_000) * (1 + Math.random() * 0.3));

export function createLive(token?: string): Live {
  const listeners = new Set<(s: ConnectionState) => void>();
  let state: ConnectionState = { kind: "connecting" };
  let everConnected = false;
  let wakeUp: (() => void) | undefined;
  const set = (next: ConnectionState) => {
    state = next;
    listeners.forEach((l) => l(state));
  };
  const client: Client = createClient({
    url: `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/graphql`,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    lazy: false,
    keepAlive: 10_000,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: async (retries) => {
      const ms = backoffMs(retries);
      set({ kind: "waiting", retryInMs: ms, attempt: retries + 1 });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = undefined;
    },
    onNonLazyError: () => {}, // retried forever; the indicator shows it
    on: {
      connecting: () => set({ kind: "connecting" }),
      connected: () => {
        set({ kind: "connected", reconnected: everConnected });
        everConnected = true;
      },
    },
  });

  const message = (err: unknown) =>
    Array.isArray(err) ? err.map((e) => e.message).join("; ") : err instanceof Error ? err.message : "The connection failed.";

  return {
    subscribe(doc, variables, onData, onError) {
      return client.subscribe<any>(
        { query: source(doc), variables: variables as Record<string, unknown> },
        {
          next: (result) => {
            if (result.errors?.length) onError?.(result.errors.map((e) => e.message).join("; "));
            if (result.data) onData(result.data);
          },
          error: (err) => onError?.(message(err)),
          complete: () => {},
        },
      );
    },
    execute(doc, variables) {
      return new Promise((resolve, reject) => {
        let data: any;
        let errors: string | undefined;
        client.subscribe<any>(
          { query: source(doc), variables: variables as Record<string, unknown> },
          {
            next: (result) => {
              if (result.errors?.length) errors = result.errors.map((e) => e.message).join("; ");
              data = result.data;
            },
            error: (err) => reject(new RequestError(message(err))),
            complete: () => (errors || !data ? reject(new RequestError(errors ?? "No result.")) : resolve(data)),
          },
        );
      });
    },
    onState(listener) {
      listeners.add(listener);
      listener(state);
    },
    retryNow: () => wakeUp?.(),
    terminate: () => client.terminate(),
    dispose: () => void client.dispose(),
  };
}
