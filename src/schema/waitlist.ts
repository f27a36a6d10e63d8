// The back-in-stock waitlist: joinWaitlist / leaveWaitlist / myWaitlist.
// WaitlistService owns the rules (and waitlist-offer.ts how units are handed out).
import { NotFoundError } from "../errors/domain-errors.js";
import { builder } from "./builder.js";
import { mutationResult } from "./errors.js";
import { fromGlobalId } from "./ids.js";
import { keysetConnection } from "./pagination.js";
import { HoldRef, ProductRef, WaitlistEntryRef } from "./refs.js";

const WaitlistStatusEnum = builder.enumType("WaitlistStatus", {
  values: {
    WAITING: { description: "In line" },
    OFFERED: { description: "Units came back and were held for you: see hold (it expires; then it passes to the next in line)" },
    FULFILLED: { description: "You ordered the offered hold" },
    LAPSED: { description: "The offered hold expired or was released" },
    LEFT: { description: "You left the line" },
  },
});

export const WaitlistEntry = builder.node(WaitlistEntryRef, {
  id: { resolve: (e) => e.id },
  fields: (t) => ({
    product: t.field({ type: ProductRef, resolve: async (e, _args, ctx) => (await ctx.loaders.product.load(e.productId))! }),
    quantity: t.exposeInt("quantity"),
    status: t.field({ type: WaitlistStatusEnum, resolve: (e) => e.status }),
    hold: t.field({
      type: HoldRef,
      nullable: true,
      description: "The hold you were offered",
      resolve: (e, _args, ctx) => (e.holdId ? ctx.loaders.hold.load(e.holdId) : null),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "Your place in line" }),
  }),
});

builder.queryFields((t) => ({
  myWaitlist: t.connection({
    type: WaitlistEntry,
    description: "The calling customer's waitlist entries, oldest first",
    resolve: (_root, args, ctx) => keysetConnection(args, (page) => ctx.services.waitlist.page(ctx, page)),
  }),
}));

builder.mutationFields((t) => ({
  joinWaitlist: t.field({
    type: WaitlistEntry,
    description:
      "Customers: queue for units of a product. Restocks (and units that holds give back) are offered first come, first served, as holds of WAITLIST_HOLD_TTL; an entry whose quantity does not fit keeps its place",
    args: { productId: t.arg.id({ required: true }), quantity: t.arg.int({ required: true }) },
    errors: mutationResult("JoinWaitlist", "entry", [NotFoundError]),
    resolve: (_root, args, ctx) =>
      ctx.services.waitlist.join(ctx, { productId: fromGlobalId("Product", String(args.productId)), quantity: args.quantity }),
  }),
  leaveWaitlist: t.field({
    type: WaitlistEntry,
    description: "Leave the line (a WAITING entry; an offered hold is given back with releaseHold)",
    args: { id: t.arg.id({ required: true }) },
    errors: mutationResult("LeaveWaitlist", "entry", [NotFoundError]),
    resolve: (_root, args, ctx) => ctx.services.waitlist.leave(ctx, fromGlobalId("WaitlistEntry", String(args.id))),
  }),
}));
