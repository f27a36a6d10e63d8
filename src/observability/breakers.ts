// One circuit breaker per backend (cockatiel): after `failures` consecutive
// failures or timeouts of a backend's calls it opens, and calls are refused at
// once (BackendUnavailableError) instead of each waiting out a timeout; after
// `halfOpenAfterMs` the next call is let through as a probe (the others are
// refused meanwhile): its success closes the breaker, its failure opens it again. Only the backend's own
// failures count (unreachable, timed out): an answer that is an error (a
// unique violation, a syntax error) is the backend working, and counts as a
// success. Transitions are reported to listeners (process.ts logs them; the
// metrics and /ready read `state`).
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleAll, type CircuitBreakerPolicy } from "cockatiel";

export type Backend = "postgres" | "redis" | "kafka";
export const BACKENDS: readonly Backend[] = ["postgres", "redis", "kafka"];
export type BreakerState = "closed" | "open" | "half-open";

/** A call refused because the backend's breaker is open (or its probe is still out): nothing was sent. */
export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
  constructor(readonly backend: Backend) {
    super(`${backend} circuit breaker is open`);
  }
}

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failures: number;
  /** How long it stays open before one call may probe. */
  halfOpenAfterMs: number;
}

export interface Breaker {
  backend: Backend;
  state(): BreakerState;
  /** Runs fn through the breaker; `isFailure` says which of its errors are the backend failing. */
  execute<T>(fn: () => Promise<T>, isFailure: (err: unknown) => boolean): Promise<T>;
  /** A wait on this backend that ran out elsewhere (a request deadline): counted as a failure while closed. */
  timedOut(): void;
}

export type Breakers = Record<Backend, Breaker> & {
  /** Called once per transition of any breaker. */
  onTransition(listener: (backend: Backend, to: BreakerState) => void): () => void;
};

const STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "open",
};

/** An error that passed through as an answer (not a failure), carried past the breaker. */
class Answered {
  constructor(readonly error: unknown) {}
}

/** A deadline that ran out: the failure a breaker records for timedOut(). */
class TimedOut extends Error {}

export function createBreakers(options: BreakerOptions): Breakers {
  const listeners = new Set<(backend: Backend, to: BreakerState) => void>();
  const make = (backend: Backend): Breaker => {
    const policy: CircuitBreakerPolicy = circuitBreaker(handleAll, {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.failures),
    });
    policy.onStateChange((s) => listeners.forEach((l) => l(backend, STATES[s])));
    const run = async <T>(fn: () => Promise<T>, isFailure: (err: unknown) => boolean): Promise<T> => {
      // cockatiel queues calls behind a half-open probe; we refuse them, as while open: the probe may take a timeout.
      if (policy.state === CircuitState.HalfOpen) throw new BackendUnavailableError(backend);
      let result: T | Answered;
      try {
        result = await policy.execute(() =>
          fn().catch((err: unknown) => {
            if (isFailure(err)) throw err;
            return new Answered(err);
          }),
        );
      } catch (err) {
        // cockatiel's BrokenCircuitError (open, or half-open with its probe out): refused without a call.
        throw err instanceof BrokenCircuitError ? new BackendUnavailableError(backend) : err;
      }
      if (result instanceof Answered) throw result.error;
      return result;
    };
    return {
      backend,
      state: () => STATES[policy.state],
      execute: run,
      timedOut() {
        if (policy.state !== CircuitState.Closed) return;
        policy
          .execute(() => {
            throw new TimedOut(`${backend}: request deadline`);
          })
          .catch(() => {});
      },
    };
  };
  return {
    postgres: make("postgres"),
    redis: make("redis"),
    kafka: make("kafka"),
    onTransition(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Breakers that never open (the embedded backends, and code that is given none). */
export const noBreaker = (backend: Backend): Breaker => ({
  backend,
  state: () => "closed",
  execute: (fn) => fn(),
  timedOut() {},
});
