// Ending a consumer group member on its behalf (src/realtime/kafka-leave-group.ts),
// against the real broker: what the bridge does for a crashed consumer before
// its replacement joins (the whole failover: tests/realtime/kafka-outage.test.ts).
import { randomUUID } from "node:crypto";
import { Kafka, logLevel, type Consumer } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { leaveGroupFor } from "../../src/realtime/kafka-leave-group.js";
import { createTopicsAndWait } from "../../src/realtime/stream.js";
import { kafkaBrokers } from "../support/services.js";

describe("leaving a consumer group on a member's behalf", () => {
  const kafka = new Kafka({ clientId: "stockwire-test", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  let consumer: Consumer | undefined;
  afterAll(async () => {
    await Promise.allSettled([consumer?.disconnect(), admin.disconnect()]);
  });

  const members = async (groupId: string) => (await admin.describeGroups([groupId])).groups[0]!.members.map((m) => m.memberId);

  it("removes the member from its group at once (its session is 30 s), and a member already gone counts as left", async () => {
    const topic = `test.leave-${randomUUID()}`;
    const groupId = `test.leave-${randomUUID()}`;
    await admin.connect();
    await createTopicsAndWait(admin, [topic], 2);
    // A live member with a 30 s session: without the leave it would stay listed. After the
    // leave, kafkajs rejoins it under a new member id, never the old one.
    consumer = kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000 });
    let joined: string | undefined;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => (joined ??= payload.memberId));
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({ eachMessage: async () => {} });
    await expect.poll(() => joined, { timeout: 30_000 }).toBeTruthy();
    expect(await members(groupId)).toEqual([joined]);

    await expect(leaveGroupFor({ brokers: kafkaBrokers() }, groupId, joined!)).resolves.toBe(true);
    expect(await members(groupId)).not.toContain(joined);

    // Gone already (what a member whose session expired looks like to the coordinator).
    await expect(leaveGroupFor({ brokers: kafkaBrokers() }, groupId, joined!)).resolves.toBe(true);
  });

  it("rejects while no broker can be reached, for the caller to try again", async () => {
    await expect(leaveGroupFor({ brokers: ["127.0.0.1:1"], connectionTimeout: 500 }, "any", "member")).rejects.toThrow();
  });
});
