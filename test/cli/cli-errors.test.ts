import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { explainError, TimedOutError } from "../../cli/cli-errors.js";

describe("explainError", () => {
  it("tells how to resume when pa refuses a cursor as OUT_OF_RANGE", () => {
    const refused = new ConnectError(
      'Kafka no longer holds topic "payments" partition 0 from offset 2 (...): set allow_cursor_fallback ...',
      Code.OutOfRange,
    );
    const explained = explainError(refused, "localhost:50051");
    expect(explained.exitCode).toBe(1);
    expect(explained.message).toMatch(/^pa cannot resume from that cursor: Kafka no longer holds/);
    expect(explained.message).toContain("--allow-gap, or --from earliest / latest");
  });

  it("exits 3 when pa ran out of time, so a script can tell it from not found", () => {
    const late = new ConnectError("the store had not reached consistent_with ...", Code.DeadlineExceeded);
    expect(explainError(late, "localhost:50051")).toEqual({
      message: "pa did not answer in time (the store had not reached consistent_with ...)",
      exitCode: 3,
    });
    expect(explainError(new TimedOutError("payment pay_1: not stored yet"), "x").exitCode).toBe(3);
    expect(explainError(new ConnectError("no such payment", Code.NotFound), "x").exitCode).toBe(1);
  });

  it("says pa's own reason for UNAVAILABLE, and unreachable only when pa did not answer", () => {
    const answered = new ConnectError(
      "the store is unavailable (circuit breaker open)",
      Code.Unavailable,
      new Headers({ "grpc-status": "14" }),
    );
    expect(explainError(answered, "localhost:50051").message).toBe(
      "pa is unavailable: the store is unavailable (circuit breaker open); try again shortly",
    );
    const refused = new ConnectError("connect ECONNREFUSED 127.0.0.1:50051", Code.Unavailable);
    expect(explainError(refused, "localhost:50051").message).toMatch(
      /^server not reachable at localhost:50051/,
    );
  });
});
