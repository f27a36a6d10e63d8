// "Outbox rows were committed": wakes relays right after the commit, never
// inside it. Relays in this process hear it at once; relays elsewhere through
// a NOTIFY, throttled so a busy order stream sends a few per second, not one
// per order. Relays also poll, so a lost signal only costs latency.
import { EventEmitter } from "node:events";

export const OUTBOX_CHANNEL = "outbox_event";

export interface OutboxSignal {
  /** Call after a transaction that wrote outbox rows has committed. */
  written(): void;
  onWritten(listener: () => void): () => void;
}

export function createOutboxSignal(notifyOthers: () => Promise<void>, throttleMs = 20): OutboxSignal {
  const local = new EventEmitter();
  local.setMaxListeners(0);
  let pending: NodeJS.Timeout | undefined;
  return {
    written() {
      local.emit("written");
      pending ??= setTimeout(() => {
        pending = undefined;
        notifyOthers().catch(() => {});
      }, throttleMs);
      pending.unref?.();
    },
    onWritten(listener) {
      local.on("written", listener);
      return () => local.off("written", listener);
    },
  };
}
