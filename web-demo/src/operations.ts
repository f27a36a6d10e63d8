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

/** The shopper's prices (their group's, with its breaks) as they are, then after each change: cards follow without a reload. */
export const PriceChangedSubscription = graphql(`
  subscription PriceChanged($ids: [ID!]!) {
    priceChanged(productIds: $ids) {
      productId
      priceVersion
      basePrice {
        amountCents
        currency
      }
      price {
        amountCents
        currency
      }
      priceTiers {
        minQuantity
        unitPriceCents
      }
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

/** One level's numbers, as the admin's table shows them. */
export const LevelFields = graphql(`
  fragment LevelFields on StockLevel @_unmask {
    location {
      id
    }
    onHand
    committed
    reserved
    incoming
    available
    version
  }
`);

export const TransferFields = graphql(`
  fragment TransferFields on Transfer @_unmask {
    id
    status
    quantity
    received
    cancelled
    inTransit
    version
    createdAt
    product {
      id
      name
    }
    from {
      id
      code
      name
    }
    to {
      id
      code
      name
    }
  }
`);

/**
 * Everything the admin's stock view shows, in one request: the picked
 * product's level at each location, the locations, and each location's first
 * page of transfers (a transfer is listed at both ends).
 */
export const AdminStockQuery = graphql(
  `
    query AdminStock($id: ID!, $withProduct: Boolean!, $locations: Int!, $transfers: Int!) {
      product(id: $id) @include(if: $withProduct) {
        id
        name
        sku
        stockLevels {
          ...LevelFields
        }
      }
      locations(first: $locations) {
        edges {
          node {
            id
            code
            name
            active
            fulfilsOrders
            priority
            transfers(first: $transfers) {
              edges {
                node {
                  ...TransferFields
                }
              }
              pageInfo {
                hasNextPage
                endCursor
              }
            }
          }
        }
      }
    }
  `,
  [LevelFields, TransferFields],
);

/** Tells the admin's stock view that the picked product changed: at most a few times a second (each read costs a query). */
export const AdminStockLiveSubscription = graphql(`
  subscription AdminStockLive($id: ID!) {
    stockChanged(productIds: [$id], maxUpdatesPerSecond: 4) {
      version
    }
  }
`);

/** A location's further transfers, when its first page was full. */
export const LocationTransfersQuery = graphql(
  `
    query LocationTransfers($id: ID!, $first: Int!, $after: String) {
      node(id: $id) {
        ... on Location {
          transfers(first: $first, after: $after) {
            edges {
              node {
                ...TransferFields
              }
            }
            pageInfo {
              hasNextPage
              endCursor
            }
          }
        }
      }
    }
  `,
  [TransferFields],
);

export const AdjustStockMutation = graphql(
  `
    mutation AdjustStock($input: AdjustStockInput!) {
      adjustStock(input: $input) {
        __typename
        ... on AdjustStockSuccess {
          product {
            id
            name
            stockLevels {
              ...LevelFields
            }
          }
        }
        ... on Error {
          message
        }
      }
    }
  `,
  [LevelFields],
);

export const SetOnHandMutation = graphql(
  `
    mutation SetOnHand($input: SetOnHandInput!) {
      setOnHand(input: $input) {
        __typename
        ... on SetOnHandSuccess {
          product {
            id
            name
            stockLevels {
              ...LevelFields
            }
          }
        }
        ... on Error {
          message
        }
      }
    }
  `,
  [LevelFields],
);

export const TransferStockMutation = graphql(
  `
    mutation TransferStock($input: TransferStockInput!) {
      transferStock(input: $input) {
        __typename
        ... on TransferStockSuccess {
          transfer {
            ...TransferFields
          }
        }
        ... on Error {
          message
        }
      }
    }
  `,
  [TransferFields],
);

export const ReceiveTransferMutation = graphql(
  `
    mutation ReceiveTransfer($input: SettleTransferInput!) {
      receiveTransfer(input: $input) {
        __typename
        ... on ReceiveTransferSuccess {
          transfer {
            ...TransferFields
          }
        }
        ... on Error {
          message
        }
      }
    }
  `,
  [TransferFields],
);

export const CancelTransferMutation = graphql(
  `
    mutation CancelTransfer($input: SettleTransferInput!) {
      cancelTransfer(input: $input) {
        __typename
        ... on CancelTransferSuccess {
          transfer {
            ...TransferFields
          }
        }
        ... on Error {
          message
        }
      }
    }
  `,
  [TransferFields],
);

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

/** Sent as a multipart request (bulk-import.ts): the file is the variable `file`. */
export const StartBulkImportMutation = graphql(`
  mutation StartBulkImport($file: File!, $mode: BulkImportMode!) {
    startBulkImport(file: $file, mode: $mode) {
      __typename
      ... on StartBulkImportSuccess {
        bulkOperation {
          id
          status
          rowsTotal
          rowsDone
          rowsFailed
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

export const BulkOperationChangedSubscription = graphql(`
  subscription BulkOperationChanged($id: ID!) {
    bulkOperationChanged(id: $id) {
      id
      status
      rowsTotal
      rowsDone
      rowsFailed
    }
  }
`);

export const BulkOperationErrorsQuery = graphql(`
  query BulkOperationErrors($id: ID!, $first: Int!) {
    bulkOperation(id: $id) {
      id
      rowsFailed
      errors(first: $first) {
        edges {
          node {
            row
            column
            message
          }
        }
        pageInfo {
          hasNextPage
        }
      }
    }
  }
`);

export const CancelBulkOperationMutation = graphql(`
  mutation CancelBulkOperation($id: ID!) {
    cancelBulkOperation(id: $id) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);
