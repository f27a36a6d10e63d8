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
      description:
        "Units on hand at the active locations that fulfil orders (inventory.onHand), including units held or committed to orders",
      deprecationReason: "Use inventory { onHand available } (or stockLevels per location); available is what can be ordered",
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
        inStock: t.arg.boolean({
          required: false,
          description: "true: only products with units on hand not committed to orders (stock > committed); false: only sold out",
        }),
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

const AdjustmentReasonEnum = builder.enumType("AdjustmentReason", {
  description: "Why an admin changed a level's on hand (adjustStock, setOnHand); kept on the ledger row",
  values: {
    RECEIVED: { description: "Units arrived from a supplier (a delivery, a purchase order)" },
    CORRECTION: { description: "A mistake in an earlier count or booking is put right" },
    DAMAGED: { description: "Units broken or spoiled, no longer sellable" },
    SHRINKAGE: { description: "Units gone without a record: theft, loss, miscounts found later" },
    RETURNED: { description: "Units a customer sent back, sellable again" },
    CYCLE_COUNT: { description: "A physical count replaced the number on record (setOnHand's default)" },
    OTHER: { description: "Anything else: say what in note" },
  },
});

const AdjustStockInput = builder.inputType("AdjustStockInput", {
  fields: (t) => ({
    productId: t.id({ required: true }),
    locationId: t.id({ required: false, description: "Where; the default location (the first that fulfils orders) when not given" }),
    delta: t.int({ required: true, description: "Positive to restock, negative to write off" }),
    reason: t.field({ type: AdjustmentReasonEnum, required: true, description: "Why, for the ledger" }),
    note: t.string({ required: false, description: "Free text for the ledger (e.g. 'delivery 4711')" }),
    expectedVersion: t.int({
      required: false,
      description: "The product's version: if given, a compare-and-set; otherwise an atomic relative change",
    }),
  }),
});

const SetOnHandInput = builder.inputType("SetOnHandInput", {
  fields: (t) => ({
    productId: t.id({ required: true }),
    locationId: t.id({ required: false, description: "Where; the default location when not given" }),
    onHand: t.int({ required: true, description: "The counted quantity" }),
    expectedVersion: t.int({
      required: true,
      description: "The level's version (StockLevel.version) the count was taken against; refused if the level changed since",
    }),
    reason: t.field({ type: AdjustmentReasonEnum, required: false, description: "CYCLE_COUNT when not given" }),
    note: t.string({ required: false }),
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
    resolve: (_root, { input }, ctx) => ctx.services.products.adjustStock(ctx, { ...input, ...stockTarget(input) }),
  }),
  setOnHand: t.field({
    type: Product,
    description: "Admin only. A counted quantity for one product at one location",
    args: { input: t.arg({ type: SetOnHandInput, required: true }) },
    errors: mutationResult("SetOnHand", "product", [VersionConflictError, InsufficientStockError, NotFoundError]),
    resolve: (_root, { input }, ctx) => ctx.services.products.setOnHand(ctx, { ...input, ...stockTarget(input) }),
  }),
}));

/** The product and (optional) location a stock write names, as database ids. */
const stockTarget = (input: { productId: string | number; locationId?: string | number | null }) => ({
  productId: fromGlobalId("Product", String(input.productId)),
  locationId: input.locationId == null ? null : fromGlobalId("Location", String(input.locationId)),
});
