import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../server/config/config.js";

describe("resilience configuration", () => {
  it("defaults to the PoC's parameters", () => {
    expect(parseConfig({}).resilience).toEqual({
      retryMaxAttempts: 3,
      retryInitialDelayMs: 100,
      attemptTimeoutMs: 10_000,
      breakerThreshold: 5,
      breakerHalfOpenAfterMs: 30_000,
      breakerSuccessesToClose: 2,
      poisonRetries: 0,
    });
  });

  it("reads every variable, durations in ms or with a unit", () => {
    expect(
      parseConfig({
        RETRY_MAX_ATTEMPTS: "5",
        RETRY_INITIAL_DELAY: "250ms",
        WRITE_ATTEMPT_TIMEOUT: "2s",
        BREAKER_THRESHOLD: "10",
        BREAKER_HALF_OPEN_AFTER: "1m",
        BREAKER_SUCCESSES_TO_CLOSE: "3",
        POISON_RETRIES: "3",
      }).resilience,
    ).toEqual({
      retryMaxAttempts: 5,
      retryInitialDelayMs: 250,
      attemptTimeoutMs: 2_000,
      breakerThreshold: 10,
      breakerHalfOpenAfterMs: 60_000,
      breakerSuccessesToClose: 3,
      poisonRetries: 3,
    });
  });

  it.each([
    ["BREAKER_THRESHOLD", "0", /BREAKER_THRESHOLD \(got "0"\): must be at least 1/],
    ["BREAKER_SUCCESSES_TO_CLOSE", "two", /BREAKER_SUCCESSES_TO_CLOSE \(got "two"\): must be a whole number/],
    ["RETRY_MAX_ATTEMPTS", "-1", /RETRY_MAX_ATTEMPTS \(got "-1"\): must be a whole number/],
    ["RETRY_INITIAL_DELAY", "soon", /RETRY_INITIAL_DELAY \(got "soon"\): must be a duration/],
    ["WRITE_ATTEMPT_TIMEOUT", "5ms", /WRITE_ATTEMPT_TIMEOUT \(got "5ms"\): must be at least 100ms/],
    ["BREAKER_HALF_OPEN_AFTER", "later", /BREAKER_HALF_OPEN_AFTER \(got "later"\): must be a duration/],
  ])("rejects %s=%s naming the variable", (name, value, message) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ [name]: value })).toThrow(message);
  });
});
