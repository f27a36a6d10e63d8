// Every GraphQL operation the storefront sends, in one place.
import { graphql } from "./graphql";

export const ProductsQuery = graphql(`
  query Products($first: Int!, $after: String, $search: String, $inStock: Boolean) {
    products(first: $first, after: $after, search: $search, inStock: $inStock) {
      edges {
        node {
          id
          sku
          name
          priceCents
          currency
          stock
          available
          reserved
          version
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      totalCount
    }
  }
`);

export const StockChangedSubscription = graphql(`
  subscription StockChanged($ids: [ID!]!) {
    stockChanged(productIds: $ids) {
      product {
        id
      }
      stock
      available
      reserved
      version
      delta
      reason
      occurredAt
    }
  }
`);

export const PlaceOrderMutation = graphql(`
  mutation PlaceOrder($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      __typename
      ... on PlaceOrderSuccess {
        order {
          id
          status
          totalCents
          currency
        }
      }
      ... on InsufficientStockError {
        available
        requested
        sku
      }
      ... on Error {
        message
      }
    }
  }
`);

export const OrderFields = graphql(`
  fragment OrderFields on Order @_unmask {
    id
    status
    version
    createdAt
    totalCents
    currency
    items {
      quantity
      product {
        id
        name
      }
    }
  }
`);

export const MyOrdersQuery = graphql(
  `
    query MyOrders($last: Int!) {
      me {
        id
        name
        orders(last: $last) {
          edges {
            node {
              ...OrderFields
            }
          }
        }
      }
    }
  `,
  [OrderFields],
);

export const OrderStatusChangedSubscription = graphql(
  `
    subscription OrderStatusChanged($id: ID!) {
      orderStatusChanged(orderId: $id) {
        status
        previousStatus
        order {
          ...OrderFields
        }
      }
    }
  `,
  [OrderFields],
);

export const CancelOrderMutation = graphql(`
  mutation CancelOrder($input: CancelOrderInput!) {
    cancelOrder(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

export const AdjustStockMutation = graphql(`
  mutation AdjustStock($input: AdjustStockInput!) {
    adjustStock(input: $input) {
      __typename
      ... on AdjustStockSuccess {
        product {
          id
          name
          stock
          version
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

export const AdminOrdersQuery = graphql(
  `
    query AdminOrders($last: Int!) {
      orders(last: $last) {
        edges {
          node {
            ...OrderFields
            customer {
              name
            }
          }
        }
      }
    }
  `,
  [OrderFields],
);

export const UpdateOrderStatusMutation = graphql(`
  mutation UpdateOrderStatus($input: UpdateOrderStatusInput!) {
    updateOrderStatus(input: $input) {
      __typename
      ... on UpdateOrderStatusSuccess {
        order {
          id
          status
          version
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

export const ProductLedgerQuery = graphql(`
  query ProductLedger($id: ID!, $first: Int!, $after: String) {
    product(id: $id) {
      id
      name
      stock
      reserved
      version
      stockMovements(first: $first, after: $after) {
        edges {
          node {
            deltaOnHand
            deltaReserved
            reason
            versionAfter
            occurredAt
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
