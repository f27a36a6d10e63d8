// Schema-aware fuzzing (issue 11): random queries and mutations generated from
// the printed schema.graphql, valid and deliberately invalid (wrong types, huge
// numbers, NUL bytes and lone surrogates, deep nesting, unknown and malformed
// IDs, missing or extra input fields, garbage bodies), as anonymous callers,
// customers, admins and bad tokens, against the real app on PostgreSQL. Every
// answer must be a client answer: no 5xx, every error coded (none masked as
// "Unexpected error."), no stack trace; and afterwards no product is oversold
// and every product's stock adds up. Deterministic per seed (FUZZ_SEED to
// replay; the seed is in every failure message).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  buildSchema,
  getNamedType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  type GraphQLArgument,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
} from "graphql";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ledgerMismatches } from "../../src/db/ledger.sql.js";
import { encodeGlobalId } from "../../src/ids/index.js";
import { startApi, type Api } from "../support/api.js";
import { expectTypename } from "../support/shop.js";
import { seededRandom } from "../support/random.js";

const OPERATIONS = 2_000;
const CONCURRENCY = 6;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

const schema = buildSchema(readFileSync(fileURLToPath(new URL("../../schema.graphql", import.meta.url)), "utf8"));

// --- a seeded PRNG (tests/support/random.ts) -------------------------------------
const { random, chance, int, pick } = seededRandom(SEED);

// --- fixtures ------------------------------------------------------------------
let api: Api;
const ids: Record<"Product" | "Customer" | "Order", string[]> = { Product: [], Customer: [], Order: [] };
const tokens: string[] = [];
const initialStock = new Map<string, number>();
/** Successful adjustStock deltas per product global ID, from the answers. */
const adjusted = new Map<string, number>();
/** Products a setOnHand succeeded for. */
const counted = new Set<string>();

beforeAll(async () => {
  // Thousands of different documents from one anonymous address are a flood the rate limit now throttles
  // (each new document is charged its parsing and validation): this test is about values, not limits.
  api = await startApi({ RATE_LIMIT_ANONYMOUS_BUCKET: "100000000", RATE_LIMIT_ANONYMOUS_RESTORE: "100000000" });
  for (let i = 0; i < 4; i++) {
    const stock = 3 + i * 2; // small: orders compete for the last units
    const p = await api.createProduct({ stock });
    ids.Product.push(p.id);
    initialStock.set(p.id, stock);
  }
  for (let i = 0; i < 3; i++) {
    const c = await api.createCustomer();
    ids.Customer.push(c.id);
    tokens.push(c.token);
    const placed = await api.placeOrder(c.token, [{ productId: ids.Product[i]!, quantity: 1 }]);
    ids.Order.push(expectTypename(placed, "PlaceOrderSuccess").order.id);
  }
});
afterAll(async () => {
  await api?.close();
});

// --- values ----------------------------------------------------------------------
const uuid = () => `${[8, 4, 4, 4, 12].map((n) => Array.from({ length: n }, () => pick([..."0123456789abcdef"])).join("")).join("-")}`;
const NASTY_STRINGS = ["a\u0000b", "\uD800", "x\uDC00y", "", " ", "'; DROP TABLE product; --", "%_\\", "😀".repeat(50), "x".repeat(20_000)];
const NASTY_NUMBERS = [2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1e300, -1e300, 0.5, -1, 0, Number.MAX_SAFE_INTEGER];
const NASTY_ANY = [null, true, "12", 12, [], {}, [[1]], { nested: { x: 1 } }];

function idFor(argName: string): string {
  const type = /product/i.test(argName) ? "Product" : /order/i.test(argName) ? "Order" : /customer/i.test(argName) ? "Customer" : undefined;
  if (chance(0.15)) return encodeGlobalId(type ?? pick(["Product", "Order", "Customer", "Foo"]), uuid()); // unknown
  if (chance(0.08)) return pick(["zzz", "", "Product:1", encodeGlobalId("Product", "not-a-uuid"), "a\u0000", "\uD800"]);
  return pick(ids[type ?? pick(["Product", "Order", "Customer"] as const)]);
}

let serial = 0;
function stringFor(name: string): string {
  const n = ++serial;
  switch (name) {
    case "sku":
      return chance(0.2) ? pick(["bad sku!", "-x", "A".repeat(70)]) : `FZ-${SEED}-${n}`;
    case "currency":
      return chance(0.7) ? "EUR" : pick(["XYZ", "eur", "EURO", ""]);
    case "email":
      return chance(0.8) ? `fz${SEED}-${n}@example.com` : pick(["nope", "@", "a@b"]);
    case "idempotencyKey":
      return chance(0.9) ? `fz-${SEED}-${n}` : pick(["", "has space", "k".repeat(200)]);
    case "after":
    case "before":
      return pick(["", "bm9wZQ==", "cursor", "YXJyYXljb25uZWN0aW9uOjA="]);
    default:
      return pick(["phone", "Case", "", "SW", "delivery 4711", "zz"]);
  }
}

function intFor(name: string): number {
  switch (name) {
    case "first":
    case "last":
      return chance(0.85) ? int(1, 10) : pick([0, 101, -1, 1000]);
    case "quantity":
      return chance(0.9) ? int(1, 3) : pick([0, -1, 1001]);
    case "delta":
      return int(-4, 5);
    case "expectedVersion":
      return int(0, 6);
    case "priceCents":
      return int(0, 5000);
    case "initialStock":
      return int(0, 20);
    default:
      return int(0, 10);
  }
}

const ONE_OF: Record<string, string[]> = { PlaceOrderInput: ["items", "holdId"] };

/** A value for `type` (named `name`): usually valid, sometimes (when `wild`) anything at all. */
function valueFor(type: GraphQLInputType, name: string, wild: boolean): unknown {
  if (wild && chance(0.12)) return pick<unknown>([...NASTY_STRINGS, ...NASTY_NUMBERS, ...NASTY_ANY]);
  if (isNonNullType(type)) return valueFor(type.ofType, name, wild);
  if (isListType(type)) return Array.from({ length: chance(0.9) ? int(1, 3) : int(0, 60) }, () => valueFor(type.ofType, name, wild));
  const named = getNamedType(type);
  if (isInputObjectType(named)) {
    const out: Record<string, unknown> = {};
    for (const field of Object.values(named.getFields())) {
      if (!isNonNullType(field.type) && chance(0.5)) continue;
      if (wild && chance(0.03)) continue; // a required field missing
      out[field.name] = valueFor(field.type, field.name, wild);
    }
    if (wild && chance(0.03)) out.unexpected = "field";
    // Inputs that take one of several fields (placeOrder: items or holdId): a sane caller gives one, mostly the first.
    const oneOf = ONE_OF[named.name];
    if (oneOf && !wild) {
      const [keep, ...rest] = chance(0.8) ? oneOf : [...oneOf].reverse();
      for (const f of rest) delete out[f!];
      out[keep!] ??= valueFor(named.getFields()[keep!]!.type, keep!, wild);
    }
    return out;
  }
  if (isEnumType(named)) return wild && chance(0.05) ? "NOPE" : pick(named.getValues()).name;
  switch (named.name) {
    case "ID":
      return idFor(name);
    case "Int":
      return wild && chance(0.1) ? pick(NASTY_NUMBERS) : intFor(name);
    case "Boolean":
      return chance(0.5);
    case "String":
      return wild && chance(0.15) ? pick(NASTY_STRINGS) : stringFor(name);
    default:
      return "2026-01-01T00:00:00Z";
  }
}

/** A GraphQL literal for a (valid-ish) value, for arguments inside the selection set. */
function literal(value: unknown, type: GraphQLInputType): string {
  const named = getNamedType(type);
  if (Array.isArray(value)) return `[${value.map((v) => literal(v, type)).join(", ")}]`;
  if (value === null) return "null";
  if (typeof value === "object")
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${k}: ${literal(v, (isInputObjectType(named) && named.getFields()[k]?.type) || type)}`)
      .join(", ")} }`;
  if (isEnumType(named) && typeof value === "string" && /^[A-Z_]+$/.test(value)) return value;
  return JSON.stringify(value);
}

// --- operations -------------------------------------------------------------------
interface Operation {
  query: string;
  variables: Record<string, unknown>;
  /** Every root argument's value, inline or as a variable. */
  args: Record<string, unknown>;
}

function selection(type: GraphQLNamedType, depth: number, deep: boolean): string {
  if (isLeafType(type)) return "";
  if (isAbstractType(type)) {
    const parts = ["__typename"];
    for (const t of schema.getPossibleTypes(type)) if (chance(0.6)) parts.push(`... on ${t.name} ${selection(t, depth + 1, deep)}`);
    return `{ ${parts.join(" ")} }`;
  }
  const object = type as GraphQLObjectType;
  const fields = Object.values(object.getFields());
  const leaves = fields.filter((f) => isLeafType(getNamedType(f.type)));
  const nested = fields.filter((f) => !isLeafType(getNamedType(f.type)));
  const chosen = new Set([pick(leaves.length ? leaves : fields)]);
  const limit = deep ? 15 : 4;
  if (depth < limit) for (let i = 0, n = deep ? 1 : int(0, 2); i < n && nested.length; i++) chosen.add(pick(nested));
  for (let i = 0, n = int(0, 3); i < n && leaves.length; i++) chosen.add(pick(leaves));
  const parts = [...chosen].map((f) => {
    const args = f.args.filter((a) => isNonNullType(a.type) || chance(0.4));
    const argText = args.length ? `(${args.map((a) => `${a.name}: ${literal(valueFor(a.type, a.name, false), a.type)}`).join(", ")})` : "";
    const alias = chance(0.05) ? `a${int(0, 99)}: ` : "";
    return `${alias}${f.name}${argText} ${selection(getNamedType(f.type), depth + 1, deep)}`;
  });
  if (chance(0.1)) parts.push("__typename");
  return `{ ${parts.join(" ")} }`;
}

function operation(): Operation {
  // placeOrder a quarter of the time besides its share of the pick: with eleven mutations, an even
  // pick placed 0-4 orders (1 in 4 seeds none), and the stock checks below need orders.
  const mutations = schema.getMutationType()!;
  const root = chance(0.6) ? schema.getQueryType()! : mutations;
  const field = chance(0.25) ? mutations.getFields().placeOrder! : pick(Object.values(root.getFields()));
  const wild = chance(0.35);
  const variables: Record<string, unknown> = {};
  const values: Record<string, unknown> = {};
  const defs: string[] = [];
  const args = field.args.filter((a: GraphQLArgument) => isNonNullType(a.type) || chance(0.6) || (wild && chance(0.2)));
  const argText = args.map((a) => {
    const value = valueFor(a.type, a.name, wild);
    values[a.name] = value;
    if (chance(0.2)) return `${a.name}: ${literal(value, a.type)}`; // inline literal
    const declared = wild && chance(0.05) ? pick(["Int", "String!", "[ID]", "Boolean"]) : String(a.type);
    defs.push(`$${a.name}: ${declared}`);
    variables[a.name] = value;
    return `${a.name}: $${a.name}`;
  });
  if (wild && chance(0.05)) argText.push(`bogus: 1`);
  const deep = wild && chance(0.15);
  const head = root === schema.getQueryType() ? "query" : "mutation";
  const query = `${head} Fuzz${defs.length ? `(${defs.join(", ")})` : ""} { ${field.name}${argText.length ? `(${argText.join(", ")})` : ""} ${selection(getNamedType(field.type), 1, deep)} }`;
  return { query, variables, args: values };
}

/** Every this many operations, a sane order by a fixture customer (random ones seldom pass, some seeds none). */
const SANE_ORDER_EVERY = 40;

/** A well-formed placeOrder for one or two units of a fixture product: these race the random ones for the last units. */
function saneOrder(): { text: string; op?: undefined; headers: Record<string, string> } {
  const input = { items: [{ productId: pick(ids.Product), quantity: int(1, 2) }], idempotencyKey: `fuzz-${SEED}-${int(0, 1e9)}` };
  const query = `mutation Fuzz($input: PlaceOrderInput!) { placeOrder(input: $input) { __typename } }`;
  return {
    text: JSON.stringify({ query, variables: { input }, operationName: "Fuzz" }),
    headers: { "content-type": "application/json", accept: "application/graphql-response+json", ...api.bearer(pick(tokens)) },
  };
}

function body(): { text: string; op?: Operation } {
  if (chance(0.02))
    return { text: pick(["{", "null", "[]", `{"query": 1}`, `{"query": "{ __typename }", "variables": "x"}`, "\u0000", "{}"]) };
  const op = operation();
  if (chance(0.03)) op.query = op.query.slice(0, int(0, op.query.length)); // truncated: a parse error
  return { text: JSON.stringify({ query: op.query, variables: op.variables, operationName: chance(0.97) ? "Fuzz" : "Other" }), op };
}

function headers(): Record<string, string> {
  const who = random();
  const auth =
    who < 0.25
      ? {}
      : who < 0.6
        ? api.bearer(pick(tokens))
        : who < 0.95
          ? api.bearer(api.adminToken)
          : { authorization: pick(["Bearer nope", "Basic x", "Bearer "]) };
  return { "content-type": "application/json", accept: "application/graphql-response+json", ...auth };
}

const STACK = /\bat (async )?[\w$.<>]+ \(|\bat (file|node):|node:internal|\.(ts|js|mjs|cjs):\d+|"stack"/;

it(
  `${OPERATIONS} random operations from schema.graphql: no 5xx, every error coded, no stack; nothing oversold`,
  { timeout: 120_000 },
  async () => {
    const problems: string[] = [];
    const seen = { ok: 0, errors: 0, codes: new Map<string, number>() };
    let next = 0;
    async function worker() {
      while (next < OPERATIONS && problems.length < 10) {
        const sane = ++next % SANE_ORDER_EVERY === 0 ? saneOrder() : undefined;
        const { text, op } = sane ?? body();
        const requestHeaders = sane?.headers ?? headers();
        const res = await api.fetch("/graphql", { method: "POST", headers: requestHeaders, body: text });
        const answer = await res.text();
        const problem = (what: string) =>
          problems.push(
            `seed ${SEED}: ${what}\n  request: ${text.slice(0, 600)}\n  auth: ${requestHeaders.authorization ?? "none"}\n  answer (${res.status}): ${answer.slice(0, 600)}`,
          );
        if (res.status >= 500) problem(`HTTP ${res.status}`);
        if (STACK.test(answer)) problem("a stack trace in the answer");
        let json: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
        try {
          json = JSON.parse(answer);
        } catch {
          problem("not JSON");
          continue;
        }
        for (const e of json.errors ?? []) {
          const code = e.extensions?.code;
          if (!code || code === "INTERNAL_SERVER_ERROR" || e.message === "Unexpected error.")
            problem(`an uncoded or masked error: ${e.message}`);
          seen.codes.set(String(code), (seen.codes.get(String(code)) ?? 0) + 1);
        }
        if (json.errors?.length) seen.errors++;
        else seen.ok++;
        // Track successful stock adjustments for the ledger check below.
        const adjust = json.data?.adjustStock;
        if (op && adjust?.__typename === "AdjustStockSuccess") {
          const { productId, delta } = op.args.input as { productId: string; delta: number };
          adjusted.set(productId, (adjusted.get(productId) ?? 0) + delta);
        }
        // A count replaces the stock by what was counted: such a product's stock is checked against the ledger only.
        if (op && json.data?.setOnHand?.__typename === "SetOnHandSuccess") counted.add((op.args.input as { productId: string }).productId);
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(problems, problems.join("\n\n")).toEqual([]);
    // The fuzzer must have reached the resolvers, not only the validator.
    expect(seen.ok, JSON.stringify([...seen.codes])).toBeGreaterThan(OPERATIONS / 5);

    console.log(
      `[fuzz] seed ${SEED}: orders ${(await api.sql.query(`SELECT count(*) FROM "order"`)).rows[0].count}, codes ${JSON.stringify([...seen.codes])}`,
    );
    // Orders were placed beyond the fixtures' three, so the checks below are about something.
    expect(Number((await api.sql.query(`SELECT count(*) FROM "order"`)).rows[0].count), `seed ${SEED}`).toBeGreaterThan(3);
    // No oversell, and every fixture product's stock adds up: initial + adjustments - units in orders not cancelled.
    const { rows: negative } = await api.sql.query(`SELECT sku, stock FROM product WHERE stock < 0`);
    expect(negative).toEqual([]);
    const { rows: sold } = await api.sql.query(
      `SELECT i.product_id AS id, sum(i.quantity)::int AS units FROM order_item i JOIN "order" o ON o.id = i.order_id
     WHERE o.status <> 'CANCELLED' GROUP BY i.product_id`,
    );
    const unitsSold = new Map(sold.map((r: { id: string; units: number }) => [encodeGlobalId("Product", r.id), r.units]));
    expect(await ledgerMismatches(api.db.prisma), `seed ${SEED}: the ledger invariant`).toEqual([]);
    for (const id of ids.Product) {
      if (counted.has(id)) continue;
      const { stock } = await api.stockOf(id);
      expect(stock, `seed ${SEED}: stock of ${id}`).toBe(initialStock.get(id)! + (adjusted.get(id) ?? 0) - (unitsSold.get(id) ?? 0));
    }
  },
);
