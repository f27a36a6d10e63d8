// Screen-reader announcements for live changes: one polite region, and at
// most one message per interval, so a flash sale does not flood it.
import { byId } from "./dom";

const INTERVAL_MS = 2_000;
let pending: string | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;

export function announce(message: string): void {
  pending = message;
  if (timer) return;
  flush();
}

function flush() {
  if (pending === undefined) {
    timer = undefined;
    return;
  }
  byId("announcer").textContent = pending;
  pending = undefined;
  timer = setTimeout(flush, INTERVAL_MS);
}
