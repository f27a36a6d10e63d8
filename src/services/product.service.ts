// Catalogue rules: listing, lookups, and every write to a product. Writes are
// optimistic: each bumps `version`, and a write that names an expectedVersion
// succeeds only if it still matches, checked in the same statement.
import { randomUUID } from "node:crypto";
import type { DbClient } from "../db/database.js";
import { primaryOnly, type Reads } from "../db/replicas.js";
import type { Product } from "../generated/prisma/client.js";
import { isUniqueViolation } from "../db/errors.js";
import { adjustStockAtomically, createdEvent, ensureLevel, type OnHandChange } from "../db/stock.sql.js";
import { requireAdjustmentReason } from "./adjustment-reason.js";
import { openingMovements } from "../db/ledger.sql.js";
import { priceChangedOutbox } from "../events/price-changed.event.js";
import { LocationService } from "./location.service.js";
import type { OutboxSignal } from "../events/outbox-signal.js";
import { requireAdmin, type RequestContext } from "../auth/viewer.js";
import {
  DuplicateSkuError,
  InsufficientStockError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from "../errors/domain-errors.js";
import { alignByIds } from "../db/align-by-ids.js";
import { pageBounds, type PageRequest } from "../db/keyset.js";
import { LIMITS, SKU, requireCurrency, requireInt, requireMatch, requireText, requireUuid } from "./limits.js";
import { noMetrics, type Metrics } from "../observability/metrics.js";
import { productsByIds, productsCount, productsPage, type ProductFilterQuery } from "../db/product.sql.js";
import { holdReadings, type HoldReading } from "../db/hold-times.sql.js";
import { actorOf } from "./hold-status.js";
import { offerToWaitlist } from "./waitlist-offer.js";

/**
 * A product row, with what its reserved column still counts for holds already
 * past expiry when that is known (read with it, or 0 for a row rebuilt from a
 * stock change event, whose reserved counts unexpired holds only).
 */
export type ProductRow = Product & { lapsedReserved?: number };

export interface ProductFilter {
  search?: string | null;
  inStock?: boolean | null;
}

export interface CreateProductInput {
  sku: string;
  name: string;
  description?: string | null;
  priceCents: number;
  currency: string;
  initialStock: number;
}

export interface UpdateProductInput {
  id: string;
  expectedVersion: number;
  name?: string | null;
  description?: string | null;
  priceCents?: number | null;
}

export interface AdjustStockInput {
  productId: string;
  /** Where; the default location (the first that fulfils orders) when not given. */
  locationId?: string | null;
  delta: number;
  /** An AdjustmentReason */
  reason: string;
  note?: string | null;
  expectedVersion?: number | null;
}

export interface SetOnHandInput {
  productId: string;
  locationId?: string | null;
  /** The counted quantity */
  onHand: number;
  /** An AdjustmentReason; CYCLE_COUNT when not given */
  reason?: string | null;
  note?: string | null;
  /** The level's version (StockLevel.version) the count was taken against */
  expectedVersion: number;
}

export class ProductService {
  constructor(
    private readonly prisma: DbClient,
    private readonly outbox: OutboxSignal,
    private readonly metrics: Metrics = noMetrics,
    /** Catalogue reads of read-only requests may go to a replica; writes never. */
    private readonly reads: Reads = primaryOnly(prisma),
    private readonly waitlistTtlSeconds = 600,
    private readonly locations = new LocationService(prisma, metrics),
    /** This process's in-memory prices, dropped for a product whose base price changed. */
    private readonly prices?: { dropProducts(productIds: string[]): void },
  ) {}

  /** Admin: a page of a product's stock ledger, newest first (keyset on the movement id). */
  movements(ctx: RequestContext, productId: string, page: { after?: bigint; before?: bigint; limit: number; inverted: boolean }) {
    requireAdmin(ctx);
    return this.prisma.stockMovement.findMany({
      where: {
        productId,
        id: { ...(page.after !== undefined && { lt: page.after }), ...(page.before !== undefined && { gt: page.before }) },
      },
      orderBy: { id: page.inverted ? "asc" : "desc" },
      take: page.limit,
    });
  }

  /**
   * Each product's counts with the units its reserved column still counts for ACTIVE holds already
   * past expiry (the sweeper has not ended them yet), and its next expiry: one snapshot, one query
   * for many products (db/hold-times.sql.ts). null: no such product.
   */
  async holdReadings(ids: readonly string[]): Promise<(HoldReading | null)[]> {
    const byId = await holdReadings(this.prisma, ids);
    return ids.map((id) => byId.get(id) ?? null);
  }

  page(ctx: RequestContext, page: PageRequest, filter: ProductFilter = {}): Promise<Product[]> {
    const query = { ...pageBounds(page), limit: page.limit, inverted: page.inverted, ...filterQuery(filter) };
    return this.reads.run(ctx, (_db, sql) => productsPage(sql, query));
  }

  /** How many products match the filter (all pages). */
  count(ctx: RequestContext, filter: ProductFilter = {}): Promise<number> {
    return this.reads.run(ctx, (_db, sql) => productsCount(sql, filterQuery(filter)));
  }

  /** One query for many ids, in the order asked; null where none exists. Without ctx: on the primary (live snapshots). */
  async byIds(ids: readonly string[], ctx?: RequestContext): Promise<(Product | null)[]> {
    return alignByIds(ids, await this.reads.run(ctx, (_db, sql) => productsByIds(sql, ids)));
  }

  /** SKUs are unique regardless of case (a unique index on lower(sku)), and found regardless of case. */
  bySku(sku: string, ctx?: RequestContext): Promise<Product | null> {
    if (!SKU.test(sku)) return Promise.resolve(null); // no product has such a SKU
    // `equals` in insensitive mode is an ILIKE pattern: escape its wildcards ('_' is allowed in SKUs).
    const pattern = sku.replace(/[\\%_]/g, (c) => `\\${c}`);
    return this.reads.run(ctx, (db) => db.product.findFirst({ where: { sku: { equals: pattern, mode: "insensitive" } } }));
  }

  async create(ctx: RequestContext, input: CreateProductInput): Promise<Product> {
    requireAdmin(ctx);
    const data = {
      id: randomUUID(),
      sku: requireMatch("sku", input.sku, SKU, "1-64 letters, digits, '.', '_' or '-'"),
      name: requireText("name", input.name, 1, LIMITS.maxNameLength),
      description: requireText("description", input.description ?? "", 0, LIMITS.maxDescriptionLength),
      priceCents: requireInt("priceCents", input.priceCents, 0, LIMITS.maxPriceCents),
      currency: requireCurrency("currency", input.currency),
      stock: requireInt("initialStock", input.initialStock, 0, LIMITS.maxStock),
    };
    const now = new Date();
    try {
      const [product] = await this.prisma.$transaction([
        this.prisma.product.create({ data: { ...data, createdAt: now, updatedAt: now } }),
        // Its level at the default location is made by the database (product_default_level): the ledger opens with it.
        openingMovements(this.prisma, data.id, actorOf(ctx)),
        createdEvent(this.prisma, data.id),
      ]);
      this.outbox.committed();
      return product;
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateSkuError(data.sku);
      throw err;
    }
  }

  async update(ctx: RequestContext, input: UpdateProductInput): Promise<Product> {
    requireAdmin(ctx);
    const id = requireUuid("id", input.id);
    const data = {
      ...(input.name != null && { name: requireText("name", input.name, 1, LIMITS.maxNameLength) }),
      ...(input.description != null && { description: requireText("description", input.description, 0, LIMITS.maxDescriptionLength) }),
      ...(input.priceCents != null && { priceCents: requireInt("priceCents", input.priceCents, 0, LIMITS.maxPriceCents) }),
    };
    if (Object.keys(data).length === 0) throw new ValidationError("input", "Nothing to update: give name, description or priceCents");
    const expectedVersion = requireInt("expectedVersion", input.expectedVersion, 0, 2 ** 31 - 1);
    const repriced = data.priceCents !== undefined;
    // The version check and the write are one UPDATE ... WHERE version = $expected; a new base price is a price change.
    const [product] = await this.prisma.$transaction(async (tx) => {
      const rows = await tx.product.updateManyAndReturn({
        where: { id, version: expectedVersion },
        data: { ...data, version: { increment: 1 }, ...(repriced && { priceVersion: { increment: 1 } }) },
      });
      if (rows[0] && repriced) {
        const occurredAt = rows[0].updatedAt.toISOString();
        await tx.outboxEvent.create({
          data: priceChangedOutbox({ productId: id, priceListId: null, priceVersion: rows[0].priceVersion, occurredAt }),
        });
      }
      return rows;
    });
    if (product) {
      if (repriced) {
        this.prices?.dropProducts([id]);
        this.outbox.committed();
      }
      return product;
    }
    const current = await this.prisma.product.findUnique({ where: { id }, select: { version: true } });
    if (!current) throw new NotFoundError("Product", id);
    this.metrics.versionConflict("Product");
    throw new VersionConflictError("Product", id, expectedVersion, current.version);
  }

  /**
   * Restock (delta > 0) or write-off (delta < 0) at one location (the default
   * one when none is named). Without expectedVersion it is an atomic relative
   * change; with it, a compare-and-set on the product. Never takes a level's
   * available below zero.
   */
  adjustStock(ctx: RequestContext, input: AdjustStockInput): Promise<Product> {
    requireAdmin(ctx);
    const delta = requireInt("delta", input.delta, -LIMITS.maxStockDelta, LIMITS.maxStockDelta);
    if (delta === 0) throw new ValidationError("delta", "delta must not be 0");
    const expectedVersion = input.expectedVersion == null ? null : requireInt("expectedVersion", input.expectedVersion, 0, 2 ** 31 - 1);
    return this.changeOnHand(ctx, input, { delta }, { expectedVersion });
  }

  /**
   * A counted quantity for one level, compare-and-set on the level's version
   * (StockLevel.version, like Shopify's changeFromQuantity): a count taken
   * while anything changed the level is refused, not applied over the change.
   */
  setOnHand(ctx: RequestContext, input: SetOnHandInput): Promise<Product> {
    requireAdmin(ctx);
    const onHand = requireInt("onHand", input.onHand, 0, LIMITS.maxStock);
    const expectedLevelVersion = requireInt("expectedVersion", input.expectedVersion, 0, 2 ** 31 - 1);
    return this.changeOnHand(ctx, { ...input, reason: input.reason ?? "CYCLE_COUNT" }, { onHand }, { expectedLevelVersion });
  }

  private async changeOnHand(
    ctx: RequestContext,
    input: { productId: string; locationId?: string | null; reason: string; note?: string | null },
    change: OnHandChange,
    versions: { expectedVersion?: number | null; expectedLevelVersion?: number | null },
  ): Promise<Product> {
    const id = requireUuid("productId", input.productId);
    const adjustment = requireAdjustmentReason(input.reason);
    const note = input.note == null ? null : requireText("note", input.note, 0, LIMITS.maxReasonLength) || null;
    const locationId = await this.locations.forWrite(input.locationId);
    await ensureLevel(this.prisma, id, locationId);
    const adjust = {
      id,
      locationId,
      change,
      expectedVersion: versions.expectedVersion ?? null,
      expectedLevelVersion: versions.expectedLevelVersion ?? null,
      adjustment,
      note,
      maxStock: LIMITS.maxStock,
      actor: actorOf(ctx),
    };
    // A restock goes to the waitlist first, in the same transaction: nobody else sees the units before the line was served.
    const result = await this.prisma.$transaction(async (tx) => {
      const r = await adjustStockAtomically(tx, adjust);
      if (r.product && r.delta! > 0) await offerToWaitlist(tx, [id], this.waitlistTtlSeconds);
      return r;
    });
    if (result.product) {
      this.outbox.committed();
      this.metrics.stockAdjusted();
      return result.product;
    }
    // Refused: explain from the rows as they were when the statement ran.
    const current = result.current;
    if (!current) throw new NotFoundError("Product", id);
    if (!current.located) throw new ValidationError("locationId", "The location is deactivated");
    if (versions.expectedVersion != null && current.version !== versions.expectedVersion) {
      this.metrics.versionConflict("Product");
      throw new VersionConflictError("Product", id, versions.expectedVersion, current.version);
    }
    if (versions.expectedLevelVersion != null && current.levelVersion !== versions.expectedLevelVersion) {
      this.metrics.versionConflict("StockLevel");
      throw new VersionConflictError("Product", id, versions.expectedLevelVersion, current.levelVersion);
    }
    const delta = result.delta ?? 0;
    if (delta === 0) return (await this.byIds([id]))[0]!; // counted what was there: nothing to change
    if (current.stock + delta > LIMITS.maxStock) {
      throw new ValidationError("delta", `Stock cannot exceed ${LIMITS.maxStock}`);
    }
    // A write-off can take only what is neither committed nor held.
    throw new InsufficientStockError(id, current.sku, -delta, current.available);
  }
}

/** The filter as SQL wants it: the search as the inside of a LIKE pattern, its wildcards escaped ("A_B" means A_B). */
function filterQuery(filter: ProductFilter): ProductFilterQuery {
  const search =
    filter.search
      ?.trim()
      .slice(0, 100)
      .replace(/[\\%_]/g, (c) => `\\${c}`) || undefined;
  return { search, inStock: filter.inStock ?? undefined };
}
