// What tests do through the API as a client would, over any GraphQLClient:
// in process (tests/support/api.ts) or against a running instance
// (tests/support/stockwire.ts). Setup helpers throw when the API refuses;
// placeOrder and updateOrderStatus return the result union for the test to check.
import { expect } from "vitest";
import { signToken } from "../../src/auth/tokens.js";
import { decodeGlobalId } from "../../src/ids/index.js";
import { bearer, type GraphQLClient, type GqlResult } from "./client.js";
import type { ResultOf, VariablesOf } from "./graphql.js";
import { ADJUST_STOCK, CREATE_CUSTOMER, CREATE_PRODUCT, PLACE_ORDER, PRODUCT_STOCK, UPDATE_ORDER_STATUS } from "./operations.js";

/** The database id (uuid) inside a global ID, for tests that read or lock rows directly. */
export const rowId = (globalId: string): string => decodeGlobalId(globalId)!.id;

/** The secret every test server signs and checks tokens with. */
export const JWT_SECRET = "test-secret-test-secret-test-secret-123";

export type Product = Extract<ResultOf<typeof CREATE_PRODUCT>["createProduct"], { __typename: "CreateProductSuccess" }>["product"];
export type PlaceOrderResult = ResultOf<typeof PLACE_ORDER>["placeOrder"];
export type OrderLine = NonNullable<VariablesOf<typeof PLACE_ORDER>["input"]["items"]>[number];
export type OrderStatus = VariablesOf<typeof UPDATE_ORDER_STATUS>["input"]["status"];
export type UpdateOrderStatusResult = ResultOf<typeof UPDATE_ORDER_STATUS>["updateOrderStatus"];

export interface Shop {
  /** GraphQL as anyone (pass bearer(token) as headers to be someone). */
  gql: GraphQLClient;
  adminToken: string;
  bearer(token: string): Record<string, string>;
  /** GraphQL as admin. */
  admin: GraphQLClient;
  createCustomer(opts?: { email?: string; name?: string }): Promise<{ id: string; token: string }>;
  createProduct(opts?: {
    stock?: number;
    priceCents?: number;
    currency?: string;
    sku?: string;
    name?: string;
    description?: string;
  }): Promise<Product>;
  placeOrder(token: string, items: OrderLine[], idempotencyKey?: string): Promise<PlaceOrderResult>;
  /** A restock (RECEIVED) or write-off (CORRECTION) at the default location, with `note` for the ledger. */
  adjustStock(productId: string, delta: number, note?: string): Promise<{ stock: number; version: number }>;
  updateOrderStatus(orderId: string, status: OrderStatus, expectedVersion: number): Promise<UpdateOrderStatusResult>;
  /**
   * What `stock` meant before committed stock: on hand minus units committed to unshipped orders (held
   * units included). Placing an order lowers it, shipping leaves it, cancelling raises it.
   */
  stockOf(productId: string): Promise<{ stock: number; version: number }>;
}

/**
 * The value narrowed to one member of a result union (e.g. PlaceOrderSuccess
 * of PlaceOrderResult) by __typename; fails the test, showing the value, when
 * it is another member.
 */
export function expectTypename<T extends { __typename: string }, N extends T["__typename"]>(
  value: T,
  typename: N,
): Extract<T, { __typename: N }> {
  expect(value.__typename, JSON.stringify(value)).toBe(typename);
  return value as Extract<T, { __typename: N }>;
}

let counter = 0;
/** Unique across the test processes sharing one database server. */
const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;

/** The data of a result, or an error that shows the whole response. */
function dataOf<T>(what: string, res: GqlResult<T>): T {
  if (res.errors || !res.data) throw new Error(`${what}: ${JSON.stringify(res)}`);
  return res.data;
}

export async function shop(gql: GraphQLClient): Promise<Shop> {
  const adminToken = await signToken({ role: "admin" }, JWT_SECRET);
  const admin = ((query: string, variables?: Record<string, unknown>, headers?: Record<string, string>) =>
    gql(query, variables, { ...bearer(adminToken), ...headers })) as GraphQLClient;
  return {
    gql,
    adminToken,
    bearer,
    admin,
    async createCustomer({ email = `${unique("c")}@example.com`, name = "Test Customer" } = {}) {
      const r = dataOf("createCustomer", await admin(CREATE_CUSTOMER, { input: { email, name } })).createCustomer;
      if (r.__typename !== "CreateCustomerSuccess") throw new Error(`createCustomer: ${JSON.stringify(r)}`);
      return { id: r.customer.id, token: await signToken({ role: "customer", sub: r.customer.id }, JWT_SECRET) };
    },
    async createProduct({
      stock = 100,
      priceCents = 1999,
      currency = "EUR",
      sku = unique("SKU"),
      name = `Product ${sku}`,
      description = "test",
    } = {}) {
      const input = { sku, name, description, priceCents, currency, initialStock: stock };
      const r = dataOf("createProduct", await admin(CREATE_PRODUCT, { input })).createProduct;
      if (r.__typename !== "CreateProductSuccess") throw new Error(`createProduct: ${JSON.stringify(r)}`);
      return r.product;
    },
    async placeOrder(token, items, idempotencyKey = unique("order")) {
      return dataOf("placeOrder", await gql(PLACE_ORDER, { input: { items, idempotencyKey } }, bearer(token))).placeOrder;
    },
    async adjustStock(productId, delta, note = "test") {
      const reason = delta > 0 ? "RECEIVED" : "CORRECTION";
      const r = dataOf("adjustStock", await admin(ADJUST_STOCK, { input: { productId, delta, reason, note } })).adjustStock;
      if (r.__typename !== "AdjustStockSuccess") throw new Error(`adjustStock: ${JSON.stringify(r)}`);
      return { stock: r.product.stock, version: r.product.version };
    },
    async updateOrderStatus(orderId, status, expectedVersion) {
      return dataOf("updateOrderStatus", await admin(UPDATE_ORDER_STATUS, { input: { orderId, status, expectedVersion } }))
        .updateOrderStatus;
    },
    async stockOf(productId) {
      const { product } = dataOf("stockOf", await gql(PRODUCT_STOCK, { id: productId }));
      if (!product) throw new Error(`stockOf: no product ${productId}`);
      return { stock: product.inventory.onHand - product.inventory.committed, version: product.version };
    },
  };
}
