// What a guarded write throws once its retries ran out or its breaker is open: the caller pauses
// the work that needs the dependency and tries again after `retryAfterMs`, never dead-letters it.
import type { BreakerState } from "./dependency-breaker.js";

export class DependencyUnavailableError extends Error {
  override readonly name = "DependencyUnavailableError";

  constructor(
    /** The breaker's name: store, dead-letter-topic. */
    readonly dependency: string,
    message: string,
    /** When trying again may succeed: the breaker's next probe, or one more backoff step. */
    readonly retryAfterMs: number,
    /** The dependency's breaker state now (it moves on after this error). */
    readonly breakerState: () => BreakerState,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
