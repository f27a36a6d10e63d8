// "Outbox rows were committed": wakes relays right after the commit, never
// inside it. Relays in this process hear it at once; relays elsewhere through
// a NOTIFY: the first commit of a quiet moment at once, then at most one more
// per throttle window (a group-committed batch of orders sends two, not one
// per order). The window is short because every commit in it waits for its
// end: it is most of the commit -> relay latency. Relays also poll, so a lost
// signal only costs latency.
import { EventEmitter } from "node:events";

export const OUTBOX_CHANNEL = "outbox_event";

export interface OutboxSignal {
  /** Call after a transaction that wrote outbox rows has committed. */
  committed(): void;
  onCommitted(listener: () => void): () => void;
}

export function createOutboxSignal(notifyOthers: () => Promise<void>, throttleMs = 2): OutboxSignal {
  const local = new EventEmitter();
  local.setMaxListeners(0);
  let pending: NodeJS.Timeout | undefined;
  let trailing = false;
  return {
    committed() {
      local.emit("committed");
      // Leading edge: an isolated commit notifies at once; a burst sends one
      // more NOTIFY when the throttle window ends, so its tail is not missed.
      if (pending) {
        trailing = true;
        return;
      }
      void notifyOthers().catch(() => {});
      const window = () => {
        pending = setTimeout(() => {
          pending = undefined;
          if (trailing) {
            trailing = false;
            void notifyOthers().catch(() => {});
            window();
          }
        }, throttleMs);
        pending.unref?.();
      };
      window();
    },
    onCommitted(listener) {
      local.on("committed", listener);
      return () => local.off("committed", listener);
    },
  };
}
