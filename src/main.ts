// Entry point: config -> backends -> migrations -> app.start(); clean stop on SIGTERM/SIGINT.
import { ConfigError, loadConfig, type Config } from "./config/config.js";
import { openDatabase } from "./db/database.js";
import { seedDemoData } from "./db/seed.js";
import { createPubSub } from "./realtime/pubsub.js";
import { createStream } from "./realtime/stream.js";
import { buildApp } from "./app.js";

const STOP_DEADLINE_MS = 10_000;

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`stockwire: ${err.message}`);
  process.exit(1);
}

const say = (line: string) => config.logLevel !== "silent" && console.log(`stockwire: ${line}`);

try {
  const db = await openDatabase(config.database);
  const applied = await db.migrate();
  say(`database  ${db.kind === "pglite" ? "PGlite (embedded)" : "PostgreSQL"} at ${db.describe}` +
    (applied.length ? `; applied ${applied.length} migration(s)` : "; schema up to date"));
  if (config.seed) {
    const seeded = await seedDemoData(db.prisma);
    if (seeded) say(`seeded    ${seeded} demo products`);
  }
  const pubsub = createPubSub(config.redis);
  say(`pubsub    ${pubsub.kind === "redis" ? `Redis at ${pubsub.describe}` : "in-process (embedded)"}`);
  const stream = createStream(config.kafka);
  say(`stream    ${stream.kind === "kafka" ? `Kafka at ${stream.describe}` : "in-process (embedded)"}`);

  const app = buildApp({ config, db, pubsub, stream });
  const url = await app.start();
  say(`GraphiQL  ${url}/graphql   (health ${url}/health, readiness ${url}/ready)`);
  if (config.jwt.isDevSecret) {
    say("auth      development JWT secret: npm run token -- --role admin   (or --role customer --sub <Customer ID>)");
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping`);
    // A stuck close must not keep the process alive past the deadline.
    setTimeout(() => process.exit(1), STOP_DEADLINE_MS).unref();
    await app.stop();
    await Promise.allSettled([stream.close(), pubsub.close()]);
    await db.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
} catch (err) {
  console.error(`stockwire: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
