import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Config } from "../../../server/config/config.js";
import { createLogger } from "../../../server/observability/logger.js";
import { DependencyGuard } from "../../../server/resilience/dependency-guard.js";
import { DependencyUnavailableError } from "../../../server/resilience/dependency-unavailable-error.js";
import { JitteredExponentialBackoff } from "../../../server/resilience/jittered-backoff.js";

const poc: Config["resilience"] = {
  retryMaxAttempts: 3,
  retryInitialDelayMs: 100,
  attemptTimeoutMs: 10_000,
  breakerThreshold: 5,
  breakerHalfOpenAfterMs: 30_000,
  breakerSuccessesToClose: 2,
  poisonRetries: 0,
};

function capturedLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line).msg);
      done();
    },
  });
  return { logger: createLogger({ level: "info", format: "json" }, destination), lines };
}

function guard(options: Partial<Config["resilience"]> = {}, random?: () => number) {
  const { logger, lines } = capturedLogger();
  return {
    guard: new DependencyGuard("store", "the test store", { ...poc, ...options }, logger, random),
    lines,
  };
}

const failing = () => Promise.reject(new Error("connection refused"));

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("retry timing", () => {
  it.each([
    ["the lowest jitter", () => 0],
    ["no jitter", () => 0.5],
    ["the highest jitter", () => 0.999_999],
    ["random jitter", Math.random],
  ])("waits 100ms x 2^attempt within +-25%% between attempts (%s)", async (_, random) => {
    const { guard: store, lines } = guard({}, random);
    const attemptsAt: number[] = [];
    const outcome = store
      .run(() => {
        attemptsAt.push(Date.now());
        return failing();
      })
      .catch((error: unknown) => error);
    await vi.runAllTimersAsync();
    const error = await outcome;

    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(attemptsAt).toHaveLength(4);
    for (let retry = 1; retry <= 3; retry++) {
      const waited = (attemptsAt[retry] ?? 0) - (attemptsAt[retry - 1] ?? 0);
      const { min, max } = JitteredExponentialBackoff.bounds(100, retry);
      expect(waited).toBeGreaterThanOrEqual(Math.floor(min));
      expect(waited).toBeLessThanOrEqual(Math.ceil(max));
    }
    expect(lines.filter((line) => /^\[STORE\] Retry \d\/3 in \d+ms/.test(line))).toHaveLength(3);
    expect(lines.some((line) => line.startsWith("[STORE] Max retries exceeded"))).toBe(true);
  });

  it("stops retrying at the first success", async () => {
    const { guard: store } = guard();
    let calls = 0;
    const outcome = store.run(async () => {
      calls++;
      if (calls < 3) throw new Error("flaky");
      return "stored";
    });
    await vi.runAllTimersAsync();
    await expect(outcome).resolves.toBe("stored");
    expect(calls).toBe(3);
    expect(store.state).toBe("closed");
  });

  it("fails an attempt that hangs after the attempt timeout", async () => {
    const { guard: store } = guard({ retryMaxAttempts: 0, attemptTimeoutMs: 1000 });
    const outcome = store.run(() => new Promise<never>(() => {})).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await outcome).toBeInstanceOf(DependencyUnavailableError);
  });
});

describe("circuit breaker", () => {
  it("opens after 5 consecutive failures, fails fast, probes after 30s and closes after 2 successes", async () => {
    const { guard: store, lines } = guard({ retryMaxAttempts: 0 });
    let calls = 0;
    const write = (ok: boolean) => () => {
      calls++;
      return ok ? Promise.resolve() : failing();
    };

    for (let i = 0; i < 4; i++)
      await expect(store.run(write(false))).rejects.toThrow(DependencyUnavailableError);
    expect(store.state).toBe("closed");
    const fifth = await store.run(write(false)).catch((error: unknown) => error);
    expect(store.state).toBe("open");
    expect((fifth as DependencyUnavailableError).retryAfterMs).toBe(30_000);
    expect(store.notReadyReason()).toMatch(/circuit breaker open; next probe in 30s/);

    // Open: the dependency is not even called.
    const callsBefore = calls;
    const fast = (await store
      .run(write(true))
      .catch((error: unknown) => error)) as DependencyUnavailableError;
    expect(fast).toBeInstanceOf(DependencyUnavailableError);
    expect(fast.message).toMatch(/circuit breaker is open/);
    expect(calls).toBe(callsBefore);
    vi.advanceTimersByTime(20_000);
    expect(
      (await store.run(write(true)).catch((error: unknown) => error)) as DependencyUnavailableError,
    ).toMatchObject({ retryAfterMs: 10_000 });

    vi.advanceTimersByTime(10_000);
    await store.run(write(true));
    expect(store.state).toBe("half-open");
    expect(store.notReadyReason()).toMatch(/half-open/);
    await store.run(write(true));
    expect(store.state).toBe("closed");
    expect(store.notReadyReason()).toBeUndefined();

    const transitions = lines.filter((line) => line.startsWith("[BREAKER:store]"));
    expect(transitions).toEqual([
      expect.stringMatching(
        /^\[BREAKER:store\] CLOSED -> OPEN after 5 consecutive failures; failing fast for 30s/,
      ),
      expect.stringMatching(/^\[BREAKER:store\] OPEN -> HALF-OPEN/),
      expect.stringMatching(/^\[BREAKER:store\] HALF-OPEN -> CLOSED/),
    ]);
  });

  it("closes after a successful probe when nothing else calls for 5 s (an idle view is not kept unready)", async () => {
    const { guard: store, lines } = guard({ retryMaxAttempts: 0, breakerThreshold: 1 });
    await expect(store.run(failing)).rejects.toThrow();
    vi.advanceTimersByTime(30_000);
    // The view caught up in one write: the probe, and then nothing.
    await store.run(() => Promise.resolve());
    expect(store.state).toBe("half-open");
    vi.advanceTimersByTime(4_999);
    expect(store.state).toBe("half-open");
    vi.advanceTimersByTime(1);
    expect(store.state).toBe("closed");
    expect(store.notReadyReason()).toBeUndefined();
    expect(lines.filter((line) => line.startsWith("[BREAKER:store]")).at(-1)).toMatch(/HALF-OPEN -> CLOSED/);
  });

  it("does not close when quiet after a failure reopened it", async () => {
    const { guard: store } = guard({ retryMaxAttempts: 0, breakerThreshold: 1 });
    await expect(store.run(failing)).rejects.toThrow();
    vi.advanceTimersByTime(30_000);
    await store.run(() => Promise.resolve());
    await expect(store.run(failing)).rejects.toThrow();
    vi.advanceTimersByTime(10_000);
    expect(store.state).toBe("open");
  });

  it("reopens on one failure while half-open, and after a failure between the two successes", async () => {
    const { guard: store, lines } = guard({ retryMaxAttempts: 0, breakerThreshold: 1 });
    await expect(store.run(failing)).rejects.toThrow();
    expect(store.state).toBe("open");

    vi.advanceTimersByTime(30_000);
    await expect(store.run(failing)).rejects.toThrow();
    expect(store.state).toBe("open");

    vi.advanceTimersByTime(30_000);
    await store.run(() => Promise.resolve());
    expect(store.state).toBe("half-open");
    await expect(store.run(failing)).rejects.toThrow();
    expect(store.state).toBe("open");

    expect(lines.filter((line) => line.startsWith("[BREAKER:store]"))).toEqual([
      expect.stringMatching(/CLOSED -> OPEN/),
      expect.stringMatching(/OPEN -> HALF-OPEN/),
      expect.stringMatching(/HALF-OPEN -> OPEN/),
      expect.stringMatching(/OPEN -> HALF-OPEN/),
      expect.stringMatching(/HALF-OPEN -> OPEN/),
    ]);
  });

  it("does not retry while open: retries count towards the breaker, then it fails fast", async () => {
    const { guard: store } = guard();
    let calls = 0;
    const write = () => {
      calls++;
      return failing();
    };
    const first = store.run(write).catch((error: unknown) => error);
    await vi.runAllTimersAsync();
    await first;
    expect(calls).toBe(4);
    expect(store.state).toBe("closed");
    const second = store.run(write).catch((error: unknown) => error);
    await vi.runAllTimersAsync();
    // The 5th attempt opened it; the retry after it met the open breaker (a backoff step later).
    const failed = (await second) as DependencyUnavailableError;
    expect(failed.retryAfterMs).toBeGreaterThan(29_000);
    expect(failed.retryAfterMs).toBeLessThanOrEqual(30_000);
    expect(calls).toBe(5);
    expect(store.state).toBe("open");
  });
});
