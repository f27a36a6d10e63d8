// The back-in-stock waitlist: a customer queues for a product; units that
// come back are offered to the line as holds before anyone else can take
// them (waitlist-offer.ts). Joining while units are available is served at once.
import type { DbClient } from "../db/database.js";
import type { WaitlistEntry } from "../generated/prisma/client.js";
import { isForeignKeyViolation, isUniqueViolation } from "../db/errors.js";
import { lockAvailable } from "../db/hold.sql.js";
import { keysetQuery, type PageRequest } from "../db/keyset.js";
import type { OutboxSignal } from "../events/outbox-signal.js";
import { canSeeCustomerData, requireCustomer, requireSignedIn, type RequestContext } from "../auth/viewer.js";
import { alignByIds } from "../db/align-by-ids.js";
import { NotFoundError, ValidationError } from "../errors/domain-errors.js";
import { LIMITS, requireInt, requireUuid } from "./limits.js";
import { offerToWaitlist } from "./waitlist-offer.js";

export type { WaitlistEntry };

export class WaitlistService {
  constructor(
    private readonly prisma: DbClient,
    private readonly outbox: OutboxSignal,
    private readonly holdTtlSeconds: number,
  ) {}

  async join(ctx: RequestContext, input: { productId: string; quantity: number }): Promise<WaitlistEntry> {
    const customerId = requireCustomer(ctx);
    const productId = requireUuid("productId", input.productId);
    const quantity = requireInt("quantity", input.quantity, 1, LIMITS.maxQuantityPerLine);
    let offered = false;
    let entry: WaitlistEntry;
    try {
      entry = await this.prisma.$transaction(async (tx) => {
        // The product first (the lock order of db/ledger.sql.ts), then the entry.
        if ((await lockAvailable(tx, productId)) === null) throw new NotFoundError("Product", productId);
        const created = await tx.waitlistEntry.create({ data: { productId, customerId, quantity } });
        offered = (await offerToWaitlist(tx, [productId], this.holdTtlSeconds)).length > 0;
        return (await tx.waitlistEntry.findUnique({ where: { id: created.id } }))!;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ValidationError("productId", "You are already on the waitlist for this product");
      if (isForeignKeyViolation(err)) throw new NotFoundError("Customer", customerId);
      throw err;
    }
    if (offered) this.outbox.committed();
    return entry;
  }

  /** Leaves the line (a WAITING entry only: an offered one has a hold, which releaseHold gives back). */
  async leave(ctx: RequestContext, rawId: string): Promise<WaitlistEntry> {
    const customerId = requireCustomer(ctx);
    const id = requireUuid("entryId", rawId);
    const [left] = await this.prisma.waitlistEntry.updateManyAndReturn({
      where: { id, customerId, status: "WAITING" },
      data: { status: "LEFT" },
    });
    if (left) return left;
    const entry = await this.prisma.waitlistEntry.findUnique({ where: { id } });
    if (!entry || entry.customerId !== customerId) throw new NotFoundError("WaitlistEntry", id);
    throw new ValidationError("entryId", `This entry is ${entry.status.toLowerCase()}, not waiting`);
  }

  /** The entry if the caller may see it (its customer, or an admin), else null. */
  visible(ctx: RequestContext, entry: WaitlistEntry | null): WaitlistEntry | null {
    requireSignedIn(ctx);
    return entry && canSeeCustomerData(ctx, entry.customerId) ? entry : null;
  }

  async byIds(ids: readonly string[]): Promise<(WaitlistEntry | null)[]> {
    return alignByIds(ids, await this.prisma.waitlistEntry.findMany({ where: { id: { in: [...ids] } } }));
  }

  /** The caller's own entries, oldest first. */
  page(ctx: RequestContext, page: PageRequest): Promise<WaitlistEntry[]> {
    const customerId = requireCustomer(ctx);
    const { where, orderBy, take } = keysetQuery(page);
    return this.prisma.waitlistEntry.findMany({ where: { AND: [where, { customerId }] }, orderBy, take });
  }
}
