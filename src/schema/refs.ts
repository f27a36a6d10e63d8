// Type references shared across domain files, so product.ts, customer.ts and
// order.ts can point at each other without importing each other.
import type { Customer, HoldLine, Location, OrderItem, PriceList, StockMovement, WaitlistEntry } from "../generated/prisma/client.js";
import type { AllocationRow, LevelRow } from "../db/location.sql.js";
import type { Inventory } from "../services/location.service.js";
import type { OrderRow } from "../db/order.sql.js";
import type { HoldRow } from "../db/hold.sql.js";
import type { TransferRow } from "../db/transfer.sql.js";
import type { ProductRow } from "../services/product.service.js";
import { builder } from "./builder.js";

export const ProductRef = builder.objectRef<ProductRow>("Product");
export const CustomerRef = builder.objectRef<Customer>("Customer");
export const OrderRef = builder.objectRef<OrderRow>("Order");
export const OrderItemRef = builder.objectRef<OrderItem>("OrderItem");
export const HoldRef = builder.objectRef<HoldRow>("Hold");
export const HoldLineRef = builder.objectRef<HoldLine>("HoldLine");
export const WaitlistEntryRef = builder.objectRef<WaitlistEntry>("WaitlistEntry");
export const StockMovementRef = builder.objectRef<StockMovement>("StockMovement");
export const LocationRef = builder.objectRef<Location>("Location");
export const StockLevelRef = builder.objectRef<LevelRow>("StockLevel");
export const InventoryRef = builder.objectRef<Inventory>("Inventory");
export const AllocationRef = builder.objectRef<AllocationRow>("Allocation");
export const TransferRef = builder.objectRef<TransferRow>("Transfer");
export const PriceListRef = builder.objectRef<PriceList>("PriceList");
