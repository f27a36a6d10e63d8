// Who is calling, independent of GraphQL: services receive this first.
import { ForbiddenError, UnauthenticatedError } from "../errors/domain-errors.js";

export type Viewer =
  | { kind: "anonymous" }
  | { kind: "customer"; customerId: string }
  | { kind: "admin"; customerId?: string };

export interface RequestContext {
  viewer: Viewer;
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

/** Customers may read their own data; admins anyone's. */
export function requireOwnerOrAdmin(ctx: RequestContext, customerId: string): void {
  if (ctx.viewer.kind === "anonymous") throw new UnauthenticatedError();
  if (ctx.viewer.kind === "customer" && ctx.viewer.customerId !== customerId) {
    throw new ForbiddenError("Customers can only see their own orders and account");
  }
}
