// Location rules: who may create and change locations, what a code looks
// like, and when a location may stop fulfilling orders or close (never while
// it holds or expects units: the product totals and every allocation assume
// units sit at locations that stay as they were when the units arrived).
// Reads of levels and allocations for the schema's loaders.
import type { DbClient } from "../db/database.js";
import type { Location } from "../generated/prisma/client.js";
import { isUniqueViolation } from "../db/errors.js";
import { alignByIds } from "../db/align-by-ids.js";
import { keysetQuery, type PageRequest } from "../db/keyset.js";
import {
  allocationsOf,
  defaultLocationId,
  levelsByProductIds,
  lockLocationUnits,
  type AllocationRow,
  type LevelRow,
} from "../db/location.sql.js";
import { requireAdmin, type RequestContext } from "../auth/viewer.js";
import {
  DuplicateLocationCodeError,
  LocationInUseError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from "../errors/domain-errors.js";
import { LIMITS, SKU, requireInt, requireMatch, requireText, requireUuid } from "./limits.js";
import { noMetrics, type Metrics } from "../observability/metrics.js";

export interface CreateLocationInput {
  code: string;
  name: string;
  fulfilsOrders: boolean;
  priority: number;
}

export interface UpdateLocationInput {
  id: string;
  expectedVersion: number;
  name?: string | null;
  fulfilsOrders?: boolean | null;
  priority?: number | null;
}

/** The sums of a product's levels at locations that fulfil orders (Product.inventory). */
export interface Inventory {
  onHand: number;
  committed: number;
  reserved: number;
  incoming: number;
  available: number;
}

const MAX_PRIORITY = 1_000_000;

/** on hand minus committed minus held, never below 0. */
export const availableOf = (l: Omit<Inventory, "available">) => Math.max(0, l.onHand - l.committed - l.reserved);

export class LocationService {
  constructor(
    private readonly prisma: DbClient,
    private readonly metrics: Metrics = noMetrics,
  ) {}

  page(page: PageRequest): Promise<Location[]> {
    const { where, orderBy, take } = keysetQuery(page);
    return this.prisma.location.findMany({ where, orderBy, take });
  }

  async byIds(ids: readonly string[]): Promise<(Location | null)[]> {
    return alignByIds(ids, await this.prisma.location.findMany({ where: { id: { in: [...ids] } } }));
  }

  /** Each product's levels, in allocation order. */
  async levelsByProductIds(productIds: readonly string[]): Promise<LevelRow[][]> {
    const rows = await levelsByProductIds(this.prisma, productIds);
    return productIds.map((id) => rows.filter((r) => r.productId === id));
  }

  /** Each order's (or hold's) allocations. */
  async allocations(of: "order" | "hold", ownerIds: readonly string[]): Promise<AllocationRow[][]> {
    const rows = await allocationsOf(this.prisma, of, ownerIds);
    return ownerIds.map((id) => rows.filter((r) => r.ownerId === id));
  }

  /** A product's totals over the locations that fulfil orders. */
  static inventory(levels: readonly LevelRow[]): Inventory {
    const sum = (k: "onHand" | "committed" | "reserved" | "incoming") => levels.reduce((n, l) => n + (l.fulfils ? l[k] : 0), 0);
    const totals = { onHand: sum("onHand"), committed: sum("committed"), reserved: sum("reserved"), incoming: sum("incoming") };
    return { ...totals, available: availableOf(totals) };
  }

  /** The active location a stock write names, or the default one when it names none. */
  async forWrite(locationId: string | null | undefined): Promise<string> {
    if (locationId == null) {
      const id = await defaultLocationId(this.prisma);
      if (!id) throw new ValidationError("locationId", "No active location fulfils orders: name a location");
      return id;
    }
    const id = requireUuid("locationId", locationId);
    const location = await this.prisma.location.findUnique({ where: { id } });
    if (!location) throw new NotFoundError("Location", id);
    if (!location.active) throw new ValidationError("locationId", "The location is deactivated");
    return id;
  }

  async create(ctx: RequestContext, input: CreateLocationInput): Promise<Location> {
    requireAdmin(ctx);
    const data = {
      code: requireMatch("code", input.code, SKU, "1-64 letters, digits, '.', '_' or '-'"),
      name: requireText("name", input.name, 1, LIMITS.maxNameLength),
      fulfilsOrders: input.fulfilsOrders,
      priority: requireInt("priority", input.priority, 0, MAX_PRIORITY),
    };
    try {
      return await this.prisma.location.create({ data });
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateLocationCodeError(data.code);
      throw err;
    }
  }

  /**
   * Versioned like every write. fulfilsOrders changes only while the location
   * has no units (the products' totals count the units of fulfilling locations).
   */
  async update(ctx: RequestContext, input: UpdateLocationInput): Promise<Location> {
    requireAdmin(ctx);
    const id = requireUuid("id", input.id);
    const expectedVersion = requireInt("expectedVersion", input.expectedVersion, 0, 2 ** 31 - 1);
    const data = {
      ...(input.name != null && { name: requireText("name", input.name, 1, LIMITS.maxNameLength) }),
      ...(input.priority != null && { priority: requireInt("priority", input.priority, 0, MAX_PRIORITY) }),
      ...(input.fulfilsOrders != null && { fulfilsOrders: input.fulfilsOrders }),
    };
    if (Object.keys(data).length === 0) throw new ValidationError("input", "Nothing to update: give name, priority or fulfilsOrders");
    return this.changeLocked(id, expectedVersion, async (current, units) => {
      if (data.fulfilsOrders !== undefined && data.fulfilsOrders !== current.fulfilsOrders && hasUnits(units)) {
        throw new LocationInUseError(id, units);
      }
      return data;
    });
  }

  /** Refused while the location holds units or holds (LocationInUseError). expectedVersion optional. */
  async deactivate(ctx: RequestContext, input: { id: string; expectedVersion?: number | null }): Promise<Location> {
    requireAdmin(ctx);
    const id = requireUuid("id", input.id);
    const expected = input.expectedVersion == null ? null : requireInt("expectedVersion", input.expectedVersion, 0, 2 ** 31 - 1);
    return this.changeLocked(id, expected, async (_current, units) => {
      if (hasUnits(units)) throw new LocationInUseError(id, units);
      return { active: false };
    });
  }

  private changeLocked(
    id: string,
    expectedVersion: number | null,
    decide: (current: Location, units: Omit<Inventory, "available">) => Promise<Partial<Location>>,
  ): Promise<Location> {
    return this.prisma.$transaction(async (tx) => {
      const units = await lockLocationUnits(tx, id);
      if (!units) throw new NotFoundError("Location", id);
      if (expectedVersion !== null && units.version !== expectedVersion) {
        this.metrics.versionConflict("Location");
        throw new VersionConflictError("Location", id, expectedVersion, units.version);
      }
      const current = (await tx.location.findUnique({ where: { id } }))!;
      const data = await decide(current, units);
      return tx.location.update({ where: { id }, data: { ...data, version: { increment: 1 } } });
    });
  }
}

const hasUnits = (u: Omit<Inventory, "available">) => u.onHand + u.committed + u.reserved + u.incoming > 0;
