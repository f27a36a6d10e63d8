// Subscriptions: live stock counts and order status. Over graphql-ws
// (WebSocket) and Server-Sent Events on /graphql.
import type { OrderStatusChange, StockChange } from "../services/live.service.js";
import { builder } from "./builder.js";
import { withCodedErrors } from "./mask-error.js";
import { expectGlobalId, fromGlobalId } from "./ids.js";
import { OrderStatusEnum } from "./order-status.js";
import { OrderRef, ProductRef, StockLevelRef } from "./refs.js";
import { MAX_SUBSCRIBED_LOCATIONS } from "../services/live.service.js";

const StockChangeReason = builder.enumType("StockChangeReason", {
  values: {
    CURRENT: { description: "The count at subscribe time (or after a reconnect), not a change" },
    ORDER_PLACED: {},
    ORDER_CANCELLED: {},
    ORDER_SHIPPED: { description: "An order shipped: its committed units left on hand" },
    RESTOCK: {},
    ADJUSTMENT: {},
    CREATED: {},
    HOLD_PLACED: { description: "A hold set units aside (a shopper's, or one the waitlist was offered)" },
    HOLD_RELEASED: { description: "A hold was given back before it expired" },
    HOLD_EXPIRED: { description: "A hold ran out; its units are available again" },
    HOLD_CONSUMED: { description: "An order took its hold's units" },
    TRANSFER_SENT: { description: "Units left a location for another (delta: the change of stock where orders are fulfilled)" },
    TRANSFER_RECEIVED: { description: "Units of a transfer arrived" },
    TRANSFER_CANCELLED: { description: "Units of a transfer went back to where they were sent from" },
  },
});

const StockChangeType = builder.objectRef<StockChange>("StockChange").implement({
  description: "A product's stock after a change. Versions only increase per subscription.",
  fields: (t) => ({
    product: t.field({ type: ProductRef, resolve: (c) => c.product }),
    stock: t.exposeInt("stock", { description: "On hand" }),
    available: t.exposeInt("available", { description: "What shoppers can still order or hold: stock minus unexpired holds" }),
    reserved: t.exposeInt("reserved", { description: "Units set aside by unexpired holds" }),
    version: t.exposeInt("version"),
    delta: t.exposeInt("delta", {
      description:
        "This change's own change in stock (negative for orders and write-offs; 0 for CURRENT and holds). Per event, not summed: " +
        "an update that replaced others (maxUpdatesPerSecond, a backed-up reader, a busy server) carries only its own delta, " +
        "so keep state from the absolute fields stock, available and reserved",
    }),
    reason: t.field({ type: StockChangeReason, resolve: (c) => c.reason }),
    orderId: t.id({ nullable: true, resolve: (c) => c.orderId }),
    holdId: t.id({ nullable: true, resolve: (c) => c.holdId }),
    occurredAt: t.expose("occurredAt", { type: "DateTime" }),
    levels: t.field({
      type: [StockLevelRef],
      description:
        "The product's levels per location after this change (only the subscription's locationIds, when it names some), " +
        "in the order of Product.stockLevels when the server started watching the product (a location stocked since comes last). " +
        "Each update carries every level, so one that replaced others loses nothing",
      resolve: (c) => c.levels,
    }),
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
      args: {
        productIds: t.arg.idList({ required: true }),
        maxUpdatesPerSecond: t.arg.int({
          required: false,
          description: "At most this many updates per product per second, each the newest count (1-1000; default: every change)",
        }),
        locationIds: t.arg.idList({
          required: false,
          description: `For a store screen: only changes that touch one of these locations (1-${MAX_SUBSCRIBED_LOCATIONS}), and only their levels`,
        }),
      },
      subscribe: async (_root, args, ctx) => {
        const ids = args.productIds.map((gid) => expectGlobalId("Product", String(gid)));
        const locationIds = args.locationIds?.map((gid) => expectGlobalId("Location", String(gid)));
        const request = await ctx.services.live.stockChanges(ctx, ids, { maxUpdatesPerSecond: args.maxUpdatesPerSecond, locationIds });
        if (!ctx.live) throw new Error("stockChanged is served by the live fan-out (fanout/use-live-fanout.ts), which is not installed");
        return ctx.live.serve(request);
      },
      // Run once per shape (the fan-out shares it), which includes locationIds: the filter costs nothing per subscriber.
      resolve: (change, args) => (args.locationIds ? onlyAt(change, args.locationIds) : change),
    }),
    orderStatusChanged: t.field({
      type: OrderStatusChangeType,
      description: "Your own order's status (any order for admins): first the current status, then each change",
      args: { orderId: t.arg.id({ required: true }) },
      subscribe: async (_root, args, ctx) =>
        withCodedErrors(await ctx.services.live.orderStatusChanges(ctx, expectGlobalId("Order", String(args.orderId)))),
      resolve: (change) => change,
    }),
  }),
});

/** A change with only the levels at `locationIds` (global IDs, checked when the subscription started). */
function onlyAt(change: StockChange, locationIds: readonly (string | number)[]): StockChange {
  const ids = new Set(locationIds.map((gid) => fromGlobalId("Location", String(gid))));
  return { ...change, levels: change.levels.filter((l) => ids.has(l.locationId)) };
}
