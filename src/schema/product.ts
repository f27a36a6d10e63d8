// Product type and catalogue queries. Resolvers only translate; rules live in ProductService.
import type { Product as ProductRow } from "../generated/prisma/client.js";
import { builder } from "./builder.js";
import { keysetConnection } from "./pagination.js";

export const Product = builder.node(builder.objectRef<ProductRow>("Product"), {
  id: { resolve: (p) => p.id },
  loadMany: (ids, ctx) => Promise.all(ids.map((id) => ctx.loaders.product.load(id))),
  fields: (t) => ({
    sku: t.exposeString("sku"),
    name: t.exposeString("name"),
    description: t.exposeString("description"),
    priceCents: t.exposeInt("priceCents"),
    currency: t.exposeString("currency", { description: "ISO-4217 code" }),
    stock: t.exposeInt("stock", { description: "Units available to order right now" }),
    version: t.exposeInt("version", { description: "Incremented on every write; send it back as expectedVersion" }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

builder.queryFields((t) => ({
  products: t.connection({
    type: Product,
    description: "The catalogue, oldest first",
    args: {
      search: t.arg.string({ required: false, description: "Case-insensitive match on name or SKU" }),
      inStock: t.arg.boolean({ required: false, description: "true: only stock > 0; false: only sold out" }),
    },
    resolve: (_root, args, ctx) =>
      keysetConnection(args, (page) => ctx.services.products.page(ctx, page, { search: args.search, inStock: args.inStock })),
  }),
}));
