// Customer type, the caller's own account (me) and the admin customer list.
import { requireOwnerOrAdmin } from "../context/request-context.js";
import { DuplicateEmailError } from "../errors/domain-errors.js";
import { builder } from "./builder.js";
import { mutationResult } from "./errors.js";
import { OrderStatusEnum } from "./order-status.js";
import { keysetConnection } from "./pagination.js";
import { CustomerRef, OrderRef } from "./refs.js";

export const Customer = builder.node(CustomerRef, {
  id: { resolve: (c) => c.id },
  loadMany: (ids, ctx) =>
    Promise.all(
      ids.map(async (id) => {
        const c = await ctx.loaders.customer.load(id);
        if (c) requireOwnerOrAdmin(ctx, c.id);
        return c;
      }),
    ),
  fields: (t) => ({
    email: t.exposeString("email"),
    name: t.exposeString("name"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    orders: t.connection({
      type: OrderRef,
      description: "This customer's orders, oldest first",
      args: { status: t.arg({ type: OrderStatusEnum, required: false }) },
      resolve: (customer, args, ctx) => {
        requireOwnerOrAdmin(ctx, customer.id);
        return keysetConnection(args, (page) =>
          ctx.loaders.customerOrders.load({ customerId: customer.id, page, status: args.status ?? null }),
        );
      },
    }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    type: Customer,
    description: "The calling customer (needs a customer token)",
    resolve: (_root, _args, ctx) => ctx.services.customers.me(ctx),
  }),
  customers: t.connection({
    type: Customer,
    description: "Admin only",
    resolve: (_root, args, ctx) => keysetConnection(args, (page) => ctx.services.customers.page(ctx, page)),
  }),
}));

const CreateCustomerInput = builder.inputType("CreateCustomerInput", {
  fields: (t) => ({ email: t.string({ required: true }), name: t.string({ required: true }) }),
});

builder.mutationFields((t) => ({
  createCustomer: t.field({
    type: Customer,
    description: "Admin only",
    args: { input: t.arg({ type: CreateCustomerInput, required: true }) },
    errors: mutationResult("CreateCustomer", "customer", [DuplicateEmailError]),
    resolve: (_root, { input }, ctx) => ctx.services.customers.create(ctx, input),
  }),
}));
