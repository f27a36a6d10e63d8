// With PostgreSQL unreachable, clients are told the database is unavailable
// (HTTP 503, Retry-After, code SERVICE_UNAVAILABLE) instead of a 200 with
// "Unexpected error.", and nothing about hosts or drivers. The database is
// taken away for real: the app reaches it through a TCP relay this test stops.
import net from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { JWT_SECRET } from "../support/shop.js";

let database: TestDatabase;
let app: TestApp;
let relay: net.Server;
const sockets = new Set<net.Socket>();
beforeAll(async () => {
  database = await createTestDatabase();
  const target = new URL(database.url);
  relay = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  const via = new URL(database.url);
  via.hostname = "127.0.0.1";
  via.port = String((relay.address() as net.AddressInfo).port);
  app = await startTestApp({ DATABASE_URL: via.href, JWT_SECRET });
});
afterAll(async () => {
  await app?.close().catch(() => {});
  relay?.close();
  await database?.drop();
});

const products = async () => {
  const res = await app.fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
    body: JSON.stringify({ query: "{ products(first: 2) { edges { node { id } } } }" }),
  });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), text: await res.text() };
};

it("answers 503 SERVICE_UNAVAILABLE naming the database while PostgreSQL cannot be reached", async () => {
  expect((await products()).status).toBe(200);
  // PostgreSQL goes away: open connections are cut, new ones refused.
  await new Promise<void>((resolve) => {
    relay.close(() => resolve());
    for (const s of sockets) s.destroy();
  });
  for (let i = 0; i < 3; i++) {
    const r = await products();
    expect(r.status, r.text).toBe(503);
    expect(r.retryAfter).toBe("5");
    const body = JSON.parse(r.text) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toEqual({ code: "SERVICE_UNAVAILABLE", service: "database" });
    expect(body.errors[0]!.message).toMatch(/database is unavailable/);
    expect(r.text).not.toMatch(/127\.0\.0\.1|ECONN|prisma|pg|terminated|stack/i);
  }
});
