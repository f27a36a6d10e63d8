// The order life cycle: PENDING -> CONFIRMED -> SHIPPED -> DELIVERED, and
// PENDING or CONFIRMED -> CANCELLED. Nothing leaves DELIVERED or CANCELLED.
import type { OrderStatus } from "../generated/prisma/enums.js";

const next: Record<OrderStatus, readonly OrderStatus[]> = {
  PENDING: ["CONFIRMED", "CANCELLED"],
  CONFIRMED: ["SHIPPED", "CANCELLED"],
  SHIPPED: ["DELIVERED"],
  DELIVERED: [],
  CANCELLED: [],
};

export const canTransition = (from: OrderStatus, to: OrderStatus) => next[from].includes(to);
