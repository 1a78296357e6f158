import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeStreamCursor,
  encodeStreamCursor,
  InvalidStreamCursorError,
  resumeOffsets,
  StreamCursorEncoder,
  StreamCursorOutOfRangeError,
} from "../../../server/streaming/stream-cursor.js";

const base64url = (text: string) => Buffer.from(text).toString("base64url");

describe("decodeStreamCursor", () => {
  it("gives back the positions of a cursor pa issued for the topic", () => {
    expect(decodeStreamCursor(encodeStreamCursor("payments", [3, 0, 17]), "payments")).toEqual([3, 0, 17]);
  });

  it.each([
    ["base64 of null", "bnVsbA"],
    ["garbage", "garbage"],
    ["empty JSON object", base64url("{}")],
    ["a JSON number", base64url("42")],
    ["a JSON array", base64url("[1,2]")],
    ["another version", base64url(JSON.stringify({ v: 2, t: "payments", p: [1] }))],
    ["no partitions", base64url(JSON.stringify({ v: 1, t: "payments", p: [] }))],
    ["a negative offset", base64url(JSON.stringify({ v: 1, t: "payments", p: [-1] }))],
    ["a fractional offset", base64url(JSON.stringify({ v: 1, t: "payments", p: [1.5] }))],
    ["an offset as text", base64url(JSON.stringify({ v: 1, t: "payments", p: ["1"] }))],
    ["an empty topic", base64url(JSON.stringify({ v: 1, t: "", p: [1] }))],
    ["not UTF-8", Buffer.from([0xff, 0xfe, 0x7b]).toString("base64url")],
  ])("refuses %s as INVALID with a hint of what to send", (_, cursor) => {
    expect(() => decodeStreamCursor(cursor, "payments")).toThrow(InvalidStreamCursorError);
    expect(() => decodeStreamCursor(cursor, "payments")).toThrow(
      /not a cursor pa issued: pass a PaymentEvent's cursor .* unchanged, or start with start/,
    );
  });

  it("refuses another topic's cursor, naming both topics", () => {
    const cursor = encodeStreamCursor("orders", [1, 2, 3]);
    expect(() => decodeStreamCursor(cursor, "payments")).toThrow(InvalidStreamCursorError);
    expect(() => decodeStreamCursor(cursor, "payments")).toThrow(
      /belongs to topic "orders", not "payments": resume "orders" with it, or start/,
    );
  });

  it("throws nothing but InvalidStreamCursorError, whatever the input (property)", () => {
    const anyCursor = fc.oneof(
      fc.string(),
      fc.string().map(base64url),
      fc.jsonValue().map((value) => base64url(JSON.stringify(value))),
      fc
        .record({ v: fc.anything(), t: fc.anything(), p: fc.anything() }, { requiredKeys: [] })
        .map((body) => base64url(JSON.stringify(body) ?? "")),
      fc.uint8Array().map((bytes) => Buffer.from(bytes).toString("base64url")),
    );
    fc.assert(
      fc.property(anyCursor, (cursor) => {
        try {
          const positions = decodeStreamCursor(cursor, "payments");
          expect(positions.every((p) => Number.isSafeInteger(p) && p >= 0)).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidStreamCursorError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips every cursor it encodes (property)", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-zA-Z0-9._-]{1,40}$/),
        fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
        (topic, positions) => {
          expect(decodeStreamCursor(encodeStreamCursor(topic, positions), topic)).toEqual(positions);
        },
      ),
    );
  });
});

describe("encodeStreamCursor", () => {
  it("writes the cursors clients already hold: base64url of pa's JSON body, byte for byte (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "binary" }), fc.string(), fc.stringMatching(/^[a-zA-Z0-9._-]{1,249}$/)),
        fc.array(
          fc.oneof(fc.nat(), fc.maxSafeNat(), fc.integer(), fc.double(), fc.constantFrom(-0, Number.NaN)),
          { maxLength: 64 },
        ),
        (topic, positions) => {
          expect(encodeStreamCursor(topic, positions)).toBe(
            base64url(JSON.stringify({ v: 1, t: topic, p: positions })),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("writes the same cursors from one encoder reused for a topic's every event (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "binary" }), fc.stringMatching(/^[a-zA-Z0-9._-]{1,249}$/)),
        fc.array(
          fc.array(fc.oneof(fc.nat(), fc.maxSafeNat(), fc.double()), { minLength: 1, maxLength: 300 }),
          { minLength: 1, maxLength: 8 },
        ),
        (topic, cursors) => {
          const encoder = new StreamCursorEncoder(topic);
          for (const positions of cursors) {
            expect(encoder.encode(positions)).toBe(
              base64url(JSON.stringify({ v: 1, t: topic, p: positions })),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps resuming a cursor issued before this encoder", () => {
    // Issued by pa at d3fc3a1 for topic "payments" at offsets [3, 0, 17].
    const issued = "eyJ2IjoxLCJ0IjoicGF5bWVudHMiLCJwIjpbMywwLDE3XX0";
    expect(decodeStreamCursor(issued, "payments")).toEqual([3, 0, 17]);
    expect(encodeStreamCursor("payments", [3, 0, 17])).toBe(issued);
  });
});

describe("resumeOffsets", () => {
  const marks = [
    { low: 0, high: 10 },
    { low: 5, high: 20 },
    { low: 0, high: 0 },
  ];

  it("resumes at the cursor's positions where Kafka holds them, ends included", () => {
    expect(resumeOffsets("t", [10, 5, 0], marks, false)).toEqual([10, 5, 0]);
  });

  it("starts partitions added since the cursor was issued at their beginning", () => {
    expect(resumeOffsets("t", [3, 7], marks, false)).toEqual([3, 7, 0]);
  });

  it("refuses a cursor with more partitions than the topic as INVALID", () => {
    expect(() => resumeOffsets("t", [1, 6, 0, 0], marks, false)).toThrow(InvalidStreamCursorError);
    expect(() => resumeOffsets("t", [1, 6, 0, 0], marks, false)).toThrow(
      /names 4 partitions but topic "t" has 3: .*start with start/,
    );
  });

  it("refuses a cursor past the end of a partition as OUT_OF_RANGE, with or without fallback", () => {
    for (const fallback of [false, true]) {
      expect(() => resumeOffsets("t", [11, 5, 0], marks, fallback)).toThrow(StreamCursorOutOfRangeError);
    }
    expect(() => resumeOffsets("t", [11, 5, 0], marks, false)).toThrow(
      /past the end of topic "t" partition 0 \(offset 11; the partition ends at 10\).*start with start/,
    );
  });

  it("refuses a position retention deleted as OUT_OF_RANGE, unless the request allows the fallback", () => {
    expect(() => resumeOffsets("t", [0, 2, 0], marks, false)).toThrow(StreamCursorOutOfRangeError);
    expect(() => resumeOffsets("t", [0, 2, 0], marks, false)).toThrow(
      /no longer holds topic "t" partition 1 from offset 2 \(its oldest record is 5; retention deleted 3 records .*set allow_cursor_fallback/,
    );
    expect(resumeOffsets("t", [0, 2, 0], marks, true)).toEqual([0, 5, 0]);
  });
});
