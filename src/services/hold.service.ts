// Hold rules: a customer sets units aside for a while (reserveStock), gives
// them back (releaseHold) or orders them (placeOrder with holdId, in
// OrderService); the sweeper ends holds past their expiry. Holds race with
// orders and each other on the same product rows, so `available` (stock minus
// unexpired holds) never goes below zero: see db/hold.sql.ts.
import type { DbClient } from "../db/database.js";
import type { HoldLine } from "../generated/prisma/client.js";
import { isForeignKeyViolation, isUniqueViolation } from "../db/errors.js";
import { endHold, lapsedHoldIds, reserveAtomically, type HoldRow } from "../db/hold.sql.js";
import { keysetQuery, type PageRequest } from "../db/keyset.js";
import { alignByIds } from "../db/align-by-ids.js";
import type { OutboxSignal } from "../events/outbox-signal.js";
import { canSeeCustomerData, isAdmin, requireCustomer, requireSignedIn, type RequestContext } from "../auth/viewer.js";
import { HoldNotActiveError, InsufficientStockError, NotFoundError, ValidationError } from "../errors/domain-errors.js";
import { IDEMPOTENCY_KEY, LIMITS, requireInt, requireMatch, requireUuid } from "./limits.js";
import { mergeLines, sameLines, type OrderLineInput } from "./order.service.js";
import { offerToWaitlist } from "./waitlist-offer.js";
import { actorOf, holdStatusAt } from "./hold-status.js";

export type { HoldRow };

export interface HoldSettings {
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  waitlistTtlSeconds: number;
}

export const DEFAULT_HOLD_SETTINGS: HoldSettings = { defaultTtlSeconds: 600, maxTtlSeconds: 3600, waitlistTtlSeconds: 600 };

export interface ReserveStockInput {
  items: OrderLineInput[];
  ttlSeconds?: number | null;
  idempotencyKey: string;
}

export class HoldService {
  constructor(
    private readonly prisma: DbClient,
    private readonly outbox: OutboxSignal,
    readonly settings: HoldSettings = DEFAULT_HOLD_SETTINGS,
  ) {}

  async reserve(ctx: RequestContext, input: ReserveStockInput): Promise<HoldRow> {
    const customerId = requireCustomer(ctx);
    const key = requireMatch(
      "idempotencyKey",
      input.idempotencyKey,
      IDEMPOTENCY_KEY,
      `1-${LIMITS.maxIdempotencyKeyLength} printable characters without spaces`,
    );
    const lines = mergeLines(input.items);
    const ttlSeconds =
      input.ttlSeconds == null
        ? this.settings.defaultTtlSeconds
        : requireInt("ttlSeconds", input.ttlSeconds, 1, this.settings.maxTtlSeconds);
    if (lines.length > 1) await this.requireOneCurrency(lines);
    let result;
    try {
      result = await reserveAtomically(this.prisma, { customerId, idempotencyKey: key, lines, ttlSeconds, actor: actorOf(ctx) });
    } catch (err) {
      if (isUniqueViolation(err)) return this.replay(customerId, key, lines); // a concurrent duplicate committed first
      if (isForeignKeyViolation(err)) throw new NotFoundError("Customer", customerId);
      throw err;
    }
    if (result.existingHoldId) return this.replay(customerId, key, lines);
    if (result.hold) {
      this.outbox.committed();
      return result.hold;
    }
    const found = new Map(result.products.map((p) => [p.id, p]));
    const missing = lines.find((l) => !found.has(l.productId));
    if (missing) throw new NotFoundError("Product", missing.productId);
    const short = lines.find((l) => found.get(l.productId)!.stock < l.quantity)!;
    const p = found.get(short.productId)!;
    throw new InsufficientStockError(p.id, p.sku, short.quantity, p.stock);
  }

  /**
   * placeOrder refuses a hold priced in more than one currency, so such a hold
   * would only lock units until it expires. A product's currency never changes
   * after it is created, so this read cannot race the reservation.
   */
  private async requireOneCurrency(lines: OrderLineInput[]) {
    const currencies = await this.prisma.product.findMany({
      where: { id: { in: lines.map((l) => l.productId) } },
      select: { currency: true },
      distinct: ["currency"],
    });
    if (currencies.length > 1) throw new ValidationError("items", "All items of a hold must be priced in the same currency");
  }

  /** The hold placed with this key, if it holds the same lines. */
  private async replay(customerId: string, key: string, lines: OrderLineInput[]): Promise<HoldRow> {
    const hold = await this.prisma.hold.findUnique({
      where: { customerId_idempotencyKey: { customerId, idempotencyKey: key } },
      include: { lines: { orderBy: { productId: "asc" } } },
    });
    if (!hold) throw new Error("idempotency key conflict without a hold"); // cannot happen: unique index
    if (!sameLines(hold.lines, lines))
      throw new ValidationError("idempotencyKey", "This idempotencyKey was already used for a different hold");
    const { lines: _lines, ...row } = hold;
    return row;
  }

  /** A customer's own ACTIVE hold (any, for admins) goes back: its units to the waitlist first, then to everyone. */
  async release(ctx: RequestContext, rawId: string): Promise<HoldRow> {
    if (!isAdmin(ctx)) requireCustomer(ctx);
    const holdId = requireUuid("holdId", rawId);
    const customerId = isAdmin(ctx) ? null : requireCustomer(ctx);
    const result = await this.prisma.$transaction(async (tx) => {
      const r = await endHold(tx, { holdId, to: "RELEASED", customerId, actor: actorOf(ctx) });
      if (r.ended) await offerToWaitlist(tx, r.productIds, this.settings.waitlistTtlSeconds);
      return r;
    });
    if (!result.found || !canSeeCustomerData(ctx, result.found.customerId)) throw new NotFoundError("Hold", holdId);
    if (result.ended) this.outbox.committed();
    const [hold] = await this.byIds([holdId]);
    // Released after its expiry: it expired first, and says so.
    if (!result.ended || result.ended === "EXPIRED") throw new HoldNotActiveError(holdId, holdStatusAt(hold!));
    return hold!;
  }

  /** Ends up to `limit` holds past their expiry; returns how many this call ended (others may have got some first). */
  async expireLapsed(limit = 100): Promise<number> {
    let ended = 0;
    for (const { id } of await lapsedHoldIds(this.prisma, limit)) {
      const r = await this.prisma.$transaction(async (tx) => {
        const r = await endHold(tx, { holdId: id, to: "EXPIRED", customerId: null, actor: "system" });
        if (r.ended) await offerToWaitlist(tx, r.productIds, this.settings.waitlistTtlSeconds);
        return r;
      });
      if (r.ended) {
        ended++;
        this.outbox.committed();
      }
    }
    return ended;
  }

  /** The caller's own holds, oldest first (a keyset page over (createdAt, id)). */
  page(ctx: RequestContext, page: PageRequest): Promise<HoldRow[]> {
    const customerId = requireCustomer(ctx);
    const { where, orderBy, take } = keysetQuery(page);
    return this.prisma.hold.findMany({ where: { AND: [where, { customerId }] }, orderBy, take });
  }

  /** The hold if the caller may see it, else null. */
  visible(ctx: RequestContext, hold: HoldRow | null): HoldRow | null {
    requireSignedIn(ctx);
    return hold && canSeeCustomerData(ctx, hold.customerId) ? hold : null;
  }

  async byIds(ids: readonly string[]): Promise<(HoldRow | null)[]> {
    return alignByIds(ids, await this.prisma.hold.findMany({ where: { id: { in: [...ids] } } }));
  }

  async linesByHoldIds(holdIds: readonly string[]): Promise<HoldLine[][]> {
    const rows = await this.prisma.holdLine.findMany({
      where: { holdId: { in: [...holdIds] } },
      orderBy: [{ holdId: "asc" }, { productId: "asc" }],
    });
    return holdIds.map((id) => rows.filter((r) => r.holdId === id));
  }
}
