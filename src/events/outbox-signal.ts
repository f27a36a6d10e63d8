// "Outbox rows were committed": wakes relays right after the commit, never
// inside it. Relays in this process hear it at once. Relays elsewhere hear of
// it through a NOTIFY, sent only by a process with no relay of its own: one
// with a relay leaves that to it, as the relay NOTIFYs the others itself when
// another holds the publishing lock (outbox-relay.ts). A process without a
// relay notifies the first commit of a quiet moment at once, then at most one
// more per throttle window (a busy order stream sends one per window, not one
// per order). Relays also poll, so a lost signal only costs latency.
//
// Each NOTIFY is a transaction of its own, with a commit record to flush: on a
// hot product it delayed the orders' own commits.
//
// The window is most of the commit -> relay latency for relays in other
// processes, hence a short one. It was longer while each relay wake-up scanned
// the outbox's dead index entries, when more wake-ups slowed a hot product's
// orders; since the relay scans from a cursor (outbox-cursor.ts), the short
// window costs the order path nothing measurable. The runs behind both:
// BENCHMARKS.md, "Figures behind the code".
import { EventEmitter } from "node:events";

export const OUTBOX_CHANNEL = "outbox_event";

export interface OutboxSignal {
  /** Call after a transaction that wrote outbox rows has committed. */
  committed(): void;
  /** Another thread of this process committed (it notifies other processes itself): wakes this thread's relay only. */
  wake(): void;
  onCommitted(listener: () => void): () => void;
  /**
   * A relay of this process (or of its pipeline thread) listens: while one
   * does, commits send no NOTIFY, the relay speaks for them.
   */
  relayHere(listener: () => void): () => void;
}

export function createOutboxSignal(notifyOthers: () => Promise<void>, throttleMs = 2): OutboxSignal {
  const local = new EventEmitter();
  local.setMaxListeners(0);
  let pending: NodeJS.Timeout | undefined;
  let trailing = false;
  let relays = 0;
  return {
    committed() {
      local.emit("committed");
      if (relays > 0) return;
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
    wake() {
      local.emit("committed");
    },
    onCommitted(listener) {
      local.on("committed", listener);
      return () => local.off("committed", listener);
    },
    relayHere(listener) {
      relays++;
      const off = this.onCommitted(listener);
      let gone = false;
      return () => {
        if (gone) return;
        gone = true;
        relays--;
        off();
      };
    },
  };
}
