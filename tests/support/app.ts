// Starts the real app (buildApp) on the backends process.ts opens, as main.ts
// does but without listening, and offers a GraphQL helper through yoga.fetch.
import { loadConfig, type Config } from "../../src/config/config.js";
import type { Database, DatabaseOptions } from "../../src/db/database.js";
import { buildApp, type App } from "../../src/app.js";
import { openBackends } from "../../src/process.js";

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
  const backends = await openBackends(config, { dbOptions: options });
  const { db } = backends;
  const app = buildApp({ config, ...backends });
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
      await backends.close();
    },
  };
}
