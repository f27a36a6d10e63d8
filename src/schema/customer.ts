// Customer type, the caller's own account (me) and the admin customer list.
import { DuplicateEmailError, NotFoundError } from "../errors/domain-errors.js";
import { builder } from "./builder.js";
import { mutationResult } from "./errors.js";
import { OrderStatusEnum } from "./order-status.js";
import { keysetConnection } from "./pagination.js";
import { CustomerRef, OrderRef } from "./refs.js";

export const Customer = builder.node(CustomerRef, {
  id: { resolve: (c) => c.id },
  fields: (t) => ({
    email: t.exposeString("email"),
    name: t.exposeString("name"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    orders: t.connection({
      type: OrderRef,
      description: "This customer's orders, oldest first",
      args: { status: t.arg({ type: OrderStatusEnum, required: false }) },
      // Reached only through a visible Customer; still checked, as every read of customer data is.
      resolve: (customer, args, ctx) => {
        if (!ctx.services.customers.visible(ctx, customer)) throw new NotFoundError("Customer", customer.id);
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
