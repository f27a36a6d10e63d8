// The connection indicator, in the sticky header so it never scrolls away:
// live, connecting, or offline and waiting to reconnect (with a countdown and
// "Retry now"). The page's state goes on <body data-connection>, which greys
// the counts and disables ordering while they may be stale. After a reconnect
// the server re-sends every subscribed product's CURRENT count, so the page
// says its counts are fresh.
import type { ConnectionState, Live } from "./live";

export function bindConnectionIndicator(el: HTMLElement, retry: HTMLButtonElement, live: Live): void {
  const label = el.querySelector<HTMLElement>(".connection-label")!;
  // The countdown is aria-hidden: the status region announces state changes, not every second.
  const detail = el.querySelector<HTMLElement>(".connection-detail")!;
  let countdown: ReturnType<typeof setInterval> | undefined;
  retry.addEventListener("click", () => live.retryNow());
  // The network is back: no reason to sit out the rest of the wait.
  window.addEventListener("online", () => live.retryNow());
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
    document.body.dataset.connection = state.kind;
    retry.hidden = state.kind !== "waiting";
    if (state.kind === "waiting") {
      const until = Date.now() + state.retryInMs;
      const tick = () => (detail.textContent = ` in ${Math.max(0, Math.ceil((until - Date.now()) / 1000))} s (attempt ${state.attempt})`);
      tick();
      countdown = setInterval(tick, 1000);
    }
  });
}

/** Whether the page may place orders: only while live (offline, the counts it shows may be stale). */
export const isLive = () => document.body.dataset.connection === "connected";
