// The services a request can use; built once per process from its backends.
import type { Prisma } from "../db/database.js";
import { ProductService } from "./product.service.js";

export interface Services {
  products: ProductService;
}

export function createServices(deps: { prisma: Prisma }): Services {
  return { products: new ProductService(deps.prisma) };
}
