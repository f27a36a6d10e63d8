// Who is calling, independent of GraphQL: services receive this first.
import type { RequestDeadline } from "../errors/service-unavailable.js";
import { ForbiddenError, UnauthenticatedError } from "../errors/domain-errors.js";

/** `expiresAt` (ms since the epoch): when the token it came from expires; long-lived subscriptions end then. */
export type Viewer =
  | { kind: "anonymous" }
  | { kind: "customer"; customerId: string; expiresAt?: number }
  | { kind: "admin"; customerId?: string; expiresAt?: number };

export interface RequestContext {
  viewer: Viewer;
  /** Set for read-only operations: their reads may go to a read replica. Absent: the primary (mutations, subscriptions). */
  readFrom?: ReadFrom;
  /** Queries and mutations over HTTP: when the request is answered regardless (schema/use-request-deadline.ts). */
  deadline?: RequestDeadline;
}

/** `after`: the primary's WAL position after this viewer's latest write; only a replica that has replayed it will do. */
export interface ReadFrom {
  after?: string;
}

/** Whose writes a read must see (read-your-writes): the customer, or the admin's subject. Anonymous callers write nothing. */
export function writerOf(viewer: Viewer): string | undefined {
  if (viewer.kind === "customer") return `customer:${viewer.customerId}`;
  if (viewer.kind === "admin") return `admin:${viewer.customerId ?? ""}`;
  return undefined;
}

export const anonymous: RequestContext = { viewer: { kind: "anonymous" } };

export const isAdmin = (ctx: RequestContext) => ctx.viewer.kind === "admin";

export function requireAdmin(ctx: RequestContext): void {
  if (ctx.viewer.kind === "anonymous") throw new UnauthenticatedError();
  if (ctx.viewer.kind !== "admin") throw new ForbiddenError("Only admins can do this");
}

/** The calling customer's id; admins act as a customer only when their token names one. */
export function requireCustomer(ctx: RequestContext): string {
  if (ctx.viewer.kind === "anonymous") throw new UnauthenticatedError();
  if (!ctx.viewer.customerId) throw new ForbiddenError("This needs a customer account");
  return ctx.viewer.customerId;
}

/**
 * The one ownership rule: a customer sees their own orders and account, an
 * admin everyone's. To anyone else they do not exist (queries answer null,
 * mutations and subscriptions NOT_FOUND), so nobody learns what others have.
 */
export function canSeeCustomerData(ctx: RequestContext, customerId: string): boolean {
  if (ctx.viewer.kind === "anonymous") throw new UnauthenticatedError();
  return ctx.viewer.kind === "admin" || ctx.viewer.customerId === customerId;
}

/** Customer data needs credentials whether or not the asked-for record exists: nobody learns which IDs exist by asking anonymously. */
export function requireSignedIn(ctx: RequestContext): void {
  if (ctx.viewer.kind === "anonymous") throw new UnauthenticatedError();
}

/** When the caller's credentials run out, if they do. */
export const expiresAt = (ctx: RequestContext): number | undefined => (ctx.viewer.kind === "anonymous" ? undefined : ctx.viewer.expiresAt);
