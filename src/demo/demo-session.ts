// GET /demo/session: the storefront demo's tokens (web-demo/), signed with the
// server's own secret: a customer token for a seeded demo customer (created if
// missing) and an admin token. It hands an admin token to anyone who asks, so
// it exists only with STOCKWIRE_DEMO=on (see config.ts); otherwise it is a 404.
// Even then it answers only this machine's own browser: a client on loopback,
// a loopback Host (a DNS-rebound name is refused) and no cross-site caller.
import type { IncomingMessage } from "node:http";
import type { Plugin } from "graphql-yoga";
import type { Config } from "../config/config.js";
import type { DbClient } from "../db/database.js";
import { demoCustomers } from "../db/seed.js";
import { signToken } from "../auth/tokens.js";
import { toGlobalId } from "../schema/ids.js";

export const DEMO_SESSION_PATH = "/demo/session";

export interface DemoShopper {
  id: string;
  name: string;
  token: string;
}

export interface DemoSession {
  customer: DemoShopper;
  admin: { token: string };
  /** The other seeded customers: the flash sale's crowd, so its orders do not all land on the demo customer. */
  shoppers: DemoShopper[];
}

export function useDemoSession(deps: { config: Config; prisma: DbClient }): Plugin {
  return {
    async onRequest({ url, request, serverContext, endResponse, fetchAPI }) {
      if (!deps.config.demo || url.pathname !== DEMO_SESSION_PATH) return;
      if (request.method !== "GET") {
        endResponse(new fetchAPI.Response(null, { status: 405, headers: { allow: "GET" } }));
        return;
      }
      const refusal = whyRefused(request, (serverContext as { req?: IncomingMessage } | undefined)?.req);
      if (refusal) {
        const body = {
          errors: [{ message: `The demo session is only for this machine's own browser: ${refusal}`, extensions: { code: "FORBIDDEN" } }],
        };
        endResponse(new fetchAPI.Response(JSON.stringify(body), { status: 403, headers: { "content-type": "application/json" } }));
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

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const isLoopbackAddress = (address: string) => address === "::1" || /^(::ffff:)?127\./.test(address);

/**
 * Why a /demo/session request is refused, or undefined. `req` is the Node request
 * (absent for in-process calls such as yoga.fetch, which are this machine's own).
 */
export function whyRefused(request: Request, req: IncomingMessage | undefined): string | undefined {
  if (req && !isLoopbackAddress(req.socket.remoteAddress ?? "")) return "the client is not on loopback";
  // The URL's host is the Host header: a DNS-rebound name reaches loopback under a foreign Host.
  const self = new URL(request.url);
  if (req && !(LOOPBACK_HOSTS.has(self.hostname) || self.hostname.endsWith(".localhost"))) return "the Host is not a loopback name";
  // Browsers send Sec-Fetch-Site with every request, and Origin with cross-origin ones.
  const site = request.headers.get("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") return `a ${site} request`;
  const origin = request.headers.get("origin");
  if (origin && origin !== self.origin) return "a cross-origin request";
  return undefined;
}

export async function createDemoSession(prisma: DbClient, secret: string): Promise<DemoSession> {
  const [customer, ...crowd] = await seededCustomers(prisma);
  const shopper = async (c: { id: string; name: string }): Promise<DemoShopper> => {
    const id = toGlobalId("Customer", c.id);
    return { id, name: c.name, token: await signToken({ role: "customer", sub: id }, secret) };
  };
  const [me, adminToken, shoppers] = await Promise.all([
    shopper(customer!),
    signToken({ role: "admin" }, secret),
    Promise.all(crowd.map(shopper)),
  ]);
  return { customer: me, admin: { token: adminToken }, shoppers };
}

/** The demo customer (the seed's first), if it exists, for the start-up line that prints a ready-made token command. */
export async function findDemoCustomer(prisma: DbClient): Promise<{ id: string; name: string } | undefined> {
  const customer = await prisma.customer.findUnique({ where: { email: demoCustomers()[0]!.email } });
  return customer ? { id: toGlobalId("Customer", customer.id), name: customer.name } : undefined;
}

/** The seed's customers, in seed order (the first is the demo customer); created when missing. */
async function seededCustomers(prisma: DbClient) {
  const wanted = demoCustomers();
  const emails = wanted.map((c) => c.email);
  let found = await prisma.customer.findMany({ where: { email: { in: emails } } });
  if (found.length < wanted.length) {
    await prisma.customer.createMany({ data: wanted, skipDuplicates: true }); // two first visits at once: no harm
    found = await prisma.customer.findMany({ where: { email: { in: emails } } });
  }
  return found.sort((a, b) => emails.indexOf(a.email) - emails.indexOf(b.email));
}
