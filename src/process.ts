// One Stockwire process: opens the backends (database, pub/sub, stream) and
// starts the roles it was given on them: the API (app.ts: HTTP + WebSocket),
// the outbox relay and the Kafka -> pub/sub bridge. main.ts and the
// multi-instance tests start exactly this.
import type { Config } from "./config/config.js";
import { openDatabase, type Database, type DatabaseOptions } from "./db/database.js";
import { seedDemoData } from "./db/seed.js";
import { createPubSub, type PubSubBackend } from "./realtime/pubsub.js";
import { createStream, type StreamBackend } from "./realtime/stream.js";
import { startOutboxRelay } from "./realtime/outbox-relay.js";
import { startBridge } from "./realtime/bridge.js";
import { buildApp, type App } from "./app.js";
import { createOutboxSignal, OUTBOX_CHANNEL, type OutboxSignal } from "./events/outbox-signal.js";

export interface StockwireProcess {
  db: Database;
  app?: App;
  /** Base URL of the API, when this process runs it. */
  url?: string;
  stop(): Promise<void>;
}

export interface Backends {
  db: Database;
  pubsub: PubSubBackend;
  stream: StreamBackend;
  outbox: OutboxSignal;
  close(): Promise<void>;
}

interface StartOptions {
  say?: (line: string) => void;
  dbOptions?: DatabaseOptions;
}

/** Opens and migrates the database (seeding it when configured), then pub/sub and the stream. */
export async function openBackends(config: Config, opts: StartOptions = {}): Promise<Backends> {
  const say = opts.say ?? (() => {});
  const db = await openDatabase(config.database, opts.dbOptions);
  try {
    const applied = await db.migrate();
    say(
      `database  ${db.kind === "pglite" ? "PGlite (embedded)" : "PostgreSQL"} at ${db.describe}` +
        (applied.length ? `; applied ${applied.length} migration(s)` : "; schema up to date"),
    );
    if (config.seed) {
      const seeded = await seedDemoData(db.prisma);
      if (seeded) say(`seeded    ${seeded} demo products`);
    }
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  const pubsub = createPubSub(config.redis);
  say(`pubsub    ${pubsub.kind === "redis" ? `Redis at ${pubsub.describe}` : "in-process (embedded)"}`);
  const stream = createStream(config.kafka);
  say(`stream    ${stream.kind === "kafka" ? `Kafka at ${stream.describe}` : "in-process (embedded)"}`);
  return {
    db,
    pubsub,
    stream,
    outbox: createOutboxSignal(() => db.notify(OUTBOX_CHANNEL)),
    async close() {
      await Promise.allSettled([stream.close(), pubsub.close()]);
      await db.close();
    },
  };
}

export async function startProcess(config: Config, opts: StartOptions = {}): Promise<StockwireProcess> {
  const roles = new Set(config.roles);
  const say = opts.say ?? (() => {});
  const warn = (what: string) => (err: unknown) => say(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  const backends = await openBackends(config, opts);
  const { db, pubsub, stream, outbox } = backends;
  const stops: (() => Promise<void>)[] = [() => backends.close()];
  try {
    if (roles.has("relay")) {
      const relay = await startOutboxRelay({ db, stream, outbox, topics: config.topics, onError: warn("relay") });
      stops.unshift(() => relay.stop());
      say(
        `relay     outbox -> ${stream.kind === "kafka" ? `Kafka topics ${config.topics.stockChanged}, ${config.topics.orderStatusChanged}` : "in-process stream"}`,
      );
    }
    if (roles.has("bridge")) {
      const bridge = await startBridge({ stream, pubsub, topics: config.topics, groupId: config.bridgeGroup, onError: warn("bridge") });
      stops.unshift(() => bridge.stop());
      say(`bridge    stream -> pub/sub (group ${config.bridgeGroup})`);
    }
    let app: App | undefined;
    let url: string | undefined;
    if (roles.has("api")) {
      app = buildApp({ config, db, pubsub, stream, outbox });
      url = await app.start();
      stops.unshift(() => app!.stop());
    }
    return {
      db,
      app,
      url,
      async stop() {
        for (const stop of stops) await stop().catch(() => {});
      },
    };
  } catch (err) {
    for (const stop of stops) await stop().catch(() => {});
    throw err;
  }
}
