import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DeadLetterLog, type LoggedDeadLetter } from "../../../server/observability/dead-letter-log.js";

function logged(): { logger: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: "info" }, destination), lines };
}

const letters = (errors: string[]): LoggedDeadLetter[] =>
  errors.map((error, offset) => ({
    partition: 0,
    offset,
    key: Buffer.from(`k${offset}`),
    error,
    reason: "why",
  }));

const warnings = (lines: { level: number; msg: string }[]) =>
  lines.filter((line) => line.level === 40).map((line) => line.msg);

describe("DeadLetterLog", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("logs each letter at info and warns at most once per topic per window, with the count since the last", async () => {
    const { logger, lines } = logged();
    const log = new DeadLetterLog(logger, 10_000);
    log.sent("orders", letters(["invalid_json", "invalid_json", "missing_field"]));
    await vi.advanceTimersByTimeAsync(2_000);
    log.sent(
      "orders",
      letters(["invalid_json", "invalid_json", "invalid_json", "invalid_json", "invalid_json"]),
    );
    log.sent("refunds", letters(["invalid_amount"]));
    await vi.advanceTimersByTimeAsync(7_000);
    log.sent("orders", letters(["missing_field", "missing_field", "missing_field", "missing_field"]));
    expect(warnings(lines)).toEqual([
      "[DLQ:orders] 3 records dead-lettered (invalid_json 2, missing_field 1); each is logged at info, ListDeadLetters shows them",
      "[DLQ:refunds] 1 record dead-lettered (invalid_amount 1); each is logged at info, ListDeadLetters shows them",
    ]);
    expect(lines.filter((line) => line.level === 30)).toHaveLength(13);
    expect(lines.find((line) => line.level === 30)?.msg).toBe("[DLQ:orders] Sent: k0 (why)");

    // The window ends: the rest of the burst in one line.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(warnings(lines).slice(2)).toEqual([
      "[DLQ:orders] 9 more records dead-lettered in the last 10 s (invalid_json 5, missing_field 4); each is logged at info, ListDeadLetters shows them",
    ]);
    // A quiet window: nothing to tell, and the next letter warns at once again.
    await vi.advanceTimersByTimeAsync(25_000);
    expect(warnings(lines)).toHaveLength(3);
    log.sent("orders", letters(["invalid_json"]));
    expect(warnings(lines).at(-1)).toMatch(/^\[DLQ:orders\] 1 record dead-lettered \(invalid_json 1\)/);

    // At stop, what the window held is told, and no timer is left.
    log.sent("orders", letters(["invalid_json", "invalid_json"]));
    log.stop();
    expect(warnings(lines).at(-1)).toMatch(
      /^\[DLQ:orders\] 2 more records dead-lettered in the last 10 s \(invalid_json 2\)/,
    );
    expect(vi.getTimerCount()).toBe(0);
  });
});
