// Retry, circuit breaker and attempt timeout around every write to one dependency, in that order:
// each attempt counts towards the breaker, an attempt that hangs counts as failed, and an open
// breaker is not retried (it fails fast until its probe). The caller sees one typed error.
import {
  BrokenCircuitError,
  handleWhen,
  type IPolicy,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from "cockatiel";
import type { Config } from "../config/config.js";
import type { Logger } from "../observability/logger.js";
import { type BreakerState, DependencyBreaker } from "./dependency-breaker.js";
import { DependencyUnavailableError } from "./dependency-unavailable-error.js";
import { JitteredExponentialBackoff } from "./jittered-backoff.js";

export type ResilienceOptions = Config["resilience"];

export class DependencyGuard {
  readonly breaker: DependencyBreaker;
  private readonly policy: IPolicy;

  constructor(
    /** Short name for logs and errors: store, dead-letter-topic. */
    readonly name: string,
    /** What it is, for sentences: "the payment store (PostgreSQL ...)". */
    readonly description: string,
    private readonly options: ResilienceOptions,
    private readonly logger: Logger,
    random: () => number = Math.random,
  ) {
    this.breaker = new DependencyBreaker(
      name,
      {
        threshold: options.breakerThreshold,
        halfOpenAfterMs: options.breakerHalfOpenAfterMs,
        successesToClose: options.breakerSuccessesToClose,
      },
      logger,
    );
    const retries = retry(
      handleWhen((error) => !(error instanceof BrokenCircuitError)),
      {
        maxAttempts: options.retryMaxAttempts,
        backoff: new JitteredExponentialBackoff(options.retryInitialDelayMs, random),
      },
    );
    retries.onRetry(({ delay, attempt, ...outcome }) => {
      const error = "error" in outcome ? outcome.error : undefined;
      this.logger.warn(
        { dependency: name, attempt, err: error },
        `[${name.toUpperCase()}] Retry ${attempt}/${options.retryMaxAttempts} in ${delay}ms: ${String(error)}`,
      );
    });
    retries.onGiveUp((outcome) => {
      const error = "error" in outcome ? outcome.error : undefined;
      this.logger.error(
        { dependency: name, err: error },
        `[${name.toUpperCase()}] Max retries exceeded, pausing the topic until ${description} recovers (nothing is dead-lettered for this)`,
      );
    });
    const attemptTimeout = timeout(options.attemptTimeoutMs, TimeoutStrategy.Aggressive);
    this.policy = wrap(retries, this.breaker.policy, attemptTimeout);
  }

  get state(): BreakerState {
    return this.breaker.state;
  }

  /** Runs one write; rejects with DependencyUnavailableError when it cannot be done now. */
  async run<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await this.policy.execute(() => write());
    } catch (error) {
      throw new DependencyUnavailableError(
        this.name,
        error instanceof BrokenCircuitError
          ? `${this.description} is unavailable: its circuit breaker is open`
          : `${this.description} failed: ${String(error)}`,
        this.retryAfterMs(),
        () => this.breaker.state,
        { cause: error },
      );
    } finally {
      this.breaker.refresh();
    }
  }

  /** A sentence for /readyz while the breaker is not closed. */
  notReadyReason(): string | undefined {
    const state = this.breaker.state;
    if (state === "closed") return undefined;
    const last =
      this.breaker.lastError === undefined ? "" : ` (last error: ${String(this.breaker.lastError)})`;
    const probe =
      state === "open" ? `; next probe in ${Math.ceil(this.breaker.probeInMs() / 1000)}s` : "; probing";
    return `writes to ${this.description} are failing${last}: circuit breaker ${state}${probe}; topics that need it are paused and resume from their first unprocessed record`;
  }

  // Open: until the probe. Closed with retries used up: one more backoff step, and the breaker
  // (which has counted those attempts) decides after that.
  private retryAfterMs(): number {
    if (this.breaker.state === "open") return Math.max(this.breaker.probeInMs(), 10);
    return this.options.retryInitialDelayMs * 2 ** this.options.retryMaxAttempts;
  }
}
