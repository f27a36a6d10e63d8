// Subscriptions: live stock counts and order status. Over graphql-ws
// (WebSocket) and Server-Sent Events on /graphql.
import type { OrderStatusChange, StockChange } from "../services/live.service.js";
import { builder } from "./builder.js";
import { expectGlobalId } from "./ids.js";
import { OrderStatusEnum } from "./order-status.js";
import { OrderRef, ProductRef } from "./refs.js";

const StockChangeReason = builder.enumType("StockChangeReason", {
  values: {
    CURRENT: { description: "The count at subscribe time (or after a reconnect), not a change" },
    ORDER_PLACED: {},
    ORDER_CANCELLED: {},
    RESTOCK: {},
    ADJUSTMENT: {},
    CREATED: {},
  },
});

const StockChangeType = builder.objectRef<StockChange>("StockChange").implement({
  description: "A product's stock after a change. Versions only increase per subscription.",
  fields: (t) => ({
    product: t.field({ type: ProductRef, resolve: (c) => c.product }),
    stock: t.exposeInt("stock"),
    version: t.exposeInt("version"),
    delta: t.exposeInt("delta"),
    reason: t.field({ type: StockChangeReason, resolve: (c) => c.reason }),
    orderId: t.id({ nullable: true, resolve: (c) => c.orderId }),
    occurredAt: t.expose("occurredAt", { type: "DateTime" }),
  }),
});

const OrderStatusChangeType = builder.objectRef<OrderStatusChange>("OrderStatusChange").implement({
  fields: (t) => ({
    order: t.field({ type: OrderRef, resolve: (c) => c.order }),
    status: t.field({ type: OrderStatusEnum, resolve: (c) => c.status }),
    previousStatus: t.field({ type: OrderStatusEnum, nullable: true, resolve: (c) => c.previousStatus }),
    version: t.exposeInt("version"),
    occurredAt: t.expose("occurredAt", { type: "DateTime" }),
  }),
});

builder.subscriptionType({
  fields: (t) => ({
    stockChanged: t.field({
      type: StockChangeType,
      description: "First the current stock of each product (reason CURRENT), then every change, as it commits",
      args: { productIds: t.arg.idList({ required: true }) },
      subscribe: (_root, args, ctx) => ctx.services.live.stockChanges(ctx, args.productIds.map((gid) => expectGlobalId("Product", String(gid)))),
      resolve: (change) => change,
    }),
    orderStatusChanged: t.field({
      type: OrderStatusChangeType,
      description: "Your own order's status (any order for admins): first the current status, then each change",
      args: { orderId: t.arg.id({ required: true }) },
      subscribe: (_root, args, ctx) => ctx.services.live.orderStatusChanges(ctx, expectGlobalId("Order", String(args.orderId))),
      resolve: (change) => change,
    }),
  }),
});
