// The connection indicator: live, connecting, or offline and waiting to
// reconnect (with a countdown). After a reconnect the server re-sends every
// subscribed product's CURRENT count, so the page says its counts are fresh.
import type { ConnectionState, Live } from "./live";

export function bindConnectionIndicator(el: HTMLElement, live: Live): void {
  const label = el.querySelector<HTMLElement>(".connection-label")!;
  // The countdown is aria-hidden: the status region announces state changes, not every second.
  const detail = el.querySelector<HTMLElement>(".connection-detail")!;
  let countdown: ReturnType<typeof setInterval> | undefined;
  live.onState((state: ConnectionState) => {
    clearInterval(countdown);
    detail.textContent = "";
    if (el.dataset.state !== state.kind) {
      label.textContent =
        state.kind === "connected"
          ? state.reconnected
            ? "Live again, counts refreshed"
            : "Live"
          : state.kind === "connecting"
            ? "Connecting…"
            : "Offline, reconnecting";
    }
    el.dataset.state = state.kind;
    if (state.kind === "waiting") {
      const until = Date.now() + state.retryInMs;
      const tick = () => (detail.textContent = ` in ${Math.max(0, Math.ceil((until - Date.now()) / 1000))} s (attempt ${state.attempt})`);
      tick();
      countdown = setInterval(tick, 1000);
    }
  });
}
