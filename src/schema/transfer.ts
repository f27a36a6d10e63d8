// Transfers between locations: the Transfer type, transferStock /
// receiveTransfer / cancelTransfer, and Location.transfers. Admin only.
// Resolvers only translate; TransferService owns the rules.
import {
  InsufficientStockError,
  NotFoundError,
  TransferNotInTransitError,
  ValidationError,
  VersionConflictError,
} from "../errors/domain-errors.js";
import { builder } from "./builder.js";
import { mutationResult } from "./errors.js";
import { fromGlobalId } from "./ids.js";
import { keysetConnection } from "./pagination.js";
import { LocationRef, ProductRef, TransferRef } from "./refs.js";

const TransferStatusEnum = builder.enumType("TransferStatus", {
  values: {
    IN_TRANSIT: { description: "Units are on the way (incoming at `to`)" },
    RECEIVED: { description: "Nothing is on the way any more and some units arrived (the rest, if any, were cancelled)" },
    CANCELLED: { description: "All units went back to `from`" },
  },
});

builder.node(TransferRef, {
  id: { resolve: (t) => t.id },
  description: "Units of one product on their way from one location to another",
  fields: (t) => ({
    product: t.field({ type: ProductRef, resolve: async (x, _args, ctx) => (await ctx.loaders.product.load(x.productId))! }),
    from: t.field({ type: LocationRef, resolve: async (x, _args, ctx) => (await ctx.loaders.location.load(x.fromLocationId))! }),
    to: t.field({ type: LocationRef, resolve: async (x, _args, ctx) => (await ctx.loaders.location.load(x.toLocationId))! }),
    quantity: t.exposeInt("quantity", { description: "Units sent" }),
    received: t.exposeInt("received", { description: "Units that arrived at `to`" }),
    cancelled: t.exposeInt("cancelled", { description: "Units sent back to `from`" }),
    inTransit: t.int({ description: "Units still on the way", resolve: (x) => x.quantity - x.received - x.cancelled }),
    status: t.field({ type: TransferStatusEnum, resolve: (x) => x.status }),
    version: t.exposeInt("version", { description: "Incremented on every write; send it back as expectedVersion" }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

builder.objectFields(LocationRef, (t) => ({
  transfers: t.connection({
    type: TransferRef,
    nullable: true,
    description: "Admin only: transfers from or to this location, oldest first (forward pages)",
    resolve: (l, args, ctx) =>
      keysetConnection(args, (page) => {
        if (page.inverted) throw new ValidationError("last", "Transfers page forwards only: use first and after");
        return ctx.services.transfers.page(ctx, l.id, page.after, page.limit);
      }),
  }),
}));

const TransferStockInput = builder.inputType("TransferStockInput", {
  fields: (t) => ({
    productId: t.id({ required: true }),
    from: t.id({ required: true, description: "Location the units leave (from what is available there)" }),
    to: t.id({ required: true, description: "Location where they will arrive (incoming until received)" }),
    quantity: t.int({ required: true }),
  }),
});

const SettleTransferInput = builder.inputType("SettleTransferInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    quantity: t.int({ required: false, description: "How many; all that are still on the way when not given" }),
    expectedVersion: t.int({ required: false }),
  }),
});

const settleErrors = [VersionConflictError, NotFoundError, TransferNotInTransitError];
const transferId = (input: { id: string | number }) => fromGlobalId("Transfer", String(input.id));

builder.mutationFields((t) => ({
  transferStock: t.field({
    type: TransferRef,
    description: "Admin only. Sends units from one location towards another",
    args: { input: t.arg({ type: TransferStockInput, required: true }) },
    errors: mutationResult("TransferStock", "transfer", [InsufficientStockError, NotFoundError]),
    resolve: (_root, { input }, ctx) =>
      ctx.services.transfers.send(ctx, {
        productId: fromGlobalId("Product", String(input.productId)),
        from: fromGlobalId("Location", String(input.from)),
        to: fromGlobalId("Location", String(input.to)),
        quantity: input.quantity,
      }),
  }),
  receiveTransfer: t.field({
    type: TransferRef,
    description: "Admin only. Lands units of a transfer on hand at its destination: all, or a count",
    args: { input: t.arg({ type: SettleTransferInput, required: true }) },
    errors: mutationResult("ReceiveTransfer", "transfer", settleErrors),
    resolve: (_root, { input }, ctx) => ctx.services.transfers.receive(ctx, { ...input, id: transferId(input) }),
  }),
  cancelTransfer: t.field({
    type: TransferRef,
    description: "Admin only. Sends what has not arrived (or a count of it) back on hand where it came from",
    args: { input: t.arg({ type: SettleTransferInput, required: true }) },
    errors: mutationResult("CancelTransfer", "transfer", settleErrors),
    resolve: (_root, { input }, ctx) => ctx.services.transfers.cancel(ctx, { ...input, id: transferId(input) }),
  }),
}));
