// Order rules: placing (no oversell, idempotent; concurrent orders group-
// committed in batches, see order-batcher.ts; sold-out products refused from
// memory, see sold-out.ts), the status life cycle with
// stock returned on cancel, and who may see which orders.
import type { DbClient } from "../db/database.js";
import { primaryOnly, type Reads } from "../db/replicas.js";
import type { OrderItem } from "../generated/prisma/client.js";
import type { OrderStatus } from "../generated/prisma/enums.js";
import { isForeignKeyViolation, isOutOfRange, isUniqueViolation } from "../db/errors.js";
import { findOrdersForCustomers, orderByKey, ordersByKeys, type OrderRow, type OrderWithItems } from "../db/order.sql.js";
import DataLoader from "dataloader";
import { releaseOrderStock } from "../db/stock.sql.js";
import { consumeHold } from "../db/hold.sql.js";
import { orderStatusChangedOutbox } from "../events/order-status-changed.event.js";
import type { OutboxSignal } from "../events/outbox-signal.js";
import { canSeeCustomerData, isAdmin, requireAdmin, requireCustomer, requireSignedIn, type RequestContext } from "../auth/viewer.js";
import {
  HoldNotActiveError,
  InsufficientStockError,
  InvalidTransitionError,
  NotFoundError,
  ValidationError,
  DomainError,
  VersionConflictError,
  PriceChangedError,
} from "../errors/domain-errors.js";
import { PriceBook as PriceBookImpl, type PriceBook, type PricedLine } from "./pricing/price-book.js";
import { alignByIds } from "../db/align-by-ids.js";
import { keysetQuery, type PageRequest } from "../db/keyset.js";
import { IDEMPOTENCY_KEY, LIMITS, requireInt, requireMatch, requireUuid } from "./limits.js";
import { canTransition } from "./order-status.js";
import { noMetrics, type Metrics, type OrderOutcome } from "../observability/metrics.js";
import { OrderBatcher, type BatcherCircuit, type OrderBatchStats } from "./order-batcher.js";
import { rawSqlOverPrisma, type RawSql } from "../db/raw-sql.js";
import type { SoldOutGuard } from "./sold-out.js";
import { offerToWaitlist } from "./waitlist-offer.js";
import { actorOf } from "./hold-status.js";

/** Orders per group-commit batch when the config does not say (ORDER_BATCH_MAX). */
export const DEFAULT_BATCH_MAX = 64;
/** Group-commit batches in the database at once when the config does not say (ORDER_BATCH_IN_FLIGHT). */
export const DEFAULT_BATCHES_IN_FLIGHT = 2;

export type { OrderRow };

export interface OrderLineInput {
  productId: string;
  quantity: number;
  /** The unit price the shopper was shown: refused with PriceChangedError if the rule now gives another. */
  expectedUnitPriceCents?: number | null;
}

/** Repricing rounds for one order whose prices changed while it was in flight, before giving up. */
const MAX_REPRICES = 5;

/** Either items (taken from what is available) or holdId (exactly the hold's lines, from the units it set aside). */
export interface PlaceOrderInput {
  items?: OrderLineInput[] | null;
  holdId?: string | null;
  idempotencyKey: string;
}

export interface OrderFilter {
  status?: OrderStatus | null;
  customerId?: string | null;
}

export class OrderService {
  private readonly batcher: OrderBatcher;

  constructor(
    private readonly prisma: DbClient,
    private readonly outbox: OutboxSignal,
    opts: {
      batchMax?: number;
      batchesInFlight?: number;
      soldOut?: SoldOutGuard;
      metrics?: Metrics;
      reads?: Reads;
      /** Where placeOrder's statements go: the pg driver on PostgreSQL (Database.sql); Prisma when not given. */
      sql?: RawSql;
      waitlistTtlSeconds?: number;
      /** Prices from memory (the group commit never reads them per order); one of its own when not given. */
      prices?: PriceBook;
      /** PostgreSQL's breaker, for the batcher (order-batcher.ts). */
      circuit?: BatcherCircuit;
    } = {},
  ) {
    this.sql = opts.sql ?? rawSqlOverPrisma(prisma);
    this.batcher = new OrderBatcher(
      this.sql,
      opts.batchMax ?? DEFAULT_BATCH_MAX,
      opts.batchesInFlight ?? DEFAULT_BATCHES_IN_FLIGHT,
      opts.circuit,
    );
    this.soldOut = opts.soldOut;
    this.metrics = opts.metrics ?? noMetrics;
    this.reads = opts.reads ?? primaryOnly(prisma);
    this.waitlistTtlSeconds = opts.waitlistTtlSeconds ?? 600;
    this.prices = opts.prices ?? new PriceBookImpl(this.sql);
    // A sale's losers arrive in floods: their retry checks share one statement per turn of the event loop.
    this.keyChecks = new DataLoader((keys) => (this.keyCheckStatements++, ordersByKeys(this.sql, keys)), {
      cache: false,
      maxBatchSize: 500,
      batchScheduleFn: (run) => setImmediate(run),
    });
  }

  private readonly prices: PriceBook;

  /** Statements that checked sold-out refusals' keys (each for up to 500 refusals). */
  private keyCheckStatements = 0;
  private readonly keyChecks: DataLoader<{ customerId: string; idempotencyKey: string }, OrderWithItems | undefined>;

  private readonly sql: RawSql;
  private readonly soldOut: SoldOutGuard | undefined;
  private readonly metrics: Metrics;
  /** Reads of read-only requests may go to a replica; writes, and reads inside them, never. */
  private readonly reads: Reads;
  private readonly waitlistTtlSeconds: number;

  /** Group commit and sold-out short cut, for tests and the benchmark. */
  get stats(): OrderBatchStats & { soldOutRefusals: number; soldOutKeyChecks: number } {
    return {
      ...this.batcher.stats,
      sizes: { ...this.batcher.stats.sizes },
      soldOutRefusals: this.soldOut?.refusals ?? 0,
      soldOutKeyChecks: this.keyCheckStatements,
    };
  }

  async placeOrder(ctx: RequestContext, input: PlaceOrderInput): Promise<OrderRow> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const [order, outcome] = await this.place(ctx, input);
      this.metrics.order(outcome, seconds());
      return order;
    } catch (err) {
      // Refused: a business rule said no (stock, input, auth); other failures are errors, not outcomes.
      if (err instanceof DomainError) this.metrics.order("refused", seconds());
      throw err;
    }
  }

  private async place(ctx: RequestContext, input: PlaceOrderInput): Promise<[OrderRow, OrderOutcome]> {
    const customerId = requireCustomer(ctx);
    const key = requireMatch(
      "idempotencyKey",
      input.idempotencyKey,
      IDEMPOTENCY_KEY,
      `1-${LIMITS.maxIdempotencyKeyLength} printable characters without spaces`,
    );
    if (input.holdId != null) {
      if (input.items != null) throw new ValidationError("items", "Give items or holdId, not both");
      return this.placeHeld(customerId, key, requireUuid("holdId", input.holdId));
    }
    const lines = mergeLines(input.items ?? []);
    const soldOut = this.soldOut?.check(lines);
    if (soldOut) {
      // A retry after a lost response must get its order back: an indexed read of the key (batched), not the locking statement.
      const placed = await this.keyChecks.load({ customerId, idempotencyKey: key });
      if (placed) return [this.sameOrder(placed, lines), "replayed"];
      throw new InsufficientStockError(soldOut.productId, soldOut.sku, soldOut.requested, soldOut.available);
    }

    let result;
    try {
      // Tracked: the deadline's error can tell whether this order went out (extensions.outcome).
      if (ctx.deadline) ctx.deadline.trackedWrites++;
      for (let round = 1; ; round++) {
        const priced = await this.priced(customerId, key, lines);
        if ("replayed" in priced) return [priced.replayed, "replayed"];
        result = await this.batcher.place({ customerId, idempotencyKey: key, ...priced, deadline: ctx.deadline });
        if (!result.priceStale) break;
        // Priced from memory older than the locked rows (another process changed a price, its event not here yet).
        this.prices.dropProducts(lines.map((l) => l.productId));
        this.prices.dropCustomer(customerId);
        if (round === MAX_REPRICES) throw new Error(`prices changed ${MAX_REPRICES} times while the order was placed`);
      }
    } catch (err) {
      // A concurrent duplicate committed first: answer with that order.
      if (isUniqueViolation(err)) return [await this.replay(customerId, key, lines), "replayed"];
      if (isForeignKeyViolation(err)) throw new NotFoundError("Customer", customerId);
      if (isOutOfRange(err)) throw new ValidationError("items", "The order total is too large");
      throw err;
    }
    if (result.existingOrderId) return [await this.replay(customerId, key, lines), "replayed"];
    if (result.order) {
      this.outbox.committed();
      return [result.order, "placed"];
    }

    const found = new Map(result.products.map((p) => [p.id, p]));
    const missing = lines.find((l) => !found.has(l.productId));
    if (missing) throw new NotFoundError("Product", missing.productId);
    if (new Set(result.products.map((p) => p.currency)).size > 1) {
      throw new ValidationError("items", "All items of an order must be priced in the same currency");
    }
    const short = lines.find((l) => found.get(l.productId)!.stock < l.quantity)!;
    const p = found.get(short.productId)!;
    // Only when nothing is held: a hold that lapses frees units before its sweep's event would reopen the product.
    if (p.stock === 0 && p.held === 0) this.soldOut?.follow(p.id);
    throw new InsufficientStockError(p.id, p.sku, short.quantity, p.stock);
  }

  /**
   * The lines priced by the rule for this customer, from memory. A line whose
   * expectedUnitPriceCents differs is checked against a fresh read before it
   * is refused (memory may trail a change made elsewhere), and a retry of an
   * order already placed under the key is answered with that order.
   */
  private async priced(
    customerId: string,
    key: string,
    lines: OrderLineInput[],
  ): Promise<{ customerGroup: string | null; lines: PricedLine[] } | { replayed: OrderRow }> {
    const mismatch = (p: PricedLine[]) =>
      lines.findIndex(
        (l, i) => l.expectedUnitPriceCents != null && p[i]!.priceVersion >= 0 && p[i]!.unitPriceCents !== l.expectedUnitPriceCents,
      );
    let priced = await this.prices.priceLines(customerId, lines);
    if (mismatch(priced.lines) < 0) return priced;
    this.prices.dropProducts(lines.map((l) => l.productId));
    this.prices.dropCustomer(customerId);
    priced = await this.prices.priceLines(customerId, lines);
    const i = mismatch(priced.lines);
    if (i < 0) return priced;
    const placed = await this.findByKey(customerId, key);
    if (placed) return { replayed: this.sameOrder(placed, lines) };
    throw new PriceChangedError(lines[i]!.productId, lines[i]!.expectedUnitPriceCents!, priced.lines[i]!.unitPriceCents);
  }

  /** Orders exactly a hold's lines from the units it set aside: no stock check can fail while it is ACTIVE. */
  private async placeHeld(customerId: string, key: string, holdId: string): Promise<[OrderRow, OrderOutcome]> {
    let result;
    try {
      for (let round = 1; ; round++) {
        // The hold's lines, priced from memory like any order's (one indexed read of its lines).
        const held = await this.prisma.holdLine.findMany({ where: { holdId }, orderBy: { productId: "asc" } });
        const prices = await this.prices.priceLines(customerId, held);
        result = await consumeHold(this.prisma, { customerId, idempotencyKey: key, holdId, prices });
        if (!result.priceStale) break;
        this.prices.dropProducts(held.map((l) => l.productId));
        this.prices.dropCustomer(customerId);
        if (round === MAX_REPRICES) throw new Error(`prices changed ${MAX_REPRICES} times while the hold was ordered`);
      }
    } catch (err) {
      if (isOutOfRange(err)) throw new ValidationError("holdId", "The order total is too large");
      if (!isUniqueViolation(err)) throw err;
      result = null; // a concurrent duplicate committed first
    }
    if (result?.order) {
      this.outbox.committed();
      return [result.order, "placed"];
    }
    // The key was used already, or a concurrent duplicate with this key took the hold first: the same order, if it is this hold's.
    const takenByKey = result?.found?.status === "CONSUMED" && result.found.customerId === customerId;
    if (!result || result.existingOrderId || takenByKey) {
      const order = await this.prisma.order.findUnique({ where: { customerId_idempotencyKey: { customerId, idempotencyKey: key } } });
      const hold = order && (await this.prisma.hold.findUnique({ where: { id: holdId } }));
      if (order && hold?.orderId === order.id) return [order, "replayed"];
      if (!result || result.existingOrderId) {
        throw new ValidationError("idempotencyKey", "This idempotencyKey was already used for a different order");
      }
    }
    const found = result.found;
    if (!found || found.customerId !== customerId) throw new NotFoundError("Hold", holdId);
    if (found.status !== "ACTIVE" || found.lapsed) {
      throw new HoldNotActiveError(holdId, found.status === "ACTIVE" ? "EXPIRED" : found.status);
    }
    if (result.mixedCurrencies) throw new ValidationError("holdId", "All items of an order must be priced in the same currency");
    throw new Error("consumeHold refused an active hold without a reason"); // cannot happen
  }

  /** The order already placed with this key, if it is the same order. */
  private async replay(customerId: string, key: string, lines: OrderLineInput[]): Promise<OrderRow> {
    const order = await this.findByKey(customerId, key);
    if (!order) throw new Error("idempotency key conflict without an order"); // cannot happen: unique index
    return this.sameOrder(order, lines);
  }

  private findByKey(customerId: string, key: string) {
    return orderByKey(this.sql, customerId, key);
  }

  private sameOrder(order: OrderRow & { items: OrderLineInput[] }, lines: OrderLineInput[]): OrderRow {
    if (!sameLines(order.items, lines))
      throw new ValidationError("idempotencyKey", "This idempotencyKey was already used for a different order");
    const { items: _items, ...row } = order;
    return row;
  }

  /** Customers cancel their own PENDING or CONFIRMED orders; admins any. Stock goes back. */
  cancel(ctx: RequestContext, input: { orderId: string; expectedVersion?: number | null }): Promise<OrderRow> {
    if (!isAdmin(ctx)) requireCustomer(ctx);
    return this.transition(ctx, input.orderId, "CANCELLED", input.expectedVersion ?? null);
  }

  updateStatus(ctx: RequestContext, input: { orderId: string; status: OrderStatus; expectedVersion: number }): Promise<OrderRow> {
    requireAdmin(ctx);
    return this.transition(ctx, input.orderId, input.status, input.expectedVersion);
  }

  private async transition(ctx: RequestContext, rawId: string, to: OrderStatus, expected: number | null): Promise<OrderRow> {
    const id = requireUuid("orderId", rawId);
    if (expected !== null) requireInt("expectedVersion", expected, 0, 2 ** 31 - 1);
    const order = await this.prisma.$transaction(async (tx) => {
      // Lock the order first (then its products, in id order): concurrent
      // transitions of one order queue here and see each other's result.
      const [current] = await tx.$queryRaw<{ customerId: string; status: OrderStatus; version: number }[]>`
        SELECT customer_id AS "customerId", status, version FROM "order" WHERE id = ${id}::uuid FOR UPDATE`;
      if (!current) throw new NotFoundError("Order", id);
      if (!canSeeCustomerData(ctx, current.customerId)) throw new NotFoundError("Order", id);
      if (expected !== null && expected !== current.version) {
        this.metrics.versionConflict("Order");
        throw new VersionConflictError("Order", id, expected, current.version);
      }
      if (!canTransition(current.status, to)) throw new InvalidTransitionError(current.status, to);

      const order = await tx.order.update({ where: { id }, data: { status: to, version: { increment: 1 } } });
      await tx.outboxEvent.create({
        data: orderStatusChangedOutbox({
          orderId: id,
          customerId: order.customerId,
          status: to,
          previousStatus: current.status,
          version: order.version,
          occurredAt: order.updatedAt.toISOString(),
        }),
      });
      // Its committed units: a cancelled order's come back to available, a shipped order's leave on hand
      // (stock events and ledger rows written by the statement). Only PENDING and CONFIRMED orders hold any.
      if (to === "SHIPPED") await releaseOrderStock(tx, id, actorOf(ctx), "ORDER_SHIPPED");
      const restored = to === "CANCELLED" ? await releaseOrderStock(tx, id, actorOf(ctx), "ORDER_CANCELLED") : [];
      // The units that came back go to the waitlist first (its events are written by the offers).
      if (restored.length) await offerToWaitlist(tx, restored, this.waitlistTtlSeconds);
      return order;
    });
    this.outbox.committed();
    return order;
  }

  /** Admin listing across customers. */
  page(ctx: RequestContext, page: PageRequest, filter: OrderFilter = {}): Promise<OrderRow[]> {
    requireAdmin(ctx);
    const { where, orderBy, take } = keysetQuery(page);
    return this.reads.run(ctx, (db) =>
      db.order.findMany({
        where: { AND: [where, filter.status ? { status: filter.status } : {}, filter.customerId ? { customerId: filter.customerId } : {}] },
        orderBy,
        take,
      }),
    );
  }

  /** The order if the caller may see it (canSeeCustomerData), else null: as if it did not exist. */
  visible<T extends { customerId: string }>(ctx: RequestContext, order: T | null): T | null {
    requireSignedIn(ctx);
    return order && canSeeCustomerData(ctx, order.customerId) ? order : null;
  }

  /** An order the caller may see, or NotFoundError. */
  async visibleOrder(ctx: RequestContext, id: string): Promise<OrderRow> {
    const [order] = await this.byIds([requireUuid("orderId", id)], ctx);
    const seen = this.visible(ctx, order ?? null);
    if (!seen) throw new NotFoundError("Order", id);
    return seen;
  }

  // --- batch lookups for the per-request DataLoaders (without ctx: on the primary) ---

  async byIds(ids: readonly string[], ctx?: RequestContext): Promise<(OrderRow | null)[]> {
    return alignByIds(ids, await this.reads.run(ctx, (db) => db.order.findMany({ where: { id: { in: [...ids] } } })));
  }

  async itemsByOrderIds(orderIds: readonly string[], ctx?: RequestContext): Promise<OrderItem[][]> {
    const rows = await this.reads.run(ctx, (db) =>
      db.orderItem.findMany({
        where: { orderId: { in: [...orderIds] } },
        orderBy: [{ orderId: "asc" }, { productId: "asc" }],
      }),
    );
    return orderIds.map((id) => rows.filter((r) => r.orderId === id));
  }

  /**
   * One page of orders for each of many customers, with the same page and
   * filter, in one query (a LATERAL join per customer) instead of one per customer.
   */
  async pagesByCustomers(
    customerIds: readonly string[],
    page: PageRequest,
    status: OrderStatus | null,
    ctx?: RequestContext,
  ): Promise<OrderRow[][]> {
    const rows = await this.reads.run(ctx, (db) => findOrdersForCustomers(db, customerIds, page, status));
    return customerIds.map((id) => rows.filter((r) => r.customerId === id));
  }
}

/** Whether stored lines (in product-id order) are exactly these merged lines: a replayed key must mean the same request. */
export function sameLines(stored: readonly OrderLineInput[], lines: readonly OrderLineInput[]): boolean {
  return stored.length === lines.length && stored.every((l, i) => l.productId === lines[i]!.productId && l.quantity === lines[i]!.quantity);
}

/** Sums repeated products and sorts by product id: the canonical form of an order's lines. */
export function mergeLines(items: OrderLineInput[]): OrderLineInput[] {
  if (!Array.isArray(items) || items.length === 0) throw new ValidationError("items", "An order needs at least one item");
  if (items.length > LIMITS.maxOrderLines) throw new ValidationError("items", `An order can have at most ${LIMITS.maxOrderLines} items`);
  const merged = new Map<string, OrderLineInput>();
  items.forEach((item, i) => {
    const productId = requireUuid(`items[${i}].productId`, item.productId);
    const quantity = requireInt(`items[${i}].quantity`, item.quantity, 1, LIMITS.maxQuantityPerLine);
    const expected =
      item.expectedUnitPriceCents == null
        ? null
        : requireInt(`items[${i}].expectedUnitPriceCents`, item.expectedUnitPriceCents, 0, LIMITS.maxPriceCents);
    const seen = merged.get(productId);
    if (seen && expected !== null && seen.expectedUnitPriceCents != null && seen.expectedUnitPriceCents !== expected) {
      throw new ValidationError(`items[${i}].expectedUnitPriceCents`, "Lines of one product must expect the same unit price");
    }
    merged.set(productId, {
      productId,
      quantity: (seen?.quantity ?? 0) + quantity,
      expectedUnitPriceCents: expected ?? seen?.expectedUnitPriceCents ?? null,
    });
  });
  const lines = [...merged.values()].map((l) => (l.expectedUnitPriceCents == null ? { productId: l.productId, quantity: l.quantity } : l));
  for (const l of lines) requireInt("items.quantity", l.quantity, 1, LIMITS.maxQuantityPerLine);
  return lines.sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
}
