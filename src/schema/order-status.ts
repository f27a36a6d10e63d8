import { OrderStatus } from "../generated/prisma/enums.js";
import { builder } from "./builder.js";

export const OrderStatusEnum = builder.enumType("OrderStatus", {
  description: "PENDING -> CONFIRMED -> SHIPPED -> DELIVERED; PENDING or CONFIRMED -> CANCELLED",
  values: Object.values(OrderStatus),
});
