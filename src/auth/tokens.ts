// Bearer tokens: HS256 JWTs with `sub` (a Customer global ID) and `role`.
import { createSecretKey, type KeyObject } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";
import { UnauthenticatedError } from "../errors/domain-errors.js";
import { idOfType } from "../ids/index.js";
import type { Viewer } from "./viewer.js";

export type Role = "admin" | "customer";

// jose imports a raw secret into a CryptoKey on every call; import it once.
const keys = new Map<string, KeyObject>();
const key = (secret: string) => {
  let k = keys.get(secret);
  if (!k) keys.set(secret, (k = createSecretKey(Buffer.from(secret, "utf8"))));
  return k;
};

/** Reads the viewer from an Authorization header value; none means anonymous. */
export async function viewerFromAuthorization(header: string | null | undefined, secret: string): Promise<Viewer> {
  if (!header) return { kind: "anonymous" };
  const token = /^Bearer\s+(\S+)$/i.exec(header.trim())?.[1];
  if (!token) throw new UnauthenticatedError("Malformed Authorization header: expected 'Bearer <token>'");
  let claims;
  try {
    ({ payload: claims } = await jwtVerify(token, key(secret), { algorithms: ["HS256"], requiredClaims: ["exp"] }));
  } catch {
    throw new UnauthenticatedError("Invalid or expired token");
  }
  const customerId = idOfType("Customer", claims.sub) ?? undefined;
  const expiresAt = claims.exp! * 1000;
  if (claims.role === "admin") return customerId ? { kind: "admin", customerId, expiresAt } : { kind: "admin", expiresAt };
  if (claims.role === "customer" && customerId) return { kind: "customer", customerId, expiresAt };
  throw new UnauthenticatedError("Token must carry role admin, or role customer with a Customer ID as sub");
}

export function signToken(claims: { role: Role; sub?: string }, secret: string, expiresIn = "12h"): Promise<string> {
  const jwt = new SignJWT({ role: claims.role }).setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime(expiresIn);
  if (claims.sub) jwt.setSubject(claims.sub);
  return jwt.sign(key(secret));
}

/** Verified headers remembered at most (one entry per distinct token in use). */
const VERIFIED_TOKENS_MAX = 10_000;

/**
 * viewerFromAuthorization that remembers verified tokens until they expire:
 * a shopper sends the same token with every request, and verifying it again
 * (jose's async HS256 path) costs a noticeable share of a request's CPU.
 * Refused tokens are not remembered. The cache is a Map evicting its oldest
 * entry when full (hand-rolled: three lines, no LRU library needed for a
 * bounded memo whose entries all expire anyway).
 */
export function viewerReader(secret: string): (header: string | null | undefined) => Promise<Viewer> {
  const verified = new Map<string, Viewer>();
  return async (header) => {
    if (!header) return { kind: "anonymous" };
    const hit = verified.get(header);
    if (hit && hit.kind !== "anonymous" && hit.expiresAt !== undefined && hit.expiresAt > Date.now()) return hit;
    verified.delete(header);
    const viewer = await viewerFromAuthorization(header, secret);
    if (verified.size >= VERIFIED_TOKENS_MAX) verified.delete(verified.keys().next().value!);
    verified.set(header, viewer);
    return viewer;
  };
}
