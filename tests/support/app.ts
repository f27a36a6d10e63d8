// Starts the real app (buildApp) on the backends process.ts opens, as main.ts
// does but without listening, and a GraphQL client over yoga.fetch.
import { loadConfig, type Config } from "../../src/config/config.js";
import type { Database, DatabaseOptions } from "../../src/db/database.js";
import { buildApp, type App, type AppDeps } from "../../src/app.js";
import { openBackends } from "../../src/process.js";
import { graphqlClient, type GraphQLClient } from "./client.js";

export interface TestApp {
  app: App;
  db: Database;
  config: Config;
  /** POST /graphql in process; returns the parsed JSON body. */
  gql: GraphQLClient;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestApp(
  env: Record<string, string | undefined>,
  options: DatabaseOptions = {},
  deps: Pick<AppDeps, "log" | "bulkImport"> = {},
): Promise<TestApp> {
  // The response cache off unless a test asks for it: many tests change rows with SQL by hand, which
  // no event announces (tests/api/response-cache.test.ts and tests/realtime/response-cache.test.ts turn it on).
  // A generous request deadline and pool wait unless a test asks for them (tests/api/backend-hang.test.ts,
  // bulk-import-deadline.test.ts): on a loaded machine a burst of test writes to one row may take longer than the
  // 2 s defaults (80 adjustments at once queue for the pool), which is not what those tests test.
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    STOCKWIRE_SEED: "never",
    RESPONSE_CACHE: "off",
    REQUEST_DEADLINE_MS: "30000",
    DATABASE_CONNECT_TIMEOUT_MS: "30000",
    ...env,
  });
  const backends = await openBackends(config, { dbOptions: options });
  const { db } = backends;
  const app = buildApp({ config, ...backends, ...deps });
  const fetch = (path: string, init?: RequestInit) => Promise.resolve(app.yoga.fetch(new Request(`http://test${path}`, init)));
  return {
    app,
    db,
    config,
    fetch,
    gql: graphqlClient(fetch),
    async close() {
      await app.stop();
      await backends.close();
    },
  };
}
