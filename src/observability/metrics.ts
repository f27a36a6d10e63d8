// What the code below the top floors reports to monitoring: a small port,
// injected from above (process.ts builds the Prometheus one), so services,
// the relay and the bridge know nothing of prom-client. Only events are
// reported here; states (outbox backlog, consumer lag, sockets) are read when
// Prometheus scrapes (prometheus.ts), not kept up to date on the hot path.

export type OrderOutcome = "placed" | "refused" | "replayed";

export interface Metrics {
  /** One placeOrder that ended as `outcome` (refused: any domain error), after `seconds` in the service. */
  order(outcome: OrderOutcome, seconds: number): void;
  /** An expectedVersion that no longer matched (`entity`: Product, Order). */
  versionConflict(entity: string): void;
  /** A committed adjustStock (restock or write-off). */
  stockAdjusted(): void;
  /** The relay published one batch of outbox rows to the stream. */
  relayPublished(seconds: number): void;
  /** The bridge published one batch from the stream to pub/sub. */
  bridgePublished(seconds: number): void;
  /** A request or subscription refused by a rate limit (`limit` names which). */
  rateLimited(limit: string): void;
  /** A backend's circuit breaker entered `to` (closed, open, half-open). */
  breakerTransition(backend: string, to: string): void;
}

export const noMetrics: Metrics = {
  order() {},
  versionConflict() {},
  stockAdjusted() {},
  relayPublished() {},
  bridgePublished() {},
  rateLimited() {},
  breakerTransition() {},
};
