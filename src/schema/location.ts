// Locations and inventory: the Location type and its admin mutations, a
// product's levels per location and their totals, and where order lines and
// holds take their units from. Resolvers only translate; LocationService
// owns the rules.
import { DuplicateLocationCodeError, LocationInUseError, NotFoundError, VersionConflictError } from "../errors/domain-errors.js";
import { LocationService } from "../services/location.service.js";
import { availableOf } from "../services/location.service.js";
import { builder } from "./builder.js";
import { mutationResult } from "./errors.js";
import { fromGlobalId } from "./ids.js";
import { keysetConnection } from "./pagination.js";
import { AllocationRef, HoldLineRef, InventoryRef, LocationRef, OrderItemRef, ProductRef, StockLevelRef } from "./refs.js";
import type { GraphQLContext } from "./context.js";

export const Location = builder.node(LocationRef, {
  id: { resolve: (l) => l.id },
  description: "A place that holds stock (a warehouse, a store)",
  fields: (t) => ({
    code: t.exposeString("code", { description: "Unique regardless of case, like a SKU" }),
    name: t.exposeString("name"),
    fulfilsOrders: t.exposeBoolean("fulfilsOrders", {
      description: "Orders and holds take units from here (while active); its units count in Product.inventory",
    }),
    priority: t.exposeInt("priority", { description: "Allocation order: lower ships first" }),
    active: t.exposeBoolean("active", { description: "false once deactivated: no stock moves here any more" }),
    version: t.exposeInt("version", { description: "Incremented on every write; send it back as expectedVersion" }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

const inventoryFields = {
  onHand: "Units physically there",
  committed: "Units of placed orders not shipped yet (part of onHand)",
  reserved: "Units set aside by unexpired holds (part of onHand)",
  incoming: "Units in transit to here (not part of onHand)",
  available: "What can be ordered or held: onHand - committed - reserved, never below 0",
} as const;

builder.objectType(StockLevelRef, {
  description: "One product's inventory at one location",
  fields: (t) => ({
    location: t.field({ type: LocationRef, resolve: async (l, _args, ctx) => (await ctx.loaders.location.load(l.locationId))! }),
    onHand: t.exposeInt("onHand", { description: inventoryFields.onHand }),
    committed: t.exposeInt("committed", { description: inventoryFields.committed }),
    reserved: t.exposeInt("reserved", { description: inventoryFields.reserved }),
    incoming: t.exposeInt("incoming", { description: inventoryFields.incoming }),
    available: t.int({ description: inventoryFields.available, resolve: (l) => availableOf(l) }),
    version: t.exposeInt("version", { description: "Of this level: send it back to setOnHand as expectedVersion" }),
  }),
});

builder.objectType(InventoryRef, {
  description: "A product's inventory summed over the active locations that fulfil orders",
  fields: (t) => ({
    onHand: t.exposeInt("onHand", { description: inventoryFields.onHand }),
    committed: t.exposeInt("committed", { description: inventoryFields.committed }),
    reserved: t.exposeInt("reserved", { description: inventoryFields.reserved }),
    incoming: t.exposeInt("incoming", { description: inventoryFields.incoming }),
    available: t.exposeInt("available", { description: inventoryFields.available }),
  }),
});

builder.objectType(AllocationRef, {
  description: "Units of an order line or a hold taken from one location",
  fields: (t) => ({
    location: t.field({ type: LocationRef, resolve: async (a, _args, ctx) => (await ctx.loaders.location.load(a.locationId))! }),
    quantity: t.exposeInt("quantity"),
  }),
});

const levelsOf = (ctx: GraphQLContext, productId: string) => ctx.loaders.stockLevels.load(productId);

builder.objectFields(ProductRef, (t) => ({
  stockLevels: t.field({
    type: [StockLevelRef],
    description: "Inventory per location, in allocation order (lowest priority first)",
    resolve: (p, _args, ctx) => levelsOf(ctx, p.id),
  }),
  inventory: t.field({
    type: InventoryRef,
    description: "Inventory summed over the active locations that fulfil orders",
    resolve: async (p, _args, ctx) => LocationService.inventory(await levelsOf(ctx, p.id)),
  }),
}));

builder.objectFields(OrderItemRef, (t) => ({
  allocations: t.field({
    type: [AllocationRef],
    description: "Where the line's units come from",
    resolve: async (i, _args, ctx) => (await ctx.loaders.orderAllocations.load(i.orderId)).filter((a) => a.productId === i.productId),
  }),
}));

builder.objectFields(HoldLineRef, (t) => ({
  allocations: t.field({
    type: [AllocationRef],
    description: "Where the line's units are set aside",
    resolve: async (l, _args, ctx) => (await ctx.loaders.holdAllocations.load(l.holdId)).filter((a) => a.productId === l.productId),
  }),
}));

builder.queryFields((t) => ({
  locations: t.connection({
    type: Location,
    description: "All locations, active or not, oldest first",
    resolve: (_root, args, ctx) => keysetConnection(args, (page) => ctx.services.locations.page(page)),
  }),
}));

const CreateLocationInput = builder.inputType("CreateLocationInput", {
  fields: (t) => ({
    code: t.string({ required: true, description: "Unique regardless of case: 1-64 letters, digits, '.', '_' or '-'" }),
    name: t.string({ required: true }),
    fulfilsOrders: t.boolean({ required: true }),
    priority: t.int({ required: true, description: "Lower ships first (0 or more)" }),
  }),
});

const UpdateLocationInput = builder.inputType("UpdateLocationInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    expectedVersion: t.int({ required: true, description: "The version you read; refused if it changed since" }),
    name: t.string({ required: false }),
    fulfilsOrders: t.boolean({ required: false, description: "Changes only while the location has no units" }),
    priority: t.int({ required: false }),
  }),
});

const DeactivateLocationInput = builder.inputType("DeactivateLocationInput", {
  fields: (t) => ({ id: t.id({ required: true }), expectedVersion: t.int({ required: false }) }),
});

builder.mutationFields((t) => ({
  createLocation: t.field({
    type: Location,
    description: "Admin only",
    args: { input: t.arg({ type: CreateLocationInput, required: true }) },
    errors: mutationResult("CreateLocation", "location", [DuplicateLocationCodeError]),
    resolve: (_root, { input }, ctx) => ctx.services.locations.create(ctx, input),
  }),
  updateLocation: t.field({
    type: Location,
    description: "Admin only",
    args: { input: t.arg({ type: UpdateLocationInput, required: true }) },
    errors: mutationResult("UpdateLocation", "location", [VersionConflictError, NotFoundError, LocationInUseError]),
    resolve: (_root, { input }, ctx) => ctx.services.locations.update(ctx, { ...input, id: fromGlobalId("Location", String(input.id)) }),
  }),
  deactivateLocation: t.field({
    type: Location,
    description: "Admin only. Refused while the location holds or expects units (on hand, committed, held or incoming)",
    args: { input: t.arg({ type: DeactivateLocationInput, required: true }) },
    errors: mutationResult("DeactivateLocation", "location", [VersionConflictError, NotFoundError, LocationInUseError]),
    resolve: (_root, { input }, ctx) =>
      ctx.services.locations.deactivate(ctx, { ...input, id: fromGlobalId("Location", String(input.id)) }),
  }),
}));
