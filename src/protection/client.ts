// Who a rate limit is charged to: the customer (JWT sub), an admin, or, for
// anonymous requests, the client's address. Behind reverse proxies the socket's
// address is the proxy's, so X-Forwarded-For is read, but only as many hops
// back as TRUST_PROXY says proxies stand in front: each proxy appends the
// address it saw, so the entries further left are whatever the client wrote.
import type { Viewer } from "../auth/viewer.js";

export type Tier = "anonymous" | "customer" | "admin";

export interface Client {
  /** The bucket's key, e.g. `customer:<uuid>`, `admin:<uuid>` or `address:203.0.113.7`. */
  key: string;
  tier: Tier;
}

export function clientAddress(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined, trustProxy: number): string {
  const socket = remoteAddress ?? "unknown";
  if (!trustProxy || forwardedFor === undefined) return socket;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor)
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  // The nearest proxy is the socket; the one before it wrote the last entry, and so on.
  return hops[hops.length - trustProxy] ?? hops[0] ?? socket;
}

/** Customers and admins by their token's subject (admins without one share one bucket); anyone else by address. */
export function clientOf(viewer: Viewer, address: string): Client {
  if (viewer.kind === "customer") return { key: `customer:${viewer.customerId}`, tier: "customer" };
  if (viewer.kind === "admin") return { key: `admin:${viewer.customerId ?? "-"}`, tier: "admin" };
  return { key: `address:${address}`, tier: "anonymous" };
}
