// The PoC's retry delays: initialDelay x 2^attempt, each spread by +-25 % so that the partitions
// and instances that failed together do not retry together (about 100, 200, 400 ms by default).
import type { IBackoff, IBackoffFactory } from "cockatiel";

export const JITTER = 0.25;

export class JitteredExponentialBackoff implements IBackoffFactory<unknown> {
  constructor(
    private readonly initialDelayMs: number,
    /** A source of numbers in [0, 1); tests pass their own. */
    private readonly random: () => number = Math.random,
  ) {}

  next(): IBackoff<unknown> {
    return this.delayFor(0);
  }

  /** The bounds the delay before retry `retry` (1-based) falls within. */
  static bounds(initialDelayMs: number, retry: number): { min: number; max: number } {
    const base = initialDelayMs * 2 ** (retry - 1);
    return { min: base * (1 - JITTER), max: base * (1 + JITTER) };
  }

  private delayFor(exponent: number): IBackoff<unknown> {
    const base = this.initialDelayMs * 2 ** exponent;
    const duration = Math.round(base * (1 + JITTER * (2 * this.random() - 1)));
    return { duration, next: () => this.delayFor(exponent + 1) };
  }
}
