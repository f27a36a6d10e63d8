// Catalogue rules: listing and lookups. Writes arrive with the order API.
import type { Prisma } from "../db/database.js";
import type { Product } from "../generated/prisma/client.js";
import type { RequestContext } from "../context/request-context.js";
import { keysetQuery, type PageRequest } from "./cursor.js";

export interface ProductFilter {
  search?: string | null;
  inStock?: boolean | null;
}

export class ProductService {
  constructor(private readonly prisma: Prisma) {}

  page(_ctx: RequestContext, page: PageRequest, filter: ProductFilter = {}): Promise<Product[]> {
    const { where, orderBy, take } = keysetQuery(page);
    const search = filter.search?.trim();
    return this.prisma.product.findMany({
      where: {
        AND: [
          where,
          search
            ? { OR: [{ name: { contains: search, mode: "insensitive" } }, { sku: { contains: search, mode: "insensitive" } }] }
            : {},
          filter.inStock === true ? { stock: { gt: 0 } } : filter.inStock === false ? { stock: 0 } : {},
        ],
      },
      orderBy,
      take,
    });
  }

  /** One query for many ids, in the order asked; null where none exists. */
  async byIds(ids: readonly string[]): Promise<(Product | null)[]> {
    const rows = await this.prisma.product.findMany({ where: { id: { in: [...ids] } } });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  }
}
