// kafkajs 2.2.4 (the last release) re-arms a timer after every request even
// when nothing is pending and nothing is throttled, and with a negative delay,
// so each connection's request queue wakes the event loop about every
// millisecond forever (kafkajs issues #1556, #1704; fixes proposed in PRs
// #1667 and #1768, none merged). An idle bridge spent a noticeable share of a
// core doing nothing (BENCHMARKS.md, "Figures behind the code"); in
// `npm start` that is CPU the API's fan-out shares. Until a release fixes it, the same method with the guard
// those PRs add: schedule a check only when a request waits.
import { createRequire } from "node:module";

interface RequestQueue {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

// kafkajs' own value: how soon a waiting request is looked at again when no throttle says when.
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

// Applied once, at import (the test loads the same class and pins the behaviour).
const require = createRequire(import.meta.url);
const RequestQueueClass = require("kafkajs/src/network/requestQueue/index.js") as { prototype: RequestQueue };

RequestQueueClass.prototype.scheduleCheckPendingRequests = function (this: RequestQueue) {
  if (this.throttleCheckTimeoutId) return;
  let scheduleAt = this.throttledUntil - Date.now();
  if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
  else if (scheduleAt <= 0) return; // nothing waits and nothing is throttled: nothing to check
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, scheduleAt);
};
