// A backend that could not answer in time, or whose circuit breaker is open:
// the client may retry (HTTP 503, Retry-After, code SERVICE_UNAVAILABLE naming
// the service). `outcome` says what became of a write the request carried:
// NOT_APPLIED when it was never sent, UNKNOWN when it was sent and no answer
// came (it may have committed: retry with the same idempotency key, which
// returns the order if it did and places it if it did not).
export type Service = "database" | "pubsub" | "stream";
export type WriteOutcome = "NOT_APPLIED" | "UNKNOWN";

/** A request's deadline (REQUEST_DEADLINE_MS), on its context for what it waits on. */
export interface RequestDeadline {
  /** performance.now() by which the request is answered. */
  readonly at: number;
  /** Set once the request was answered with the deadline error: what it has not sent yet is never sent. */
  expired: boolean;
  /** Writes of this request whose sending is tracked (placeOrder): none sent means none applied. */
  trackedWrites: number;
  /** Whether any of them was sent to the database. */
  sent: boolean;
}

export function requestDeadline(ms: number, from = performance.now()): RequestDeadline {
  return { at: from + ms, expired: false, trackedWrites: 0, sent: false };
}

/** What a request waiting past its deadline is told (the schema turns it into SERVICE_UNAVAILABLE). */
export class DeadlineExceededError extends Error {
  override name = "DeadlineExceededError";
  constructor(
    readonly service: Service,
    readonly outcome?: WriteOutcome,
  ) {
    super(`The ${service} did not answer in time; try again shortly.`);
  }
}
