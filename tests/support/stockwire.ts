// Whole Stockwire instances for the realtime tests: startProcess (what
// main.ts runs) in this process on real PostgreSQL, Redis and Kafka, driven
// like a client would: the shop helpers over HTTP (shopAt) and typed
// subscriptions over graphql-ws. Plus a role as its own OS process, for crash
// tests.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "graphql-ws";
import { Partitioners } from "kafkajs";
import WebSocket from "ws";
import { leaderOf, signalGroup } from "../../infra/services/leader.mjs";
import { DEFAULT_KAFKA_CLIENT, KAFKA_CLIENTS, loadConfig, type KafkaClient } from "../../src/config/config.js";
import { startProcess, type StockwireProcess } from "../../src/process.js";
import { httpClient, source } from "./client.js";
import type { ResultOf, TadaDocumentNode, VariablesOf } from "./graphql.js";
import { ORDER_STATUS_CHANGED, STOCK_CHANGED } from "./operations.js";
import { JWT_SECRET, shop, type Shop } from "./shop.js";

export type Role = "api" | "relay" | "bridge";

export interface Backends {
  databaseUrl: string;
  redisUrl: string;
  kafkaBrokers: string[];
}

/** Topic and consumer-group names of one test file, so files sharing a Kafka never see each other's events. */
export function streamNames(
  label: string,
): Record<"KAFKA_TOPIC_STOCK" | "KAFKA_TOPIC_ORDER_STATUS" | "KAFKA_TOPIC_PRICE" | "KAFKA_BRIDGE_GROUP", string> {
  const id = `${label}-${randomBytes(4).toString("hex")}`;
  return {
    KAFKA_TOPIC_STOCK: `test.${id}.stock-changed`,
    KAFKA_TOPIC_ORDER_STATUS: `test.${id}.order-status-changed`,
    KAFKA_TOPIC_PRICE: `test.${id}.price-changed`,
    KAFKA_BRIDGE_GROUP: `test.${id}.bridge`,
  };
}

/**
 * The partition of `partitions` that the relay's producer puts a key (a
 * product's database id) on: kafkajs' default partitioner, murmur2 as in Java.
 * The topic plays no part in it.
 */
export const partitionOf = (key: string, partitions: number): number =>
  Partitioners.DefaultPartitioner()({
    topic: "any",
    partitionMetadata: Array.from({ length: partitions }, (_, i) => ({
      partitionId: i,
      leader: 1,
      partitionErrorCode: 0,
      replicas: [1],
      isr: [1],
    })),
    message: { key, value: null },
  });

/**
 * Rate limits out of the way, for tests whose clients order far faster than a
 * shopper would and measure something else (failover, a flash sale).
 */
export const UNTHROTTLED: Record<string, string> = {
  RATE_LIMIT_CUSTOMER_BUCKET: "100000000",
  RATE_LIMIT_CUSTOMER_RESTORE: "100000000",
  RATE_LIMIT_ADMIN_BUCKET: "100000000",
  RATE_LIMIT_ADMIN_RESTORE: "100000000",
};

/**
 * The Kafka client library of the tests' Stockwire processes and streams
 * (KAFKA_CLIENT): STOCKWIRE_TEST_KAFKA_CLIENT=kafkajs runs the same tests on
 * kafkajs; unset, on the config's default (@platformatic/kafka).
 */
export const testKafkaClient = (): KafkaClient => {
  const asked = process.env.STOCKWIRE_TEST_KAFKA_CLIENT;
  return KAFKA_CLIENTS.find((c) => c === asked) ?? DEFAULT_KAFKA_CLIENT;
};

/** The environment of a Stockwire process on these backends (as main.ts would read it). */
export function stockwireEnv(backends: Backends, names: ReturnType<typeof streamNames>, roles: Role[]): Record<string, string> {
  return {
    DATABASE_URL: backends.databaseUrl,
    REDIS_URL: backends.redisUrl,
    KAFKA_BROKERS: backends.kafkaBrokers.join(","),
    KAFKA_CLIENT: testKafkaClient(),
    ...names,
    JWT_SECRET,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    STOCKWIRE_SEED: "never",
    STOCKWIRE_ROLES: roles.join(","),
    // Generous, as in tests/support/app.ts: a loaded machine is not a hung backend (tests/api/backend-hang.test.ts sets its own).
    REQUEST_DEADLINE_MS: "30000",
    DATABASE_CONNECT_TIMEOUT_MS: "30000",
  };
}

export interface Instance {
  running: StockwireProcess;
  /** Base URL; only for instances with the api role. */
  url: string;
  /** Its start-up lines and warnings (e.g. stream consumer crashes), for failure messages. */
  log: string[];
  stop(): Promise<void>;
}

export async function startInstance(env: Record<string, string>): Promise<Instance> {
  const log: string[] = [];
  const say = (line: string) => {
    log.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
    if (log.length > 200) log.splice(0, 100);
    if (process.env.STOCKWIRE_TEST_LOG) console.log(line);
  };
  const running = await startProcess(loadConfig(env), { say });
  return { running, url: running.url ?? "", log, stop: () => running.stop() };
}

/** The shop helpers over HTTP against one API instance (any instance: they share the database). */
export const shopAt = (url: string): Promise<Shop> => shop(httpClient(url));

// --- subscriptions over graphql-ws -----------------------------------------

export interface Subscription<T> {
  /** Every `data` payload received, in order. */
  events: T[];
  /** For each of `events`: when it arrived (Date.now()) and on which connection (1 = the first; reconnects count up). */
  received: { at: number; connection: number }[];
  /** GraphQL errors in results, and transport errors. */
  errors: unknown[];
  /** How often the WebSocket (re)connected. */
  connects: number;
  /** The server completed the subscription (it ended without an error). */
  completed: boolean;
  /** The first event (received already or later) that matches; rejects after timeoutMs, naming `what`. */
  waitFor(what: string, match: (e: T) => boolean, timeoutMs?: number): Promise<T>;
  /** The first error; rejects after timeoutMs. */
  waitForError(timeoutMs?: number): Promise<unknown>;
  close(): Promise<void>;
}

/** `document`'s subscription over graphql-ws, collecting the payloads of its one root field `field`. */
export function subscribe<D extends TadaDocumentNode<any, any>, F extends keyof ResultOf<D> & string>(
  url: string,
  token: string,
  document: D,
  variables: VariablesOf<D>,
  field: F,
): Subscription<ResultOf<D>[F]> {
  type T = ResultOf<D>[F];
  const client: Client = createClient({
    url: `${url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 10,
    shouldRetry: () => true,
  });
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  const sub: Subscription<T> = {
    events: [],
    received: [],
    errors: [],
    connects: 0,
    completed: false,
    waitFor(what, match, timeoutMs = 20_000) {
      return until(
        () => sub.events.find(match),
        () => `${what}; got ${summary(sub.events)}${sub.errors.length ? `, errors ${summary(sub.errors)}` : ""}`,
        timeoutMs,
      );
    },
    waitForError(timeoutMs = 20_000) {
      return until(
        () => sub.errors[0],
        () => `an error; got events ${summary(sub.events)}`,
        timeoutMs,
      );
    },
    async close() {
      unsubscribe();
      await client.dispose();
    },
  };
  function until<R>(check: () => R | undefined, what: () => string, timeoutMs: number): Promise<R> {
    return new Promise((resolve, reject) => {
      const waiter = () => {
        const found = check();
        if (found === undefined) return;
        done();
        resolve(found);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(waiter);
      };
      waiters.add(waiter);
      waiter();
    });
  }
  client.on("connected", () => sub.connects++);
  const unsubscribe = client.subscribe<Record<F, T>>(
    { query: source(document), variables },
    {
      next(result) {
        if (result.errors) sub.errors.push(...result.errors);
        if (result.data?.[field]) {
          sub.events.push(result.data[field]);
          sub.received.push({ at: Date.now(), connection: sub.connects });
        }
        notify();
      },
      error(err) {
        sub.errors.push(err);
        notify();
      },
      complete() {
        sub.completed = true;
        notify();
      },
    },
  );
  return sub;
}

export type StockEvent = ResultOf<typeof STOCK_CHANGED>["stockChanged"];

export const subscribeStock = (url: string, token: string, productIds: string[]): Subscription<StockEvent> =>
  subscribe(url, token, STOCK_CHANGED, { ids: productIds }, "stockChanged");

export type OrderStatusEvent = ResultOf<typeof ORDER_STATUS_CHANGED>["orderStatusChanged"];

export const subscribeOrderStatus = (url: string, token: string, orderId: string): Subscription<OrderStatusEvent> =>
  subscribe(url, token, ORDER_STATUS_CHANGED, { id: orderId }, "orderStatusChanged");

/** Versions a subscriber saw that did not strictly increase (per product): [previous, next] pairs. */
export function versionRegressions(events: StockEvent[]): [number, number][] {
  const last = new Map<string, number>();
  const bad: [number, number][] = [];
  for (const e of events) {
    const before = last.get(e.product.id);
    if (before !== undefined && e.version <= before) bad.push([before, e.version]);
    last.set(e.product.id, e.version);
  }
  return bad;
}

function summary(items: unknown[]): string {
  const shown = items.slice(-5).map((i) => (i instanceof Error ? i.message : JSON.stringify(i)));
  return `${items.length} (last: ${shown.join(", ")})`;
}

// --- misc ---------------------------------------------------------------

/** Polls `probe` until it returns something other than undefined/false. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await sleep(100);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- a Stockwire role as its own OS process ------------------------------

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface RoleProcess {
  child: ChildProcess;
  /** The API's base URL, for "api" and "all". */
  url?: string;
  output(): string;
  /** SIGKILL (or `signal`) to the whole process group; resolves once it exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * `node --import tsx src/main.ts --role <role>` with `env`, in a process group
 * of its own (one process: see tests/support/process.ts for why not the tsx CLI),
 * resolved once its "<role> ..." start-up line is printed (so LOG_LEVEL info).
 * "all": every role (as `npm start`), resolved once the API prints its URL.
 */
export async function startRoleProcess(env: Record<string, string>, role: Role | "all", timeoutMs = 60_000): Promise<RoleProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...(role === "all" ? [] : ["--role", role])], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  // kill() may come after the process is gone (a test's own kill, then afterEach's): by then its pid may be reused.
  const leader = leaderOf(child.pid!);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
    signalGroup(leader, signal);
    await exited;
  };
  // The API prints its URL last; the relay and bridge their role's line.
  const startedLine =
    role === "all" || role === "api" ? /^stockwire: GraphiQL\s+(http:\/\/\S+)\/graphql/m : new RegExp(`^stockwire: ${role}\\s`, "m");
  let url: string | undefined;
  try {
    await Promise.race([
      eventually(
        `the ${role} process to start`,
        async () => (url = startedLine.exec(out)?.[1]) !== undefined || startedLine.test(out),
        timeoutMs,
      ),
      exited.then(() => Promise.reject(new Error(`${role} process exited:\n${out}`))),
    ]);
  } catch (err) {
    await kill();
    throw new Error(`${(err as Error).message}\n${out}`);
  }
  return { child, url, output: () => out, kill };
}
