// Prices: Money, Product.price and priceTiers for the viewer, the priceChanged
// subscription, price lists and their admin mutations, the customer's group,
// and where an order line's price came from. Resolvers only translate: the rule is services/pricing/price-rule.ts,
// the writes PriceListService's.
import { DuplicatePriceListCodeError, NotFoundError, VersionConflictError } from "../errors/domain-errors.js";
import { price } from "../services/pricing/price-book.js";
import type { PriceChange } from "../services/pricing/price-feed.js";
import { LIMITS, requireInt } from "../services/limits.js";
import { MAX_SUBSCRIBED_PRODUCTS } from "../services/live.service.js";
import { builder } from "./builder.js";
import { mutationResult } from "./errors.js";
import { expectGlobalId, fromGlobalId, toGlobalId } from "./ids.js";
import { CustomerRef, OrderItemRef, PriceListRef, ProductRef } from "./refs.js";
import type { GraphQLContext } from "./context.js";

const Money = builder.objectRef<{ amountCents: number; currency: string }>("Money").implement({
  description: "An amount in the smallest unit of its currency",
  fields: (t) => ({
    amountCents: t.exposeInt("amountCents"),
    currency: t.exposeString("currency", { description: "ISO-4217 code" }),
  }),
});

const PriceTier = builder.objectRef<{ minQuantity: number; unitPriceCents: number }>("PriceTier").implement({
  description: "From minQuantity units on a line, each costs unitPriceCents",
  fields: (t) => ({ minQuantity: t.exposeInt("minQuantity"), unitPriceCents: t.exposeInt("unitPriceCents") }),
});

export const PriceList = builder.node(PriceListRef, {
  id: { resolve: (l) => l.id },
  description:
    "Prices for one customer group, active while startsAt <= now < endsAt (either open); the lowest priority wins among a group's active lists",
  fields: (t) => ({
    code: t.exposeString("code"),
    name: t.exposeString("name"),
    currency: t.string({ description: "ISO-4217 code: only products priced in it get entries", resolve: (l) => l.currency.trim() }),
    customerGroup: t.exposeString("customerGroup"),
    priority: t.exposeInt("priority", { description: "Lower wins" }),
    startsAt: t.expose("startsAt", { type: "DateTime", nullable: true }),
    endsAt: t.expose("endsAt", { type: "DateTime", nullable: true }),
    version: t.exposeInt("version", { description: "Incremented on every write; send it back as expectedVersion" }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

const PriceListEntry = builder
  .objectRef<{ priceListId: string; productId: string; unitPriceCents: number; tiers: unknown; version: number }>("PriceListEntry")
  .implement({
    fields: (t) => ({
      product: t.field({ type: ProductRef, resolve: async (e, _args, ctx) => (await ctx.loaders.product.load(e.productId))! }),
      unitPriceCents: t.exposeInt("unitPriceCents", { description: "Below the first tier" }),
      tiers: t.field({ type: [PriceTier], resolve: (e) => e.tiers as { minQuantity: number; unitPriceCents: number }[] }),
      version: t.exposeInt("version"),
    }),
  });

/**
 * The viewer's group: a customer's own (from the price book's memory, as placeOrder prices it);
 * anyone else (anonymous, admins) pays base prices.
 */
async function viewerGroup(ctx: GraphQLContext): Promise<string | null> {
  if (ctx.viewer.kind !== "customer") return null;
  return ctx.services.prices.groupOf(ctx.viewer.customerId);
}

async function viewerPrice(ctx: GraphQLContext, productId: string, quantity: number) {
  const [pricing, group] = await Promise.all([ctx.loaders.pricing.load(productId), viewerGroup(ctx)]);
  if (!pricing) throw new NotFoundError("Product", productId);
  return price(pricing, quantity, group, new Date());
}

/**
 * The same for one update of a subscription: from the price book itself, not the loaders (a
 * subscription's context lives as long as its socket; its loaders would keep the first prices).
 */
async function livePrice(ctx: GraphQLContext, productId: string, quantity: number) {
  const [[pricing], group] = await Promise.all([ctx.services.prices.pricing([productId]), viewerGroup(ctx)]);
  if (!pricing) throw new NotFoundError("Product", productId);
  return { chosen: price(pricing, quantity, group, new Date()), pricing };
}

const PriceChangeType = builder.objectRef<PriceChange>("PriceChange").implement({
  description: "A product's prices for you after a change (or, first, as they are)",
  fields: (t) => ({
    // Not the Product itself: rendering it would read its row for every subscriber of every change.
    productId: t.id({ resolve: (c) => toGlobalId("Product", c.productId) }),
    basePrice: t.field({
      type: Money,
      description: "The product's own price (Product.priceCents), what anyone without a price list pays",
      resolve: async (c, _args, ctx) => {
        const { base } = (await livePrice(ctx, c.productId, 1)).pricing;
        return { amountCents: base.unitPriceCents, currency: base.currency };
      },
    }),
    price: t.field({
      type: Money,
      description: "What one unit costs you on a line of `quantity` units now (as Product.price)",
      args: { quantity: t.arg.int({ required: true, defaultValue: 1 }) },
      resolve: async (c, args, ctx) => {
        const { chosen } = await livePrice(ctx, c.productId, requireInt("quantity", args.quantity, 1, LIMITS.maxQuantityPerLine));
        return { amountCents: chosen.unitPriceCents, currency: chosen.currency };
      },
    }),
    priceTiers: t.field({
      type: [PriceTier],
      description: "Your quantity breaks now (as Product.priceTiers)",
      resolve: async (c, _args, ctx) => [...(await livePrice(ctx, c.productId, 1)).chosen.tiers],
    }),
    priceVersion: t.int({
      description: "The product's price version these prices are at: keep the highest per product",
      resolve: async (c, _args, ctx) => Math.max(c.version, (await livePrice(ctx, c.productId, 1)).pricing.priceVersion),
    }),
    occurredAt: t.expose("occurredAt", { type: "DateTime" }),
  }),
});

builder.subscriptionField("priceChanged", (t) =>
  t.field({
    type: PriceChangeType,
    description:
      "First each product's prices for you as they are, then again after each change to them (its base price, or a price list's entry, dates, group or priority), as it commits. A list that starts or ends by its dates alone sends nothing: price lists' startsAt and endsAt are on PriceList",
    args: { productIds: t.arg.idList({ required: true, description: `1-${MAX_SUBSCRIBED_PRODUCTS} products` }) },
    subscribe: async (_root, args, ctx) =>
      ctx.services.priceChanges(
        ctx,
        args.productIds.map((gid) => expectGlobalId("Product", String(gid))),
      ),
    resolve: (change) => change,
  }),
);

builder.objectFields(ProductRef, (t) => ({
  price: t.field({
    type: Money,
    description:
      "What one unit costs you on a line of `quantity` units: your group's price list (its best tier reached), else priceCents. What placeOrder charges now",
    args: { quantity: t.arg.int({ required: true, defaultValue: 1 }) },
    resolve: async (p, args, ctx) => {
      const quantity = requireInt("quantity", args.quantity, 1, LIMITS.maxQuantityPerLine);
      const chosen = await viewerPrice(ctx, p.id, quantity);
      return { amountCents: chosen.unitPriceCents, currency: chosen.currency };
    },
  }),
  priceTiers: t.field({
    type: [PriceTier],
    description: "Your quantity breaks for this product (from your group's price list; empty when none applies)",
    resolve: async (p, _args, ctx) => [...(await viewerPrice(ctx, p.id, 1)).tiers],
  }),
}));

builder.objectFields(CustomerRef, (t) => ({
  customerGroup: t.exposeString("customerGroup", { nullable: true, description: "Which price lists apply; null: base prices" }),
}));

builder.objectFields(OrderItemRef, (t) => ({
  priceList: t.field({
    type: PriceList,
    nullable: true,
    description: "Admin only (null for others): the price list unitPriceCents came from; null: the product's base price",
    resolve: (i, _args, ctx) => (i.priceListId && ctx.viewer.kind === "admin" ? ctx.loaders.priceList.load(i.priceListId) : null),
  }),
}));

const PriceTierInput = builder.inputType("PriceTierInput", {
  fields: (t) => ({ minQuantity: t.int({ required: true }), unitPriceCents: t.int({ required: true }) }),
});

const CreatePriceListInput = builder.inputType("CreatePriceListInput", {
  fields: (t) => ({
    code: t.string({ required: true, description: "Unique; stored upper case" }),
    name: t.string({ required: true }),
    currency: t.string({ required: true, description: "ISO-4217 code, e.g. EUR" }),
    customerGroup: t.string({ required: true }),
    priority: t.int({ required: false, description: "Lower wins; 0 when not given" }),
    startsAt: t.field({ type: "DateTime", required: false }),
    endsAt: t.field({ type: "DateTime", required: false }),
  }),
});

const UpdatePriceListInput = builder.inputType("UpdatePriceListInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    expectedVersion: t.int({ required: true }),
    name: t.string({ required: false }),
    customerGroup: t.string({ required: false }),
    priority: t.int({ required: false }),
    startsAt: t.field({ type: "DateTime", required: false, description: "null: open" }),
    endsAt: t.field({ type: "DateTime", required: false, description: "null: open" }),
  }),
});

const EndPriceListInput = builder.inputType("EndPriceListInput", {
  fields: (t) => ({ id: t.id({ required: true }), expectedVersion: t.int({ required: true }) }),
});

const SetPriceListEntryInput = builder.inputType("SetPriceListEntryInput", {
  fields: (t) => ({
    priceListId: t.id({ required: true }),
    productId: t.id({ required: true }),
    unitPriceCents: t.int({ required: true }),
    tiers: t.field({
      type: [PriceTierInput],
      required: false,
      description: "Ascending, unique minQuantity from 2; at most 20",
    }),
  }),
});

const SetCustomerGroupInput = builder.inputType("SetCustomerGroupInput", {
  fields: (t) => ({ customerId: t.id({ required: true }), customerGroup: t.string({ required: false, description: "null: none" }) }),
});

/** Only the keys the client sent: null clears a date, an absent one leaves it. */
const sentDate = (input: object, key: "startsAt" | "endsAt") =>
  key in input ? { [key]: (input as Record<string, Date | null>)[key] ?? null } : {};

builder.mutationFields((t) => ({
  createPriceList: t.field({
    type: PriceList,
    description: "Admin only",
    args: { input: t.arg({ type: CreatePriceListInput, required: true }) },
    errors: mutationResult("CreatePriceList", "priceList", [DuplicatePriceListCodeError]),
    resolve: (_root, { input }, ctx) => ctx.services.priceLists.create(ctx, input),
  }),
  updatePriceList: t.field({
    type: PriceList,
    description: "Admin only. Name, group, priority, dates (the currency stays)",
    args: { input: t.arg({ type: UpdatePriceListInput, required: true }) },
    errors: mutationResult("UpdatePriceList", "priceList", [VersionConflictError, NotFoundError]),
    resolve: (_root, { input }, ctx) =>
      ctx.services.priceLists.update(ctx, {
        id: fromGlobalId("PriceList", String(input.id)),
        expectedVersion: input.expectedVersion,
        name: input.name,
        customerGroup: input.customerGroup,
        priority: input.priority,
        ...sentDate(input, "startsAt"),
        ...sentDate(input, "endsAt"),
      }),
  }),
  endPriceList: t.field({
    type: PriceList,
    description: "Admin only. Ends the list now",
    args: { input: t.arg({ type: EndPriceListInput, required: true }) },
    errors: mutationResult("EndPriceList", "priceList", [VersionConflictError, NotFoundError]),
    resolve: (_root, { input }, ctx) =>
      ctx.services.priceLists.end(ctx, { id: fromGlobalId("PriceList", String(input.id)), expectedVersion: input.expectedVersion }),
  }),
  setPriceListEntry: t.field({
    type: PriceListEntry,
    description: "Admin only. One product's price and tiers in a list (in the product's currency); written to the price ledger",
    args: { input: t.arg({ type: SetPriceListEntryInput, required: true }) },
    errors: mutationResult("SetPriceListEntry", "entry", [NotFoundError]),
    resolve: async (_root, { input }, ctx) =>
      (
        await ctx.services.priceLists.setEntry(ctx, {
          priceListId: fromGlobalId("PriceList", String(input.priceListId)),
          productId: fromGlobalId("Product", String(input.productId)),
          unitPriceCents: input.unitPriceCents,
          tiers: input.tiers,
        })
      ).entry,
  }),
  setCustomerGroup: t.field({
    type: CustomerRef,
    description: "Admin only",
    args: { input: t.arg({ type: SetCustomerGroupInput, required: true }) },
    errors: mutationResult("SetCustomerGroup", "customer", [NotFoundError]),
    resolve: (_root, { input }, ctx) =>
      ctx.services.priceLists.setCustomerGroup(ctx, {
        customerId: fromGlobalId("Customer", String(input.customerId)),
        customerGroup: input.customerGroup ?? null,
      }),
  }),
}));
