// Transfer rules: admins move units between two active locations; a transfer
// is sent from what is available at `from` (never units committed to orders
// or held), then received at `to` all at once or in parts, and what has not
// arrived can be cancelled back to `from`. Every step is versioned.
import type { DbClient } from "../db/database.js";
import { ensureLevel } from "../db/stock.sql.js";
import { sendTransfer, settleTransfer, transfersAt, type TransferRow } from "../db/transfer.sql.js";
import { alignByIds } from "../db/align-by-ids.js";
import { decodeCursor } from "../db/keyset.js";
import type { OutboxSignal } from "../events/outbox-signal.js";
import { requireAdmin, type RequestContext } from "../auth/viewer.js";
import {
  InsufficientStockError,
  InvalidCursorError,
  NotFoundError,
  TransferNotInTransitError,
  ValidationError,
  VersionConflictError,
} from "../errors/domain-errors.js";
import { LIMITS, requireInt, requireUuid } from "./limits.js";
import { actorOf } from "./hold-status.js";
import type { LocationService } from "./location.service.js";

export type { TransferRow };

export class TransferService {
  constructor(
    private readonly prisma: DbClient,
    private readonly outbox: OutboxSignal,
    private readonly locations: LocationService,
  ) {}

  async send(ctx: RequestContext, input: { productId: string; from: string; to: string; quantity: number }): Promise<TransferRow> {
    requireAdmin(ctx);
    const productId = requireUuid("productId", input.productId);
    const quantity = requireInt("quantity", input.quantity, 1, LIMITS.maxStockDelta);
    const from = await this.locations.forWrite(requireUuid("from", input.from));
    const to = await this.locations.forWrite(requireUuid("to", input.to));
    if (from === to) throw new ValidationError("to", "from and to must be different locations");
    await ensureLevel(this.prisma, productId, from);
    await ensureLevel(this.prisma, productId, to);
    const { transfer, seen } = await sendTransfer(this.prisma, { productId, from, to, quantity, actor: actorOf(ctx) });
    if (transfer) {
      this.outbox.committed();
      return transfer;
    }
    if (!seen) throw new NotFoundError("Product", productId);
    if (!seen.active) throw new ValidationError("from", "Both locations must be active");
    const product = await this.prisma.product.findUnique({ where: { id: productId }, select: { sku: true } });
    throw new InsufficientStockError(productId, product?.sku ?? "", quantity, seen.available);
  }

  /** Lands `quantity` units (all that are on the way when not given) at `to`. */
  receive(ctx: RequestContext, input: { id: string; quantity?: number | null; expectedVersion?: number | null }): Promise<TransferRow> {
    return this.settle(ctx, input, "receive");
  }

  /** Sends what has not arrived (or `quantity` of it) back to `from`. */
  cancel(ctx: RequestContext, input: { id: string; quantity?: number | null; expectedVersion?: number | null }): Promise<TransferRow> {
    return this.settle(ctx, input, "cancel");
  }

  private async settle(
    ctx: RequestContext,
    input: { id: string; quantity?: number | null; expectedVersion?: number | null },
    how: "receive" | "cancel",
  ): Promise<TransferRow> {
    requireAdmin(ctx);
    const id = requireUuid("id", input.id);
    const quantity = input.quantity == null ? null : requireInt("quantity", input.quantity, 1, LIMITS.maxStockDelta);
    const expectedVersion = input.expectedVersion == null ? null : requireInt("expectedVersion", input.expectedVersion, 0, 2 ** 31 - 1);
    const { found, transfer } = await settleTransfer(this.prisma, { id, how, quantity, expectedVersion, actor: actorOf(ctx) });
    if (transfer) {
      this.outbox.committed();
      return transfer;
    }
    if (!found) throw new NotFoundError("Transfer", id);
    if (found.status !== "IN_TRANSIT") throw new TransferNotInTransitError(id, found.status);
    if (expectedVersion !== null && found.version !== expectedVersion) {
      throw new VersionConflictError("Transfer", id, expectedVersion, found.version);
    }
    const onTheWay = found.quantity - found.received - found.cancelled;
    if (quantity !== null && quantity > onTheWay) throw new ValidationError("quantity", `Only ${onTheWay} units are on the way`);
    throw new ValidationError("id", how === "receive" ? "The receiving location is deactivated" : "The sending location is deactivated");
  }

  /** Admin only: null for anyone else, as if there were none. */
  async byIds(ids: readonly string[]): Promise<(TransferRow | null)[]> {
    return alignByIds(ids, (await this.prisma.transfer.findMany({ where: { id: { in: [...ids] } } })) as TransferRow[]);
  }

  /** Transfers from or to a location, oldest first (forward pages only). */
  page(ctx: RequestContext, locationId: string, after: string | undefined, limit: number): Promise<TransferRow[]> {
    requireAdmin(ctx);
    const cursor = after ? decodeCursor(after) : null;
    if (cursor === null && after) throw new InvalidCursorError();
    return transfersAt(this.prisma, locationId, cursor, limit);
  }
}
