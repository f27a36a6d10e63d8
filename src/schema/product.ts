// Product type, catalogue queries and product mutations. Resolvers only
// translate between GraphQL and ProductService, which owns the rules.
import {
  DuplicateSkuError,
  InsufficientStockError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from "../errors/domain-errors.js";
import { builder } from "./builder.js";
import { mutationResult } from "./errors.js";
import { decodeGlobalIdOrThrow, fromGlobalId } from "./ids.js";
import { keysetConnection } from "./pagination.js";
import { ProductRef } from "./refs.js";

export const Product = builder.node(ProductRef, {
  id: { resolve: (p) => p.id },
  fields: (t) => ({
    sku: t.exposeString("sku"),
    name: t.exposeString("name"),
    description: t.exposeString("description"),
    priceCents: t.exposeInt("priceCents"),
    currency: t.exposeString("currency", { description: "ISO-4217 code" }),
    stock: t.exposeInt("stock", {
      description: "Units on hand, including those set aside by holds; what can be ordered or held now is available",
    }),
    version: t.exposeInt("version", { description: "Incremented on every write; send it back as expectedVersion" }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

builder.queryFields((t) => ({
  product: t.field({
    type: Product,
    nullable: true,
    description: "One product by ID or by SKU (not both)",
    args: { id: t.arg.id({ required: false }), sku: t.arg.string({ required: false }) },
    resolve: async (_root, args, ctx) => {
      if (args.id != null && args.sku != null) throw new ValidationError("sku", "Give id or sku, not both");
      if (args.id != null) {
        const { typename, id } = decodeGlobalIdOrThrow(String(args.id));
        return typename === "Product" ? ctx.loaders.product.load(id) : null;
      }
      return args.sku != null ? ctx.services.products.bySku(args.sku, ctx) : null;
    },
  }),
  products: t.connection(
    {
      type: Product,
      description: "The catalogue, oldest first",
      args: {
        search: t.arg.string({ required: false, description: "Case-insensitive match on name or SKU" }),
        inStock: t.arg.boolean({ required: false, description: "true: only stock > 0; false: only sold out" }),
      },
      resolve: async (_root, args, ctx) => {
        const filter = { search: args.search, inStock: args.inStock };
        const connection = await keysetConnection(args, (page) => ctx.services.products.page(ctx, page, filter));
        // Counted only when asked for (one COUNT with the same filter).
        return { ...connection, totalCount: () => ctx.services.products.count(ctx, filter) };
      },
    },
    {
      fields: (t) => ({
        totalCount: t.int({
          description: "How many products match the search and filter, on all pages",
          resolve: (connection) => (connection as { totalCount: () => Promise<number> }).totalCount(),
        }),
      }),
    },
  ),
}));

const CreateProductInput = builder.inputType("CreateProductInput", {
  fields: (t) => ({
    sku: t.string({ required: true }),
    name: t.string({ required: true }),
    description: t.string({ required: false }),
    priceCents: t.int({ required: true }),
    currency: t.string({ required: true, description: "ISO-4217 code, e.g. EUR" }),
    initialStock: t.int({ required: true }),
  }),
});

const UpdateProductInput = builder.inputType("UpdateProductInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    expectedVersion: t.int({ required: true, description: "The version you read; refused if it changed since" }),
    name: t.string({ required: false }),
    description: t.string({ required: false }),
    priceCents: t.int({ required: false }),
  }),
});

const AdjustStockInput = builder.inputType("AdjustStockInput", {
  fields: (t) => ({
    productId: t.id({ required: true }),
    delta: t.int({ required: true, description: "Positive to restock, negative to write off" }),
    reason: t.string({ required: true, description: "Why, for the audit trail (e.g. 'delivery 4711', 'damaged')" }),
    expectedVersion: t.int({ required: false, description: "If given, a compare-and-set; otherwise an atomic relative change" }),
  }),
});

builder.mutationFields((t) => ({
  createProduct: t.field({
    type: Product,
    description: "Admin only",
    args: { input: t.arg({ type: CreateProductInput, required: true }) },
    errors: mutationResult("CreateProduct", "product", [DuplicateSkuError]),
    resolve: (_root, { input }, ctx) => ctx.services.products.create(ctx, input),
  }),
  updateProduct: t.field({
    type: Product,
    description: "Admin only",
    args: { input: t.arg({ type: UpdateProductInput, required: true }) },
    errors: mutationResult("UpdateProduct", "product", [VersionConflictError, NotFoundError]),
    resolve: (_root, { input }, ctx) => ctx.services.products.update(ctx, { ...input, id: fromGlobalId("Product", String(input.id)) }),
  }),
  adjustStock: t.field({
    type: Product,
    description: "Admin only",
    args: { input: t.arg({ type: AdjustStockInput, required: true }) },
    errors: mutationResult("AdjustStock", "product", [VersionConflictError, InsufficientStockError, NotFoundError]),
    resolve: (_root, { input }, ctx) =>
      ctx.services.products.adjustStock(ctx, { ...input, productId: fromGlobalId("Product", String(input.productId)) }),
  }),
}));
