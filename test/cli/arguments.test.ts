import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import {
  amountToMinor,
  parseCursor,
  parseOffsetRange,
  parseOffsets,
  parseProvider,
  parseStartPosition,
  parseTimeout,
} from "../../cli/arguments.js";
import { UsageError } from "../../cli/cli-errors.js";
import { serverBaseUrl } from "../../cli/connection.js";
import { Provider, StreamStart } from "../../gen/payment/payment_pb.js";

describe("option values", () => {
  it("reads --from as a start, a time or a cursor", () => {
    expect(parseStartPosition("EARLIEST")).toEqual({ case: "start", value: StreamStart.EARLIEST });
    expect(parseStartPosition("latest")).toEqual({ case: "start", value: StreamStart.LATEST });
    const time = parseStartPosition("2026-11-23T10:00:00Z");
    expect(time.case).toBe("startTime");
    expect(parseStartPosition("eyJ2IjoxfQ")).toEqual({ case: "startCursor", value: "eyJ2IjoxfQ" });
    expect(() => parseStartPosition("2026-13-45")).toThrow(InvalidArgumentError);
    expect(() => parseStartPosition("not a cursor")).toThrow(InvalidArgumentError);
  });

  it("reads --consistent-with as a cursor, and says where one comes from otherwise", () => {
    expect(parseCursor(" eyJ2IjoxfQ ")).toBe("eyJ2IjoxfQ");
    expect(() => parseCursor("eyJ2 IjoxfQ")).toThrow(/stream --show-cursor/);
    expect(() => parseCursor("")).toThrow(InvalidArgumentError);
  });

  it("reads --timeout as a duration above 0", () => {
    expect(parseTimeout("5s")).toBe(5000);
    expect(parseTimeout("250")).toBe(250);
    expect(() => parseTimeout("0")).toThrow(/above 0/);
    expect(() => parseTimeout("soon")).toThrow(InvalidArgumentError);
  });

  it("names what is allowed for an unknown provider", () => {
    expect(parseProvider("Stripe")).toBe(Provider.STRIPE);
    expect(() => parseProvider("bitcoin")).toThrow(/stripe, razorpay, paypal/);
  });

  it("converts amounts exactly per currency", () => {
    expect(amountToMinor("10.50", "usd", "--min-amount")).toBe(1050n);
    expect(amountToMinor("1.5", "KWD", "--min-amount")).toBe(1500n);
    expect(amountToMinor("5000", "JPY", "--min-amount")).toBe(5000n);
    expect(() => amountToMinor("10.505", "USD", "--min-amount")).toThrow(/at most 2 places/);
    expect(() => amountToMinor("1", "dollars", "--min-amount")).toThrow(/ISO 4217/);
  });

  it("reads dead-letter references", () => {
    expect(parseOffsets("0:12, 2:40", undefined)).toEqual([
      { partition: 0, offset: 12n },
      { partition: 2, offset: 40n },
    ]);
    expect(() => parseOffsets("12", undefined)).toThrow(/partition:offset/);
    expect(parseOffsetRange("1:10-20")).toEqual({ partition: 1, fromOffset: 10n, toOffset: 20n });
    expect(() => parseOffsetRange("1:20-10")).toThrow(InvalidArgumentError);
  });

  it("reads --server as host:port or a URL", () => {
    expect(serverBaseUrl("localhost:50051", false)).toBe("http://localhost:50051");
    expect(serverBaseUrl("localhost:50051", true)).toBe("https://localhost:50051");
    expect(serverBaseUrl("https://pa.example:443", false)).toBe("https://pa.example");
    expect(() => serverBaseUrl("localhost", false)).toThrow(UsageError);
    expect(() => serverBaseUrl("http://x:1/path", false)).toThrow(UsageError);
  });
});
