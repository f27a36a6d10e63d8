// node(id:) and nodes(ids:), our own rather than the Relay plugin's, so that each
// ID is answered on its own: in nodes(ids:) a malformed or refused ID is null at
// its position with an error for it, its siblings unaffected. An ID of a type
// that does not exist (or of someone else's order or account) is null, as for
// an ID of nothing; customer data needs credentials whether or not it exists.
import { brandWithType } from "@pothos/core";
import { GraphQLError } from "graphql";
import { decodeGlobalId } from "../ids/index.js";
import { isAdmin } from "../auth/viewer.js";
import { builder } from "./builder.js";
import type { GraphQLContext } from "./context.js";

const loaders: Record<string, (ctx: GraphQLContext, id: string) => Promise<object | null>> = {
  Product: (ctx, id) => ctx.loaders.product.load(id),
  Customer: async (ctx, id) => ctx.services.customers.visible(ctx, await ctx.loaders.customer.load(id)),
  Order: async (ctx, id) => ctx.services.orders.visible(ctx, await ctx.loaders.order.load(id)),
  Hold: async (ctx, id) => ctx.services.holds.visible(ctx, await ctx.loaders.hold.load(id)),
  WaitlistEntry: async (ctx, id) => ctx.services.waitlist.visible(ctx, await ctx.loaders.waitlistEntry.load(id)),
  Location: (ctx, id) => ctx.loaders.location.load(id),
  Transfer: async (ctx, id) => (isAdmin(ctx) ? ctx.loaders.transfer.load(id) : null),
  PriceList: async (ctx, id) => (isAdmin(ctx) ? ctx.loaders.priceList.load(id) : null),
  BulkOperation: async (ctx, id) => (await ctx.services.bulkImports.byIds(ctx, [id]))[0] ?? null,
};

async function loadNode(ctx: GraphQLContext, globalId: string): Promise<object | null> {
  const decoded = decodeGlobalId(globalId);
  if (!decoded) {
    throw new GraphQLError(`Invalid ID: ${JSON.stringify(globalId.slice(0, 100))}`, { extensions: { code: "BAD_USER_INPUT" } });
  }
  const load = Object.hasOwn(loaders, decoded.typename) ? loaders[decoded.typename] : undefined;
  const node = load ? await load(ctx, decoded.id) : null;
  if (node) brandWithType(node, decoded.typename as never); // how the Node interface resolves its type
  return node;
}

builder.queryFields((t) => ({
  node: t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => loadNode(ctx, String(args.id)),
  }),
  nodes: t.field({
    type: [builder.nodeInterfaceRef()],
    nullable: { list: false, items: true },
    args: { ids: t.arg.idList({ required: true }) },
    // Each position settled here, a failure as its Error: graphql-js and graphql-jit both make an
    // Error item null with an error at its path. (A list of pending promises lost positions under
    // graphql-jit when several of them rejected.)
    resolve: (_root, args, ctx) =>
      Promise.all(args.ids.map((id) => loadNode(ctx, String(id)).catch((err: unknown) => err as Error))) as never,
  }),
}));
