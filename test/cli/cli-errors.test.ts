import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { explainError } from "../../cli/cli-errors.js";

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
});
