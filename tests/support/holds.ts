// Typed documents and helpers for holds, the waitlist and the stock ledger.
import { bearer, type GraphQLClient } from "./client.js";
import { graphql, type ResultOf } from "./graphql.js";

export const RESERVE_STOCK = graphql(`
  mutation ReserveStock($input: ReserveStockInput!) {
    reserveStock(input: $input) {
      __typename
      ... on ReserveStockSuccess {
        hold {
          id
          status
          expiresAt
          lines {
            quantity
            product {
              id
            }
          }
        }
      }
      ... on Error {
        message
      }
      ... on InsufficientStockError {
        productId
        requested
        available
      }
      ... on ValidationError {
        field
      }
    }
  }
`);

export const RELEASE_HOLD = graphql(`
  mutation ReleaseHold($id: ID!) {
    releaseHold(id: $id) {
      __typename
      ... on ReleaseHoldSuccess {
        hold {
          id
          status
        }
      }
      ... on HoldNotActiveError {
        status
      }
      ... on Error {
        message
      }
    }
  }
`);

export const ORDER_HOLD = graphql(`
  mutation OrderHold($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      __typename
      ... on PlaceOrderSuccess {
        order {
          id
          totalCents
          items {
            quantity
            product {
              id
            }
          }
        }
      }
      ... on HoldNotActiveError {
        holdId
        status
      }
      ... on InsufficientStockError {
        available
      }
      ... on ValidationError {
        field
      }
      ... on Error {
        message
      }
    }
  }
`);

export const AVAILABILITY = graphql(`
  query Availability($id: ID!) {
    product(id: $id) {
      stock
      available
      reserved
      version
    }
  }
`);

export const JOIN_WAITLIST = graphql(`
  mutation JoinWaitlist($productId: ID!, $quantity: Int!) {
    joinWaitlist(productId: $productId, quantity: $quantity) {
      __typename
      ... on JoinWaitlistSuccess {
        entry {
          id
          status
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

export const MY_WAITLIST = graphql(`
  query MyWaitlist {
    myWaitlist(first: 20) {
      edges {
        node {
          id
          status
          hold {
            id
            status
          }
        }
      }
    }
  }
`);

export const MY_HOLDS = graphql(`
  query MyHolds {
    myHolds(first: 50) {
      edges {
        node {
          id
          status
        }
      }
    }
  }
`);

export const STOCK_MOVEMENTS = graphql(`
  query StockMovements($id: ID!, $after: String) {
    product(id: $id) {
      stockMovements(first: 100, after: $after) {
        edges {
          node {
            deltaOnHand
            deltaReserved
            reason
            actor
            versionAfter
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

export type ReserveResult = ResultOf<typeof RESERVE_STOCK>["reserveStock"];
export type OrderHoldResult = ResultOf<typeof ORDER_HOLD>["placeOrder"];

let counter = 0;
const key = (p: string) => `${p}-${process.pid}-${Date.now().toString(36)}-${++counter}`;

export function holdClient(gql: GraphQLClient) {
  const data = <T>(what: string, r: { data?: T | null; errors?: unknown }): T => {
    if (r.errors || !r.data) throw new Error(`${what}: ${JSON.stringify(r)}`);
    return r.data;
  };
  return {
    async reserve(token: string, items: { productId: string; quantity: number }[], opts: { ttlSeconds?: number; key?: string } = {}) {
      const input = { items, ttlSeconds: opts.ttlSeconds, idempotencyKey: opts.key ?? key("hold") };
      return data("reserveStock", await gql(RESERVE_STOCK, { input }, bearer(token))).reserveStock;
    },
    async release(token: string, id: string) {
      return data("releaseHold", await gql(RELEASE_HOLD, { id }, bearer(token))).releaseHold;
    },
    async orderHold(token: string, holdId: string, idempotencyKey = key("order")) {
      return data("placeOrder", await gql(ORDER_HOLD, { input: { holdId, idempotencyKey } }, bearer(token))).placeOrder;
    },
    async availability(id: string) {
      const p = data("product", await gql(AVAILABILITY, { id })).product;
      if (!p) throw new Error(`no product ${id}`);
      return p;
    },
    async join(token: string, productId: string, quantity = 1) {
      return data("joinWaitlist", await gql(JOIN_WAITLIST, { productId, quantity }, bearer(token))).joinWaitlist;
    },
    async myWaitlist(token: string) {
      return data("myWaitlist", await gql(MY_WAITLIST, {}, bearer(token))).myWaitlist.edges.map((e) => e.node);
    },
  };
}

export const MY_HOLDS_LIVE = graphql(`
  subscription MyHoldsLive {
    myHolds {
      id
      status
      lines {
        quantity
      }
    }
  }
`);
