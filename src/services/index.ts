// The services a request can use; built once per process from its backends.
import type { Prisma } from "../db/database.js";
import { CustomerService } from "./customer.service.js";
import { OrderService } from "./order.service.js";
import { ProductService } from "./product.service.js";

export interface Services {
  products: ProductService;
  customers: CustomerService;
  orders: OrderService;
}

export function createServices(deps: { prisma: Prisma }): Services {
  return {
    products: new ProductService(deps.prisma),
    customers: new CustomerService(deps.prisma),
    orders: new OrderService(deps.prisma),
  };
}
