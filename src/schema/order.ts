// Order and OrderItem types, order queries and the order mutations.
import {
  HoldNotActiveError,
  PriceChangedError,
  InsufficientStockError,
  InvalidTransitionError,
  NotFoundError,
  VersionConflictError,
} from "../errors/domain-errors.js";
import type { GraphQLContext } from "./context.js";
import { builder } from "./builder.js";
import { mutationResult } from "./errors.js";
import { decodeGlobalIdOrThrow, expectGlobalId, fromGlobalId } from "./ids.js";
import { OrderStatusEnum } from "./order-status.js";
import { keysetConnection } from "./pagination.js";
import { CustomerRef, OrderItemRef, OrderRef, ProductRef } from "./refs.js";

export const Order = builder.node(OrderRef, {
  id: { resolve: (o) => o.id },
  fields: (t) => ({
    status: t.field({ type: OrderStatusEnum, resolve: (o) => o.status }),
    customer: t.field({
      type: CustomerRef,
      resolve: async (o, _args, ctx) => (await ctx.loaders.customer.load(o.customerId))!,
    }),
    items: t.field({ type: [OrderItemRef], resolve: (o, _args, ctx) => ctx.loaders.orderItems.load(o.id) }),
    totalCents: t.exposeInt("totalCents", { description: "Sum of quantity x unitPriceCents, priced when the order was placed" }),
    currency: t.exposeString("currency"),
    version: t.exposeInt("version"),
    idempotencyKey: t.exposeString("idempotencyKey"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

builder.objectType(OrderItemRef, {
  fields: (t) => ({
    product: t.field({ type: ProductRef, resolve: async (i, _args, ctx) => (await ctx.loaders.product.load(i.productId))! }),
    quantity: t.exposeInt("quantity"),
    unitPriceCents: t.exposeInt("unitPriceCents", {
      description:
        "What the price rule charged when the order was placed (your group's list and tier, else the base price); never changes after",
    }),
  }),
});

builder.queryFields((t) => ({
  order: t.field({
    type: Order,
    nullable: true,
    description: "One of your orders (any order for admins)",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const { typename, id } = decodeGlobalIdOrThrow(String(args.id));
      if (typename !== "Order") return null;
      return loadVisibleOrder(ctx, id);
    },
  }),
  orders: t.connection({
    type: Order,
    description: "Admin only: all orders, oldest first",
    args: {
      status: t.arg({ type: OrderStatusEnum, required: false }),
      customerId: t.arg.id({ required: false }),
    },
    resolve: (_root, args, ctx) => {
      const customerId = args.customerId == null ? null : expectGlobalId("Customer", String(args.customerId));
      return keysetConnection(args, (page) => ctx.services.orders.page(ctx, page, { status: args.status, customerId }));
    },
  }),
}));

/** Someone else's order reads as one that does not exist (services own the rule). */
async function loadVisibleOrder(ctx: GraphQLContext, id: string) {
  return ctx.services.orders.visible(ctx, await ctx.loaders.order.load(id));
}

const OrderLineInput = builder.inputType("OrderLineInput", {
  fields: (t) => ({
    productId: t.id({ required: true }),
    quantity: t.int({ required: true }),
    expectedUnitPriceCents: t.int({
      required: false,
      description:
        "The unit price you showed (Product.price for this quantity): PriceChangedError, nothing written, if it is no longer that",
    }),
  }),
});

const PlaceOrderInput = builder.inputType("PlaceOrderInput", {
  fields: (t) => ({
    items: t.field({ type: [OrderLineInput], required: false, description: "What to order from what is available; or give holdId" }),
    holdId: t.id({ required: false, description: "Order exactly this ACTIVE hold's lines, from the units it set aside" }),
    idempotencyKey: t.string({
      required: true,
      description:
        "Your unique key for this order: retrying with the same key (and the same lines) returns the original order as it is now, " +
        "without placing it again: PlaceOrderSuccess even if it has since been CANCELLED (check order.status). Other lines under a used key are a ValidationError",
    }),
  }),
});

const CancelOrderInput = builder.inputType("CancelOrderInput", {
  fields: (t) => ({ orderId: t.id({ required: true }), expectedVersion: t.int({ required: false }) }),
});

const UpdateOrderStatusInput = builder.inputType("UpdateOrderStatusInput", {
  fields: (t) => ({
    orderId: t.id({ required: true }),
    status: t.field({ type: OrderStatusEnum, required: true }),
    expectedVersion: t.int({ required: true }),
  }),
});

builder.mutationFields((t) => ({
  placeOrder: t.field({
    type: Order,
    description: "Customers. All lines or nothing; stock never oversold",
    args: { input: t.arg({ type: PlaceOrderInput, required: true }) },
    errors: mutationResult("PlaceOrder", "order", [InsufficientStockError, NotFoundError, HoldNotActiveError, PriceChangedError]),
    resolve: (_root, { input }, ctx) =>
      ctx.services.orders.placeOrder(ctx, {
        idempotencyKey: input.idempotencyKey,
        holdId: input.holdId == null ? null : fromGlobalId("Hold", String(input.holdId)),
        items:
          input.items?.map((item) => ({
            productId: fromGlobalId("Product", String(item.productId)),
            quantity: item.quantity,
            expectedUnitPriceCents: item.expectedUnitPriceCents,
          })) ?? null,
      }),
  }),
  cancelOrder: t.field({
    type: Order,
    description: "Your own PENDING or CONFIRMED order (any, for admins); its stock is returned",
    args: { input: t.arg({ type: CancelOrderInput, required: true }) },
    errors: mutationResult("CancelOrder", "order", [VersionConflictError, InvalidTransitionError, NotFoundError]),
    resolve: (_root, { input }, ctx) =>
      ctx.services.orders.cancel(ctx, { ...input, orderId: fromGlobalId("Order", String(input.orderId)) }),
  }),
  updateOrderStatus: t.field({
    type: Order,
    description: "Admin only",
    args: { input: t.arg({ type: UpdateOrderStatusInput, required: true }) },
    errors: mutationResult("UpdateOrderStatus", "order", [VersionConflictError, InvalidTransitionError, NotFoundError]),
    resolve: (_root, { input }, ctx) =>
      ctx.services.orders.updateStatus(ctx, { ...input, orderId: fromGlobalId("Order", String(input.orderId)) }),
  }),
}));
