// Small rules holds share with orders (no imports of either service).
import type { HoldStatus } from "../generated/prisma/enums.js";
import type { RequestContext } from "../auth/viewer.js";

/** Who did it, for the ledger. */
export function actorOf(ctx: RequestContext): string {
  const v = ctx.viewer;
  if (v.kind === "customer") return `customer:${v.customerId}`;
  if (v.kind === "admin") return v.customerId ? `admin:${v.customerId}` : "admin";
  return "anonymous";
}

/** ACTIVE until expiresAt; past it, EXPIRED whether or not the sweeper has got to it. */
export function holdStatusAt(hold: { status: HoldStatus; expiresAt: Date }, now = Date.now()): HoldStatus {
  return hold.status === "ACTIVE" && hold.expiresAt.getTime() <= now ? "EXPIRED" : hold.status;
}

/** Reserved and available from counts of one snapshot and what its reserved still counts for lapsed holds. */
export function heldNow(r: { stock: number; committed: number; reserved: number; lapsed: number }): {
  reserved: number;
  available: number;
} {
  const reserved = r.reserved - r.lapsed;
  return { reserved, available: r.stock - r.committed - reserved };
}
