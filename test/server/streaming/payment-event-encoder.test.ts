import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type PaymentEvent,
  PaymentEventSchema,
  PaymentStatus,
  Provider,
} from "../../../gen/payment/payment_pb.js";
import { PaymentMask } from "../../../server/auth/pii-mask.js";
import { currencyExponent } from "../../../server/payment/currencies.js";
import { chunkOf, RecordFrames } from "../../../server/streaming/event-frames.js";
import { FRAME_HEADER_BYTES, PaymentEventEncoder } from "../../../server/streaming/payment-event-encoder.js";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
// Every ISO 4217 code pa knows: each three-letter code currencyExponent accepts.
const CURRENCIES = [...LETTERS].flatMap((a) =>
  [...LETTERS].flatMap((b) =>
    [...LETTERS].map((c) => `${a}${b}${c}`).filter((code) => currencyExponent(code) !== undefined),
  ),
);

// Any UTF-16 code unit, so lone (unpaired) surrogates too: toBinary writes them as U+FFFD.
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
const text = fc.oneof(
  fc.constant(""),
  fc.string({ unit: "grapheme-ascii" }),
  fc.string({ unit: "grapheme" }),
  // Astral code points (emoji, CJK extensions) as surrogate pairs.
  fc.string({ unit: "binary" }),
  fc.string({ unit: anyCodeUnit }),
  // Past the encoder's ASCII fast path and its one-byte length prefix.
  fc.string({ unit: "grapheme-ascii", minLength: 120, maxLength: 400 }),
  fc.string({ unit: "binary", minLength: 40, maxLength: 200 }),
);
const int32 = fc.oneof(
  fc.constantFrom(0, 1, -1, 127, 128, 16_383, 16_384, INT32_MIN, INT32_MAX),
  fc.integer({ min: INT32_MIN, max: INT32_MAX }),
);
const int64 = fc.oneof(
  fc.constantFrom(
    0n,
    1n,
    -1n,
    127n,
    128n,
    2n ** 31n - 1n,
    2n ** 31n,
    -(2n ** 31n),
    2n ** 32n,
    BigInt(Number.MAX_SAFE_INTEGER),
    BigInt(Number.MAX_SAFE_INTEGER) + 1n,
    BigInt(Number.MIN_SAFE_INTEGER),
    BigInt(Number.MIN_SAFE_INTEGER) - 1n,
    INT64_MIN,
    INT64_MAX,
  ),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.bigInt({ min: -10_000_000_000n, max: 10_000_000_000n }),
);
// Known values, and any other int32 (proto3 enums are open).
const provider = fc.oneof(
  fc.constantFrom(Provider.UNKNOWN, Provider.STRIPE, Provider.RAZORPAY, Provider.PAYPAL),
  int32,
);
const status = fc.oneof(
  fc.constantFrom(
    PaymentStatus.STATUS_UNKNOWN,
    PaymentStatus.STATUS_PENDING,
    PaymentStatus.STATUS_COMPLETED,
    PaymentStatus.STATUS_FAILED,
    PaymentStatus.STATUS_REFUNDED,
  ),
  int32,
);
const amount = fc.oneof(
  fc.constantFrom(0, -0, 50, 0.01, -12.5, Number.MAX_VALUE, Number.MIN_VALUE, Number.NaN, Infinity),
  fc.double(),
);
const timestamp = fc.record({ seconds: int64, nanos: int32 });
// Keys in any insertion order, integer-like ones ("7", "10") among them: toBinary writes them in
// Object.keys order, integer-like keys first, ascending.
const metadataKey = fc.oneof(text, fc.nat({ max: 5000 }).map(String), fc.constantFrom("order_id", "email"));
const metadata = fc
  .uniqueArray(fc.tuple(metadataKey, text), { selector: ([key]) => key, maxLength: 8 })
  .map((entries) => {
    const record: Record<string, string> = {};
    for (const [key, value] of entries)
      Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
    return record;
  });
const source = fc.record(
  {
    topic: text,
    partition: int32,
    offset: int64,
    kafkaTimestamp: timestamp,
    firstSeen: timestamp,
    lastSeen: timestamp,
  },
  { requiredKeys: [] },
);
const payment = fc.record(
  {
    id: text,
    provider,
    amount,
    currency: fc.oneof(fc.constantFrom(...CURRENCIES), text),
    status,
    customerEmail: fc.oneof(text, fc.emailAddress()),
    createdAt: int64,
    processedAt: int64,
    metadata,
    amountMinor: int64,
    source,
  },
  { requiredKeys: [] },
);
const eventInit: fc.Arbitrary<MessageInitShape<typeof PaymentEventSchema>> = fc.record(
  {
    payment,
    eventType: fc.oneof(fc.constantFrom("new", "existing"), text),
    topic: text,
    partition: int32,
    offset: int64,
    kafkaTimestamp: timestamp,
    cursor: text,
    foldedUpdates: int32,
  },
  { requiredKeys: [] },
);
const event = eventInit.map((init) => create(PaymentEventSchema, init));

/** The protobuf bytes of the encoder's frame, behind its 5-byte prefix. */
const encoded = (encoder: PaymentEventEncoder, message: PaymentEvent) =>
  Buffer.from(encoder.frame(message).subarray(FRAME_HEADER_BYTES));

describe("PaymentEventEncoder", () => {
  it("writes exactly protobuf-es's bytes for every event (property)", () => {
    const encoder = new PaymentEventEncoder();
    fc.assert(
      fc.property(event, (generated) => {
        expect(encoded(encoder, generated)).toEqual(Buffer.from(toBinary(PaymentEventSchema, generated)));
      }),
      { numRuns: 2000 },
    );
  }, 120_000);

  it("prefixes each frame with flags 0 and the message's length, and never changes a frame it returned (property)", () => {
    const encoder = new PaymentEventEncoder();
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 20 }), (events) => {
        // Every frame is kept while the next ones are encoded into the same scratch buffer.
        const frames = events.map((generated) => encoder.frame(generated));
        events.forEach((generated, i) => {
          const expected = toBinary(PaymentEventSchema, generated);
          const frame = frames[i] as Buffer;
          expect(frame[0]).toBe(0);
          expect(frame.readUInt32BE(1)).toBe(expected.byteLength);
          expect(Buffer.from(frame.subarray(FRAME_HEADER_BYTES))).toEqual(Buffer.from(expected));
        });
      }),
      { numRuns: 200 },
    );
  }, 120_000);

  it("grows its buffer for an event larger than any before", () => {
    const encoder = new PaymentEventEncoder();
    const small = create(PaymentEventSchema, { topic: "t", cursor: "c" });
    const large = create(PaymentEventSchema, {
      topic: "payments",
      payment: { id: "pay_1", metadata: { note: "€".repeat(100_000), other: "x".repeat(70_000) } },
    });
    expect(encoded(encoder, small)).toEqual(Buffer.from(toBinary(PaymentEventSchema, small)));
    expect(encoded(encoder, large)).toEqual(Buffer.from(toBinary(PaymentEventSchema, large)));
    expect(encoded(encoder, small)).toEqual(Buffer.from(toBinary(PaymentEventSchema, small)));
  });

  it("writes unknown fields as toBinary does", () => {
    const withUnknown: PaymentEvent = {
      ...create(PaymentEventSchema, { topic: "payments", payment: { id: "pay_1" } }),
      $unknown: [{ no: 99, wireType: 0, data: new Uint8Array([5]) }],
    };
    expect(encoded(new PaymentEventEncoder(), withUnknown)).toEqual(
      Buffer.from(toBinary(PaymentEventSchema, withUnknown)),
    );
  });

  it("refuses an int64 outside its range, as toBinary does", () => {
    const tooLarge = create(PaymentEventSchema, { offset: 2n ** 63n });
    expect(() => toBinary(PaymentEventSchema, tooLarge)).toThrow();
    expect(() => new PaymentEventEncoder().frame(tooLarge)).toThrow(/int64/);
  });
});

describe("RecordFrames", () => {
  it("encodes an event once however many streams take it, and each masked variant once", () => {
    const frames = new RecordFrames(new PaymentEventEncoder());
    const mask = new PaymentMask(["email"]);
    const shared = create(PaymentEventSchema, {
      topic: "payments",
      cursor: "abc",
      payment: { id: "pay_1", customerEmail: "john@example.com", metadata: { email: "j@x.io", order: "1" } },
    });
    const first = frames.frameOf(shared);
    expect(frames.frameOf(shared)).toBe(first);
    const masked = frames.frameOf(mask.event(shared));
    expect(frames.frameOf(mask.event(shared))).toBe(masked);
    expect(Buffer.from(masked.subarray(FRAME_HEADER_BYTES))).toEqual(
      Buffer.from(toBinary(PaymentEventSchema, mask.event(shared))),
    );
    expect(masked.includes("john@example.com")).toBe(false);
    // Cleared after the record's fan-out: the next record's event is encoded afresh.
    frames.clear();
    expect(frames.frameOf(shared)).not.toBe(first);
    expect(frames.frameOf(shared)).toEqual(first);
  });

  it("writes several events as their frames one after the other", () => {
    const encoder = new PaymentEventEncoder();
    const events = [1, 2, 3].map((n) => create(PaymentEventSchema, { topic: "payments", offset: BigInt(n) }));
    expect(chunkOf(encoder, events)).toEqual(Buffer.concat(events.map((e) => encoder.frame(e))));
  });
});
