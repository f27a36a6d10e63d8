// The Redis the tests get is a real server: pub/sub goes through it.
import { Redis } from "ioredis";
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { redisUrl } from "../support/services.js";

describe("Redis", () => {
  const clients: Redis[] = [];
  const connect = () => {
    const client = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    clients.push(client);
    return client;
  };
  afterAll(() => Promise.all(clients.map((c) => c.quit())));

  it("is a real redis-server", async () => {
    const info = await connect().info("server");
    expect(info).toMatch(/^redis_version:\d+\.\d+/m);
  });

  it("delivers a PUBLISH to a SUBSCRIBE-d connection", async () => {
    const channel = `test:${randomUUID()}`;
    const subscriber = connect();
    const publisher = connect();
    const received = new Promise<[string, string]>((resolve) =>
      subscriber.once("message", (ch: string, msg: string) => resolve([ch, msg])),
    );
    await subscriber.subscribe(channel);
    const payload = JSON.stringify({ sku: "MUG-1", stock: 41 });
    // PUBLISH returns how many subscribers the server delivered to.
    await expect(publisher.publish(channel, payload)).resolves.toBe(1);
    await expect(received).resolves.toEqual([channel, payload]);
  });
});
