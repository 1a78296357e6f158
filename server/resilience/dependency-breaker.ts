// The circuit breaker of one dependency (the store, the dead-letter topic). cockatiel runs the state
// machine; this adds what the PoC's breaker promised and cockatiel lacks: after the half-open probe
// succeeds, more successes are needed before it counts as closed, and one failure meanwhile reopens
// it. A dependency with nothing more to do after its probe (the view caught up in one write, the
// last dead letters went out) is not kept half-open, unready, until its next call: after a quiet
// spell with no failure (QUIET_CLOSE_MS, or the open time if shorter), it counts as closed. Every transition is logged
// once and reported to listeners.
import { type CircuitBreakerPolicy, CircuitState, circuitBreaker, handleAll, type IBreaker } from "cockatiel";
import type { Logger } from "../observability/logger.js";

export type BreakerState = "closed" | "open" | "half-open";

// Long enough for calls queued behind the probe to have been made (a write waits for the one
// before it), short enough that /readyz does not say "not ready" long after the dependency is fine.
const QUIET_CLOSE_MS = 5_000;

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  threshold: number;
  /** How long it fails fast once open before it lets one probe through. */
  halfOpenAfterMs: number;
  /** Successes from the probe on that close it. */
  successesToClose: number;
}

/** Consecutive failures open it; while recovering, any failure reopens it at once. */
export class RecoveringConsecutiveBreaker implements IBreaker {
  state = { failures: 0, successesBeforeClosed: 0 };

  constructor(private readonly options: Pick<BreakerOptions, "threshold" | "successesToClose">) {}

  /** True between a successful probe and the success that fully closes the breaker. */
  get recovering(): boolean {
    return this.state.successesBeforeClosed > 0;
  }

  /** Recovered without the remaining successes: no call failed during a quiet spell. */
  settle(): void {
    this.state.successesBeforeClosed = 0;
  }

  success(circuit: CircuitState): void {
    this.state.failures = 0;
    if (circuit === CircuitState.HalfOpen)
      this.state.successesBeforeClosed = this.options.successesToClose - 1;
    else if (this.state.successesBeforeClosed > 0) this.state.successesBeforeClosed--;
  }

  failure(circuit: CircuitState): boolean {
    if (circuit === CircuitState.HalfOpen || this.recovering) {
      this.state = { failures: 0, successesBeforeClosed: 0 };
      return true;
    }
    this.state.failures++;
    if (this.state.failures < this.options.threshold) return false;
    this.state.failures = 0;
    return true;
  }
}

export class DependencyBreaker {
  readonly policy: CircuitBreakerPolicy;
  private readonly counter: RecoveringConsecutiveBreaker;
  private readonly listeners = new Set<(state: BreakerState) => void>();
  private reported: BreakerState = "closed";
  private openedAtMs = 0;
  private quietTimer: NodeJS.Timeout | undefined;
  lastError: unknown;

  constructor(
    /** Short name used in logs: `[BREAKER:store]`. */
    readonly name: string,
    private readonly options: BreakerOptions,
    private readonly logger: Logger,
  ) {
    this.counter = new RecoveringConsecutiveBreaker(options);
    this.policy = circuitBreaker(handleAll, {
      breaker: this.counter,
      halfOpenAfter: options.halfOpenAfterMs,
    });
    this.policy.onBreak((reason) => {
      this.openedAtMs = Date.now();
      if ("error" in reason) this.lastError = reason.error;
    });
    this.policy.onStateChange(() => this.refresh());
  }

  get state(): BreakerState {
    switch (this.policy.state) {
      case CircuitState.Closed:
        return this.counter.recovering ? "half-open" : "closed";
      case CircuitState.HalfOpen:
        return "half-open";
      default:
        return "open";
    }
  }

  /** How long until an open breaker lets a probe through; 0 when it would now. */
  probeInMs(nowMs = Date.now()): number {
    if (this.policy.state !== CircuitState.Open) return 0;
    return Math.max(0, this.openedAtMs + this.options.halfOpenAfterMs - nowMs);
  }

  // Re-armed by every call while recovering: the remaining successes close it sooner, a failure
  // reopens it (and the timer then finds it not recovering).
  private closeWhenQuiet(): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
    if (!this.counter.recovering || this.policy.state !== CircuitState.Closed) return;
    this.quietTimer = setTimeout(
      () => {
        this.quietTimer = undefined;
        if (!this.counter.recovering || this.policy.state !== CircuitState.Closed) return;
        this.counter.settle();
        this.refresh();
      },
      Math.min(QUIET_CLOSE_MS, this.options.halfOpenAfterMs),
    );
    this.quietTimer.unref();
  }

  onStateChange(listener: (state: BreakerState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Logs and reports a transition, once. cockatiel reports its own; the step from recovering to
   * closed is ours, so whoever executes through the policy calls this afterwards.
   */
  refresh(): void {
    this.closeWhenQuiet();
    const state = this.state;
    if (state === this.reported) return;
    const from = this.reported;
    this.reported = state;
    const transition = `[BREAKER:${this.name}] ${from.toUpperCase()} -> ${state.toUpperCase()}`;
    if (state === "open") {
      const why =
        from === "closed"
          ? `after ${this.options.threshold} consecutive failures`
          : "because the probe or a write while recovering failed";
      this.logger.error(
        { breaker: this.name, state, err: this.lastError },
        `${transition} ${why}; failing fast for ${Math.round(this.options.halfOpenAfterMs / 1000)}s`,
      );
    } else if (state === "half-open") {
      this.logger.warn(
        { breaker: this.name, state },
        `${transition}: letting a probe through; ${this.options.successesToClose} successes close it`,
      );
    } else {
      this.logger.info({ breaker: this.name, state }, `${transition}: ${this.name} is healthy again`);
    }
    for (const listener of this.listeners) listener(state);
  }
}
