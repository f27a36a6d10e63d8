// Whole Stockwire instances for the realtime tests: startProcess (what
// main.ts runs) in this process on real PostgreSQL, Redis and Kafka, driven
// like a client would: GraphQL over HTTP (fetch) and subscriptions over
// graphql-ws. Plus a bridge as its own OS process, for crash tests.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { leaderOf, signalGroup } from "../../infra/services/leader.mjs";
import { loadConfig } from "../../src/config/config.js";
import { startProcess, type StockwireProcess } from "../../src/process.js";
import { signToken } from "../../src/auth/tokens.js";
import { JWT_SECRET, PLACE_ORDER } from "./api.js";

export type Role = "api" | "relay" | "bridge";

export interface Backends {
  databaseUrl: string;
  redisUrl: string;
  kafkaBrokers: string[];
}

/** Topic and consumer-group names of one test file, so files sharing a Kafka never see each other's events. */
export function streamNames(label: string): Record<"KAFKA_TOPIC_STOCK" | "KAFKA_TOPIC_ORDER_STATUS" | "KAFKA_BRIDGE_GROUP", string> {
  const id = `${label}-${randomBytes(4).toString("hex")}`;
  return {
    KAFKA_TOPIC_STOCK: `test.${id}.stock-changed`,
    KAFKA_TOPIC_ORDER_STATUS: `test.${id}.order-status-changed`,
    KAFKA_BRIDGE_GROUP: `test.${id}.bridge`,
  };
}

/** The environment of a Stockwire process on these backends (as main.ts would read it). */
export function stockwireEnv(backends: Backends, names: ReturnType<typeof streamNames>, roles: Role[]): Record<string, string> {
  return {
    DATABASE_URL: backends.databaseUrl,
    REDIS_URL: backends.redisUrl,
    KAFKA_BROKERS: backends.kafkaBrokers.join(","),
    ...names,
    JWT_SECRET,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    STOCKWIRE_SEED: "never",
    STOCKWIRE_ROLES: roles.join(","),
  };
}

export interface Instance {
  running: StockwireProcess;
  /** Base URL; only for instances with the api role. */
  url: string;
  stop(): Promise<void>;
}

export async function startInstance(env: Record<string, string>): Promise<Instance> {
  const running = await startProcess(loadConfig(env));
  return { running, url: running.url ?? "", stop: () => running.stop() };
}

export type GqlResult<T = any> = { data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] };

export async function gql<T = any>(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResult<T>> {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json",
      ...(token && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query, variables }),
  });
  return res.json() as Promise<GqlResult<T>>;
}

let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;

/** Admin and customer operations over HTTP against one API instance (any instance: they share the database). */
export function shop(url: string) {
  const adminToken = signToken({ role: "admin" }, JWT_SECRET);
  const admin = async (query: string, variables: Record<string, unknown>, field: string) => {
    const res = await gql(url, query, variables, await adminToken);
    if (res.errors || !res.data) throw new Error(`${field}: ${JSON.stringify(res)}`);
    return res.data[field];
  };
  return {
    adminToken,
    async createProduct(stock: number): Promise<{ id: string; sku: string; version: number }> {
      const sku = unique("SKU");
      const r = await admin(
        `mutation($input: CreateProductInput!) { createProduct(input: $input) { __typename ... on CreateProductSuccess { product { id sku version } } ... on Error { message } } }`,
        { input: { sku, name: `Product ${sku}`, priceCents: 500, currency: "EUR", initialStock: stock } },
        "createProduct",
      );
      if (!r.product) throw new Error(`createProduct: ${JSON.stringify(r)}`);
      return r.product;
    },
    async createCustomer(): Promise<{ id: string; token: string }> {
      const r = await admin(
        `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { __typename ... on CreateCustomerSuccess { customer { id } } ... on Error { message } } }`,
        { input: { email: `${unique("c")}@example.com`, name: "Realtime Customer" } },
        "createCustomer",
      );
      if (!r.customer) throw new Error(`createCustomer: ${JSON.stringify(r)}`);
      return { id: r.customer.id, token: await signToken({ role: "customer", sub: r.customer.id }, JWT_SECRET) };
    },
    /** The placeOrder result union (PlaceOrderSuccess, InsufficientStockError, ...). */
    async placeOrder(token: string, productId: string, quantity = 1): Promise<any> {
      const res = await gql(url, PLACE_ORDER, { input: { items: [{ productId, quantity }], idempotencyKey: unique("order") } }, token);
      if (res.errors || !res.data) throw new Error(`placeOrder: ${JSON.stringify(res)}`);
      return res.data.placeOrder;
    },
    async adjustStock(productId: string, delta: number): Promise<{ stock: number; version: number }> {
      const r = await admin(
        `mutation($input: AdjustStockInput!) { adjustStock(input: $input) { __typename ... on AdjustStockSuccess { product { stock version } } ... on Error { message } } }`,
        { input: { productId, delta, reason: "realtime test" } },
        "adjustStock",
      );
      if (!r.product) throw new Error(`adjustStock: ${JSON.stringify(r)}`);
      return r.product;
    },
    async updateOrderStatus(orderId: string, status: string, expectedVersion: number): Promise<any> {
      return admin(
        `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) { __typename ... on UpdateOrderStatusSuccess { order { id status version } } ... on Error { message } } }`,
        { input: { orderId, status, expectedVersion } },
        "updateOrderStatus",
      );
    },
    async stockOf(productId: string): Promise<{ stock: number; version: number }> {
      const res = await gql(url, `query($id: ID!) { product(id: $id) { stock version } }`, { id: productId });
      return res.data.product;
    },
  };
}
export type Shop = ReturnType<typeof shop>;

// --- subscriptions over graphql-ws -----------------------------------------

export interface Subscription<T> {
  /** Every `data` payload received, in order. */
  events: T[];
  /** GraphQL errors in results, and transport errors. */
  errors: unknown[];
  /** How often the WebSocket (re)connected. */
  connects: number;
  /** The first event (received already or later) that matches; rejects after timeoutMs, naming `what`. */
  waitFor(what: string, match: (e: T) => boolean, timeoutMs?: number): Promise<T>;
  /** The first error; rejects after timeoutMs. */
  waitForError(timeoutMs?: number): Promise<unknown>;
  close(): Promise<void>;
}

export function subscribe<T>(url: string, token: string, query: string, variables: Record<string, unknown>, field: string): Subscription<T> {
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
    errors: [],
    connects: 0,
    waitFor(what, match, timeoutMs = 20_000) {
      return until(() => sub.events.find(match), () => `${what}; got ${summary(sub.events)}${sub.errors.length ? `, errors ${summary(sub.errors)}` : ""}`, timeoutMs);
    },
    waitForError(timeoutMs = 20_000) {
      return until(() => sub.errors[0], () => `an error; got events ${summary(sub.events)}`, timeoutMs);
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
  const unsubscribe = client.subscribe<Record<string, T>>(
    { query, variables },
    {
      next(result) {
        if (result.errors) sub.errors.push(...result.errors);
        if (result.data?.[field]) sub.events.push(result.data[field]);
        notify();
      },
      error(err) {
        sub.errors.push(err);
        notify();
      },
      complete() {},
    },
  );
  return sub;
}

export interface StockEvent {
  product: { id: string };
  stock: number;
  version: number;
  delta: number;
  reason: string;
  orderId: string | null;
}

export const subscribeStock = (url: string, token: string, productIds: string[]): Subscription<StockEvent> =>
  subscribe<StockEvent>(
    url,
    token,
    `subscription($ids: [ID!]!) { stockChanged(productIds: $ids) { product { id } stock version delta reason orderId } }`,
    { ids: productIds },
    "stockChanged",
  );

export interface OrderStatusEvent {
  order: { id: string; status: string };
  status: string;
  previousStatus: string | null;
  version: number;
}

export const subscribeOrderStatus = (url: string, token: string, orderId: string): Subscription<OrderStatusEvent> =>
  subscribe<OrderStatusEvent>(
    url,
    token,
    `subscription($id: ID!) { orderStatusChanged(orderId: $id) { order { id status } status previousStatus version } }`,
    { id: orderId },
    "orderStatusChanged",
  );

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
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await sleep(100);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- a Stockwire role as its own OS process ------------------------------

const root = fileURLToPath(new URL("../..", import.meta.url));
const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));

export interface RoleProcess {
  child: ChildProcess;
  output(): string;
  /** SIGKILL to the whole process group (tsx runs the code in a child process of its own). */
  kill(): Promise<void>;
}

/**
 * `tsx src/main.ts --role <role>` with `env`, in a process group of its own,
 * resolved once its "<role> ..." start-up line is printed (so LOG_LEVEL info).
 */
export async function startRoleProcess(env: Record<string, string>, role: Role, timeoutMs = 60_000): Promise<RoleProcess> {
  const child = spawn(tsx, ["src/main.ts", "--role", role], {
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
  const kill = async () => {
    signalGroup(leader, "SIGKILL");
    await exited;
  };
  try {
    await Promise.race([
      eventually(`the ${role} process to start`, async () => new RegExp(`^stockwire: ${role}\\s`, "m").test(out), timeoutMs),
      exited.then(() => Promise.reject(new Error(`${role} process exited:\n${out}`))),
    ]);
  } catch (err) {
    await kill();
    throw new Error(`${(err as Error).message}\n${out}`);
  }
  return { child, output: () => out, kill };
}
