// Price list rules: who may create, change and end lists and set their
// entries (admins), what a code, group, tier looks like, that an entry is in
// its product's currency, and that every change bumps the prices' version of
// the products it touches (under their row locks), writes the price ledger
// and a price-changed event in its transaction, and drops this process's
// in-memory prices of those products once committed.
import type { DbClient } from "../db/database.js";
import type { Customer, PriceList, PriceListEntry, Prisma } from "../generated/prisma/client.js";
import { isUniqueViolation } from "../db/errors.js";
import { alignByIds } from "../db/align-by-ids.js";
import { requireAdmin, type RequestContext } from "../auth/viewer.js";
import { DuplicatePriceListCodeError, NotFoundError, ValidationError, VersionConflictError } from "../errors/domain-errors.js";
import { priceChangedOutbox } from "../events/price-changed.event.js";
import type { OutboxSignal } from "../events/outbox-signal.js";
import { LIMITS, SKU, requireCurrency, requireInt, requireMatch, requireText, requireUuid } from "./limits.js";
import { actorOf } from "./hold-status.js";
import { requireSameCurrency, requireTiers } from "./pricing/price-entry.js";
import type { PriceTier } from "./pricing/price-rule.js";
import type { PriceBook } from "./pricing/price-book.js";

export const CUSTOMER_GROUP = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_PRIORITY = 1_000_000;

export interface CreatePriceListInput {
  code: string;
  name: string;
  currency: string;
  customerGroup: string;
  priority?: number | null;
  startsAt?: Date | null;
  endsAt?: Date | null;
}

export interface UpdatePriceListInput {
  id: string;
  expectedVersion: number;
  name?: string | null;
  customerGroup?: string | null;
  priority?: number | null;
  startsAt?: Date | null;
  endsAt?: Date | null;
}

export interface SetPriceListEntryInput {
  priceListId: string;
  productId: string;
  unitPriceCents: number;
  tiers?: PriceTier[] | null;
}

type Tx = Prisma.TransactionClient;

export class PriceListService {
  constructor(
    private readonly prisma: DbClient,
    private readonly outbox: OutboxSignal,
    private readonly book: PriceBook,
    /** Tells the other instances' price books (pub/sub); this one's is dropped here. */
    private readonly announceGroupChange: (customerId: string) => void = () => {},
  ) {}

  async create(ctx: RequestContext, input: CreatePriceListInput): Promise<PriceList> {
    requireAdmin(ctx);
    const data = {
      code: requireMatch("code", input.code.trim().toUpperCase(), SKU, "1-64 letters, digits, '.', '_' or '-'"),
      name: requireText("name", input.name, 1, LIMITS.maxNameLength),
      currency: requireCurrency("currency", input.currency),
      customerGroup: requireMatch("customerGroup", input.customerGroup, CUSTOMER_GROUP, "1-64 letters, digits, '.', '_' or '-'"),
      priority: requireInt("priority", input.priority ?? 0, -MAX_PRIORITY, MAX_PRIORITY),
      ...requireDates(input.startsAt ?? null, input.endsAt ?? null),
    };
    try {
      return await this.prisma.priceList.create({ data });
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicatePriceListCodeError(data.code);
      throw err;
    }
  }

  /** Name, group, priority and dates; the currency stays (its entries are priced in it). */
  async update(ctx: RequestContext, input: UpdatePriceListInput): Promise<PriceList> {
    requireAdmin(ctx);
    const id = requireUuid("id", input.id);
    const expected = requireInt("expectedVersion", input.expectedVersion, 0, 2 ** 31 - 1);
    const data = {
      ...(input.name != null && { name: requireText("name", input.name, 1, LIMITS.maxNameLength) }),
      ...(input.customerGroup != null && {
        customerGroup: requireMatch("customerGroup", input.customerGroup, CUSTOMER_GROUP, "1-64 letters, digits, '.', '_' or '-'"),
      }),
      ...(input.priority != null && { priority: requireInt("priority", input.priority, -MAX_PRIORITY, MAX_PRIORITY) }),
      ...(input.startsAt !== undefined && { startsAt: input.startsAt }),
      ...(input.endsAt !== undefined && { endsAt: input.endsAt }),
    };
    if (Object.keys(data).length === 0) throw new ValidationError("input", "Nothing to update");
    return this.changeList(id, expected, (current) => {
      requireDates(
        data.startsAt !== undefined ? data.startsAt : current.startsAt,
        data.endsAt !== undefined ? data.endsAt : current.endsAt,
      );
      return data;
    });
  }

  /** Ends the list now: from this moment its prices apply to nobody. */
  end(ctx: RequestContext, input: { id: string; expectedVersion: number }): Promise<PriceList> {
    requireAdmin(ctx);
    const id = requireUuid("id", input.id);
    const expected = requireInt("expectedVersion", input.expectedVersion, 0, 2 ** 31 - 1);
    return this.changeList(id, expected, (current) => {
      const now = new Date();
      if (current.endsAt && current.endsAt <= now) throw new ValidationError("id", "The price list has ended already");
      return { endsAt: now, ...(current.startsAt && current.startsAt > now && { startsAt: null }) };
    });
  }

  /** A versioned change of the list itself: every product it prices gets a new price version and an event. */
  private async changeList(id: string, expected: number, change: (current: PriceList) => Prisma.PriceListUpdateInput): Promise<PriceList> {
    const [list, productIds] = await this.prisma.$transaction(async (tx) => {
      const current = await tx.priceList.findUnique({ where: { id } });
      if (!current) throw new NotFoundError("PriceList", id);
      if (current.version !== expected) throw new VersionConflictError("PriceList", id, expected, current.version);
      const data = change(current);
      const [list] = await tx.priceList.updateManyAndReturn({
        where: { id, version: expected },
        data: { ...data, version: { increment: 1 } },
      });
      if (!list) throw new VersionConflictError("PriceList", id, expected, current.version);
      const entries = await tx.priceListEntry.findMany({ where: { priceListId: id }, select: { productId: true } });
      const productIds = entries.map((e) => e.productId);
      await bumpPriceVersions(tx, productIds, id);
      return [list, productIds] as const;
    });
    this.committed(productIds);
    return list;
  }

  /** Sets one product's price and tiers in a list (new or replaced), with a ledger row. */
  async setEntry(ctx: RequestContext, input: SetPriceListEntryInput): Promise<{ priceList: PriceList; entry: PriceListEntry }> {
    requireAdmin(ctx);
    const priceListId = requireUuid("priceListId", input.priceListId);
    const productId = requireUuid("productId", input.productId);
    const unitPriceCents = requireInt("unitPriceCents", input.unitPriceCents, 1, LIMITS.maxPriceCents);
    const tiers = requireTiers(input.tiers ?? []);
    const result = await this.prisma.$transaction(async (tx) => {
      // The product's row lock first, as the order statement takes it: a batch priced before this commits sees the old version.
      const [product] = await tx.$queryRaw<{ currency: string }[]>`
        SELECT currency FROM product WHERE id = ${productId}::uuid FOR UPDATE`;
      if (!product) throw new NotFoundError("Product", productId);
      const priceList = await tx.priceList.findUnique({ where: { id: priceListId } });
      if (!priceList) throw new NotFoundError("PriceList", priceListId);
      requireSameCurrency(priceList.currency.trim(), product.currency.trim());
      const before = await tx.priceListEntry.findUnique({ where: { priceListId_productId: { priceListId, productId } } });
      const json = tiers as unknown as Prisma.InputJsonArray;
      const entry = await tx.priceListEntry.upsert({
        where: { priceListId_productId: { priceListId, productId } },
        create: { priceListId, productId, unitPriceCents, tiers: json },
        update: { unitPriceCents, tiers: json, version: { increment: 1 } },
      });
      await tx.priceChange.create({
        data: {
          priceListId,
          productId,
          fromUnitPriceCents: before?.unitPriceCents ?? null,
          fromTiers: (before?.tiers ?? undefined) as Prisma.InputJsonValue | undefined,
          toUnitPriceCents: unitPriceCents,
          toTiers: json,
          actor: actorOf(ctx),
        },
      });
      await bumpPriceVersions(tx, [productId], priceListId);
      return { priceList, entry };
    });
    this.committed([productId]);
    return result;
  }

  async setCustomerGroup(ctx: RequestContext, input: { customerId: string; customerGroup: string | null }): Promise<Customer> {
    requireAdmin(ctx);
    const id = requireUuid("customerId", input.customerId);
    const group =
      input.customerGroup == null || input.customerGroup === ""
        ? null
        : requireMatch("customerGroup", input.customerGroup, CUSTOMER_GROUP, "1-64 letters, digits, '.', '_' or '-'");
    const [customer] = await this.prisma.customer.updateManyAndReturn({ where: { id }, data: { customerGroup: group } });
    if (!customer) throw new NotFoundError("Customer", id);
    this.book.dropCustomer(id);
    this.announceGroupChange(id);
    return customer;
  }

  async byIds(ids: readonly string[]): Promise<(PriceList | null)[]> {
    return alignByIds(ids, await this.prisma.priceList.findMany({ where: { id: { in: [...ids] } } }));
  }

  private committed(productIds: string[]): void {
    this.book.dropProducts(productIds);
    if (productIds.length) this.outbox.committed();
  }
}

/** Next price version of each product (row locks in id order, as the order statement takes them), with its event. */
export async function bumpPriceVersions(tx: Tx, productIds: string[], priceListId: string | null): Promise<void> {
  if (productIds.length === 0) return;
  const bumped = await tx.$queryRaw<{ id: string; price_version: number }[]>`
    WITH locked AS (SELECT id FROM product WHERE id = ANY(${[...productIds].sort()}::uuid[]) ORDER BY id FOR UPDATE)
    UPDATE product p SET price_version = p.price_version + 1 FROM locked WHERE p.id = locked.id
    RETURNING p.id, p.price_version`;
  const occurredAt = new Date().toISOString();
  await tx.outboxEvent.createMany({
    data: bumped.map((b) => priceChangedOutbox({ productId: b.id, priceListId, priceVersion: b.price_version, occurredAt })),
  });
}

function requireDates(startsAt: Date | null, endsAt: Date | null): { startsAt: Date | null; endsAt: Date | null } {
  for (const [field, d] of [
    ["startsAt", startsAt],
    ["endsAt", endsAt],
  ] as const) {
    if (d && Number.isNaN(d.getTime())) throw new ValidationError(field, `${field} is not a valid date`);
  }
  if (startsAt && endsAt && startsAt >= endsAt) throw new ValidationError("endsAt", "endsAt must be after startsAt");
  return { startsAt, endsAt };
}
