// Pub/sub channel names: one per product and one per order, so an API
// instance only receives what its subscribers are watching.
export const stockChannel = (productGlobalId: string) => `stock-changed.${productGlobalId}`;
export const orderStatusChannel = (orderGlobalId: string) => `order-status.${orderGlobalId}`;
