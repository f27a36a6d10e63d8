// Type references shared across domain files, so product.ts, customer.ts and
// order.ts can point at each other without importing each other.
import type { Customer, OrderItem, Product } from "../generated/prisma/client.js";
import type { OrderRow } from "../db/order.sql.js";
import { builder } from "./builder.js";

export const ProductRef = builder.objectRef<Product>("Product");
export const CustomerRef = builder.objectRef<Customer>("Customer");
export const OrderRef = builder.objectRef<OrderRow>("Order");
export const OrderItemRef = builder.objectRef<OrderItem>("OrderItem");
