// GET /demo/session: the storefront demo's tokens (web-demo/), signed with the
// server's own secret: a customer token for a seeded demo customer (created if
// missing) and an admin token. It hands an admin token to anyone who asks, so
// it exists only with STOCKWIRE_DEMO=on (see config.ts); otherwise it is a 404.
import type { Plugin } from "graphql-yoga";
import type { Config } from "../config/config.js";
import type { DbClient } from "../db/database.js";
import { demoCustomers } from "../db/seed.js";
import { isUniqueViolation } from "../db/errors.js";
import { signToken } from "../auth/tokens.js";
import { toGlobalId } from "../schema/ids.js";

export const DEMO_SESSION_PATH = "/demo/session";

export interface DemoSession {
  customer: { id: string; name: string; token: string };
  admin: { token: string };
}

export function useDemoSession(deps: { config: Config; prisma: DbClient }): Plugin {
  return {
    async onRequest({ url, request, endResponse, fetchAPI }) {
      if (!deps.config.demo || url.pathname !== DEMO_SESSION_PATH) return;
      if (request.method !== "GET") {
        endResponse(new fetchAPI.Response(null, { status: 405, headers: { allow: "GET" } }));
        return;
      }
      const body = await createDemoSession(deps.prisma, deps.config.jwt.secret);
      endResponse(
        new fetchAPI.Response(JSON.stringify(body), {
          headers: { "content-type": "application/json", "cache-control": "no-store" },
        }),
      );
    },
  };
}

export async function createDemoSession(prisma: DbClient, secret: string): Promise<DemoSession> {
  const customer = await demoCustomer(prisma);
  const id = toGlobalId("Customer", customer.id);
  const [customerToken, adminToken] = await Promise.all([
    signToken({ role: "customer", sub: id }, secret),
    signToken({ role: "admin" }, secret),
  ]);
  return { customer: { id, name: customer.name, token: customerToken }, admin: { token: adminToken } };
}

/** The first seeded customer; created when the database was not seeded. */
async function demoCustomer(prisma: DbClient) {
  const { name, email } = demoCustomers()[0]!;
  const existing = await prisma.customer.findUnique({ where: { email } });
  if (existing) return existing;
  try {
    return await prisma.customer.create({ data: { name, email } });
  } catch (err) {
    // Two first visits at once: the other request created it.
    if (isUniqueViolation(err)) return prisma.customer.findUniqueOrThrow({ where: { email } });
    throw err;
  }
}
