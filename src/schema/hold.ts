// Holds: the Hold type, reserveStock / releaseHold / myHolds, what a product
// has available and reserved, and its stock ledger for admins. Resolvers only
// translate; HoldService owns the rules.
import { resolveCursorConnection, type ResolveCursorConnectionArgs } from "@pothos/plugin-relay";
import { HoldNotActiveError, InsufficientStockError, NotFoundError, ValidationError } from "../errors/domain-errors.js";
import { holdStatusAt } from "../services/hold-status.js";
import { heldOf } from "./held-now.js";
import { builder } from "./builder.js";
import { mutationResult } from "./errors.js";
import { fromGlobalId, toGlobalId } from "./ids.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, keysetConnection, requirePageArgs } from "./pagination.js";
import { HoldLineRef, HoldRef, OrderRef, ProductRef, StockMovementRef } from "./refs.js";

export const HoldStatusEnum = builder.enumType("HoldStatus", {
  values: {
    ACTIVE: { description: "Its units are set aside until expiresAt" },
    CONSUMED: { description: "An order took its units" },
    RELEASED: { description: "Given back before it expired" },
    EXPIRED: { description: "Ran out; its units went back (from the moment of expiry, whether or not it was swept yet)" },
  },
});

export const Hold = builder.node(HoldRef, {
  id: { resolve: (h) => h.id },
  fields: (t) => ({
    status: t.field({ type: HoldStatusEnum, resolve: (h) => holdStatusAt(h) }),
    expiresAt: t.expose("expiresAt", { type: "DateTime" }),
    lines: t.field({ type: [HoldLineRef], resolve: (h, _args, ctx) => ctx.loaders.holdLines.load(h.id) }),
    order: t.field({
      type: OrderRef,
      nullable: true,
      description: "The order that consumed it",
      resolve: (h, _args, ctx) => (h.orderId ? ctx.loaders.order.load(h.orderId) : null),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

builder.objectType(HoldLineRef, {
  fields: (t) => ({
    product: t.field({ type: ProductRef, resolve: async (l, _args, ctx) => (await ctx.loaders.product.load(l.productId))! }),
    quantity: t.exposeInt("quantity"),
  }),
});

builder.objectType(StockMovementRef, {
  description: "One change of a product's on-hand or reserved stock, written with the change",
  fields: (t) => ({
    deltaOnHand: t.exposeInt("deltaOnHand"),
    deltaReserved: t.exposeInt("deltaReserved"),
    reason: t.exposeString("reason", { description: "A StockChangeReason (ORDER_PLACED, HOLD_PLACED, RESTOCK, ...)" }),
    note: t.exposeString("note", { nullable: true }),
    orderId: t.id({ nullable: true, resolve: (m) => (m.orderId ? toGlobalId("Order", m.orderId) : null) }),
    holdId: t.id({ nullable: true, resolve: (m) => (m.holdId ? toGlobalId("Hold", m.holdId) : null) }),
    actor: t.string({
      description:
        'Who: "customer:<Customer ID>", "admin", "admin:<Customer ID>" (global IDs, as node(id:) takes) or "system" (sweeper, waitlist)',
      resolve: (m) => globalActor(m.actor),
    }),
    versionAfter: t.exposeInt("versionAfter"),
    occurredAt: t.expose("occurredAt", { type: "DateTime" }),
  }),
});

builder.objectFields(ProductRef, (t) => ({
  available: t.int({
    description: "What shoppers can order or hold right now: stock minus units committed to unshipped orders minus unexpired holds",
    resolve: async (p, _args, ctx) => (await heldOf(p, ctx)).available,
  }),
  reserved: t.int({
    description: "Units set aside by unexpired holds (part of stock)",
    resolve: async (p, _args, ctx) => (await heldOf(p, ctx)).reserved,
  }),
  stockMovements: t.connection({
    type: StockMovementRef,
    // Nullable: a refused page (not an admin, a bad cursor) must not null the product a mutation returns.
    nullable: true,
    description: "Admin only: the stock ledger, newest first (null, with an error, for anyone else)",
    resolve: (p, args, ctx) => {
      requirePageArgs(args);
      return resolveCursorConnection(
        {
          args,
          defaultSize: DEFAULT_PAGE_SIZE,
          maxSize: MAX_PAGE_SIZE,
          toCursor: (m) => Buffer.from(`m:${m.id}`).toString("base64url"),
        },
        ({ after, before, limit, inverted }: ResolveCursorConnectionArgs) =>
          ctx.services.products.movements(ctx, p.id, { after: movementCursor(after), before: movementCursor(before), limit, inverted }),
      );
    },
  }),
}));

/** The ledger stores who as "customer:<uuid>" (services/hold-status.ts actorOf); clients get the global ID. */
function globalActor(actor: string): string {
  const m = /^(customer|admin):([0-9a-f-]{36})$/i.exec(actor);
  return m ? `${m[1]}:${toGlobalId("Customer", m[2]!)}` : actor;
}

function movementCursor(cursor: string | undefined): bigint | undefined {
  if (cursor === undefined) return undefined;
  const m = /^m:(\d{1,19})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!m) throw new ValidationError("after", "Invalid cursor: pass a cursor returned by this API");
  return BigInt(m[1]!);
}

builder.queryFields((t) => ({
  myHolds: t.connection({
    type: Hold,
    description: "The calling customer's holds, oldest first (status EXPIRED as soon as expiresAt passes)",
    resolve: (_root, args, ctx) => keysetConnection(args, (page) => ctx.services.holds.page(ctx, page)),
  }),
}));

const ReserveLineInput = builder.inputType("ReserveLineInput", {
  fields: (t) => ({ productId: t.id({ required: true }), quantity: t.int({ required: true }) }),
});

const ReserveStockInput = builder.inputType("ReserveStockInput", {
  fields: (t) => ({
    items: t.field({ type: [ReserveLineInput], required: true }),
    ttlSeconds: t.int({
      required: false,
      description: "How long to hold (default and maximum set by the server: HOLD_TTL_DEFAULT, HOLD_TTL_MAX)",
    }),
    idempotencyKey: t.string({ required: true, description: "Retrying with the same key returns the original hold" }),
  }),
});

builder.mutationFields((t) => ({
  reserveStock: t.field({
    type: Hold,
    description:
      "Customers. Sets units aside from what is available, all lines (priced in one currency, as an order must be) or nothing; never below zero available",
    args: { input: t.arg({ type: ReserveStockInput, required: true }) },
    errors: mutationResult("ReserveStock", "hold", [InsufficientStockError, NotFoundError]),
    resolve: (_root, { input }, ctx) =>
      ctx.services.holds.reserve(ctx, {
        idempotencyKey: input.idempotencyKey,
        ttlSeconds: input.ttlSeconds,
        items: input.items.map((i) => ({ productId: fromGlobalId("Product", String(i.productId)), quantity: i.quantity })),
      }),
  }),
  releaseHold: t.field({
    type: Hold,
    description: "Your own ACTIVE hold (any, for admins): its units go back, to the waitlist first",
    args: { id: t.arg.id({ required: true }) },
    errors: mutationResult("ReleaseHold", "hold", [HoldNotActiveError, NotFoundError]),
    resolve: (_root, args, ctx) => ctx.services.holds.release(ctx, fromGlobalId("Hold", String(args.id))),
  }),
}));

builder.subscriptionFields((t) => ({
  myHolds: t.field({
    type: Hold,
    description:
      "Customers: first your ACTIVE holds, then each of your holds as it is placed (a waitlist offer included), consumed, released or expires. Follows the products you hold or wait for as of subscribing: subscribe again after joining a waitlist",
    subscribe: (_root, _args, ctx) => ctx.services.myHolds(ctx),
    resolve: (hold) => hold,
  }),
}));
