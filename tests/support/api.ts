// A test file's API: its own PostgreSQL database, the real app on it, and
// helpers that go through GraphQL like a client would.
import pg from "pg";
import { signToken } from "../../src/auth/tokens.js";
import { createTestDatabase } from "./database.js";
import { startTestApp, type TestApp } from "./app.js";
import type { DatabaseOptions } from "../../src/db/database.js";

export const JWT_SECRET = "test-secret-test-secret-test-secret-123";

export interface Api extends TestApp {
  adminToken: string;
  bearer(token: string): Record<string, string>;
  /** GraphQL as admin. */
  admin<T = any>(query: string, variables?: Record<string, unknown>): Promise<{ data?: T; errors?: any[] }>;
  createCustomer(email?: string): Promise<{ id: string; token: string }>;
  createProduct(p?: { stock?: number; priceCents?: number; currency?: string; sku?: string }): Promise<{ id: string; sku: string; version: number }>;
  placeOrder(token: string, items: { productId: string; quantity: number }[], idempotencyKey?: string): Promise<any>;
  stockOf(productId: string): Promise<{ stock: number; version: number }>;
  dbUrl: string;
  /** Direct SQL on this file's database, to check what was (not) written. */
  sql: pg.Pool;
}

let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;

export const PLACE_ORDER = /* GraphQL */ `
  mutation PlaceOrder($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      __typename
      ... on PlaceOrderSuccess { order { id status totalCents currency version items { quantity unitPriceCents product { id sku stock } } } }
      ... on Error { message }
      ... on InsufficientStockError { productId sku requested available }
      ... on NotFoundError { id }
      ... on ValidationError { field }
    }
  }
`;

export async function startApi(env: Record<string, string> = {}, options: DatabaseOptions = {}): Promise<Api> {
  const database = await createTestDatabase();
  const t = await startTestApp({ DATABASE_URL: database.url, JWT_SECRET, DATABASE_POOL_SIZE: "30", ...env }, options);
  const adminToken = await signToken({ role: "admin" }, JWT_SECRET);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const admin: Api["admin"] = (q, v) => t.gql(q, v, bearer(adminToken));
  const sql = new pg.Pool({ connectionString: database.url, max: 2 });

  const api: Api = {
    ...t,
    dbUrl: database.url,
    sql,
    adminToken,
    bearer,
    admin,
    async createCustomer(email = `${unique("c")}@example.com`) {
      const res = await admin(
        `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { __typename ... on CreateCustomerSuccess { customer { id } } ... on Error { message } } }`,
        { input: { email, name: "Test Customer" } },
      );
      const id = res.data?.createCustomer?.customer?.id;
      if (!id) throw new Error(`createCustomer failed: ${JSON.stringify(res)}`);
      return { id, token: await signToken({ role: "customer", sub: id }, JWT_SECRET) };
    },
    async createProduct({ stock = 100, priceCents = 1999, currency = "EUR", sku = unique("SKU") } = {}) {
      const res = await admin(
        `mutation($input: CreateProductInput!) { createProduct(input: $input) { __typename ... on CreateProductSuccess { product { id sku version } } ... on Error { message } } }`,
        { input: { sku, name: `Product ${sku}`, description: "test", priceCents, currency, initialStock: stock } },
      );
      const product = res.data?.createProduct?.product;
      if (!product) throw new Error(`createProduct failed: ${JSON.stringify(res)}`);
      return product;
    },
    async placeOrder(token, items, idempotencyKey = unique("order")) {
      const res = await t.gql(PLACE_ORDER, { input: { items, idempotencyKey } }, bearer(token));
      if (res.errors) throw new Error(`placeOrder errors: ${JSON.stringify(res.errors)}`);
      return res.data.placeOrder;
    },
    async stockOf(productId) {
      const res = await t.gql(`query($id: ID!) { product(id: $id) { stock version } }`, { id: productId });
      return res.data.product;
    },
    async close() {
      await sql.end();
      await t.close();
      await database.drop();
    },
  };
  return api;
}
