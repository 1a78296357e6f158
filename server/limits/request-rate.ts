// MAX_REQUESTS_PER_SECOND: how many calls one caller (caller.ts) may start per second, whatever
// the protocol or method.
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

/** A caller over its rate: RESOURCE_EXHAUSTED, with when it may call again. */
export class RateLimitedError extends Error {
  override readonly name = "RateLimitedError";
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export class RequestRate {
  private readonly limiter: RateLimiterMemory;

  constructor(private readonly perSecond: number) {
    this.limiter = new RateLimiterMemory({ points: perSecond, duration: 1 });
  }

  /** Counts one call of `key`; throws RateLimitedError when it is over the rate. */
  async admit(key: string): Promise<void> {
    try {
      await this.limiter.consume(key);
    } catch (outcome) {
      if (!(outcome instanceof RateLimiterRes)) throw outcome;
      const waitMs = Math.max(1, outcome.msBeforeNext);
      throw new RateLimitedError(
        `${key} sent more than ${this.perSecond} requests in a second (MAX_REQUESTS_PER_SECOND=${this.perSecond}); retry in ${waitMs} ms, after ${new Date(Date.now() + waitMs).toISOString()}`,
        Math.ceil(waitMs / 1000),
      );
    }
  }
}
