// Starts the real app (buildApp) against a test database, the same way main.ts
// does, and offers a typed-enough GraphQL helper that goes through yoga.fetch.
import { loadConfig, type Config } from "../../src/config/config.js";
import { openDatabase, type Database, type DatabaseOptions } from "../../src/db/database.js";
import { createPubSub } from "../../src/realtime/pubsub.js";
import { createStream } from "../../src/realtime/stream.js";
import { buildApp, type App } from "../../src/app.js";
import { createOutboxSignal, OUTBOX_CHANNEL } from "../../src/events/outbox-signal.js";

export interface TestApp {
  app: App;
  db: Database;
  config: Config;
  /** POST /graphql in process; returns the parsed JSON body. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<{ data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] }>;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestApp(env: Record<string, string | undefined>, options: DatabaseOptions = {}): Promise<TestApp> {
  const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "silent", STOCKWIRE_SEED: "never", ...env });
  const db = await openDatabase(config.database, options);
  await db.migrate();
  const pubsub = createPubSub(config.redis);
  const stream = createStream(config.kafka);
  const outbox = createOutboxSignal(() => db.notify(OUTBOX_CHANNEL));
  const app = buildApp({ config, db, pubsub, stream, outbox });
  const fetch = (path: string, init?: RequestInit) => Promise.resolve(app.yoga.fetch(new Request(`http://test${path}`, init)));
  return {
    app,
    db,
    config,
    fetch,
    async gql(query, variables, headers = {}) {
      const res = await fetch("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/graphql-response+json", ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return res.json();
    },
    async close() {
      await app.stop();
      await Promise.allSettled([stream.close(), pubsub.close()]);
      await db.close();
    },
  };
}
