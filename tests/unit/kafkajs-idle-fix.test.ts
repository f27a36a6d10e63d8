// kafkajs' request queue with src/realtime/kafkajs-idle-fix.ts applied: it
// arms a timer only when a request waits or a throttle ends, not after every
// request (unpatched, kafkajs 2.2.4 re-arms a 1 ms timer forever).
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import "../../src/realtime/kafkajs-idle-fix.js";

const require = createRequire(import.meta.url);
const RequestQueue = require("kafkajs/src/network/requestQueue/index.js");
const logger = { debug() {}, info() {}, warn() {}, error() {}, namespace: () => logger };
const queues: { destroy(): void }[] = [];
const queue = () => {
  const q = new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: "t",
    broker: "b",
    logger,
  });
  queues.push(q);
  return q;
};
afterEach(() => queues.splice(0).forEach((q) => q.destroy()));

describe("kafkajs request queue, idle", () => {
  it("arms no timer when nothing waits and nothing is throttled (as after every answered request)", () => {
    const q = queue();
    q.checkPendingRequests(); // what kafkajs calls when a response arrives
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it("still checks again later when a request waits, or when a throttle ends", () => {
    const waiting = queue();
    waiting.pending.push({ send() {} });
    waiting.scheduleCheckPendingRequests();
    expect(waiting.throttleCheckTimeoutId).not.toBeNull();

    const throttled = queue();
    throttled.maybeThrottle(50);
    throttled.scheduleCheckPendingRequests();
    expect(throttled.throttleCheckTimeoutId).not.toBeNull();
  });
});
