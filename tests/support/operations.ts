// The GraphQL operations the test helpers send (tests/support/shop.ts and the
// subscriptions in stockwire.ts), typed from schema.graphql by gql.tada.
// Tests that send odd or invalid operations on purpose keep plain strings.
import { graphql } from "./graphql.js";

export const CREATE_CUSTOMER = graphql(`
  mutation CreateCustomer($input: CreateCustomerInput!) {
    createCustomer(input: $input) {
      __typename
      ... on CreateCustomerSuccess {
        customer {
          id
          email
          name
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

export const CREATE_PRODUCT = graphql(`
  mutation CreateProduct($input: CreateProductInput!) {
    createProduct(input: $input) {
      __typename
      ... on CreateProductSuccess {
        product {
          id
          sku
          name
          priceCents
          currency
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

export const PLACE_ORDER = graphql(`
  mutation PlaceOrder($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      __typename
      ... on PlaceOrderSuccess {
        order {
          id
          status
          totalCents
          currency
          version
          items {
            quantity
            unitPriceCents
            product {
              id
              sku
              stock
            }
          }
        }
      }
      ... on Error {
        message
      }
      ... on InsufficientStockError {
        productId
        sku
        requested
        available
      }
      ... on NotFoundError {
        id
      }
      ... on ValidationError {
        field
      }
    }
  }
`);

export const ADJUST_STOCK = graphql(`
  mutation AdjustStock($input: AdjustStockInput!) {
    adjustStock(input: $input) {
      __typename
      ... on AdjustStockSuccess {
        product {
          id
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

export const UPDATE_ORDER_STATUS = graphql(`
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
      ... on InvalidTransitionError {
        from
        to
      }
      ... on VersionConflictError {
        expectedVersion
        currentVersion
      }
    }
  }
`);

export const PRODUCT_STOCK = graphql(`
  query ProductStock($id: ID!) {
    product(id: $id) {
      inventory {
        onHand
        committed
      }
      version
    }
  }
`);

export const STOCK_CHANGED = graphql(`
  subscription StockChanged($ids: [ID!]!) {
    stockChanged(productIds: $ids) {
      product {
        id
      }
      stock
      available
      version
      delta
      reason
      orderId
    }
  }
`);

export const BULK_OPERATION_CHANGED = graphql(`
  subscription BulkOperationChanged($id: ID!) {
    bulkOperationChanged(id: $id) {
      id
      status
      rowsTotal
      rowsDone
      rowsFailed
      finishedAt
      version
    }
  }
`);

export const ORDER_STATUS_CHANGED = graphql(`
  subscription OrderStatusChanged($id: ID!) {
    orderStatusChanged(orderId: $id) {
      order {
        id
        status
      }
      status
      previousStatus
      version
    }
  }
`);
