import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PaymentEventSchema, PaymentSchema, Provider } from "../../../gen/payment/payment_pb.js";
import { liveEvent } from "../../../server/streaming/live-event.js";

describe("liveEvent", () => {
  it("is the event create(PaymentEventSchema) makes, field for field and byte for byte (property)", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.nat({ max: 10_000 }),
        fc.maxSafeNat(),
        // Kafka's timestamps: none, ms since the epoch, and the -1 of "no timestamp".
        fc.option(fc.oneof(fc.integer({ min: -1, max: 2 ** 42 }), fc.constant(-1)), { nil: undefined }),
        fc.string(),
        (topic, partition, offset, timestamp, cursor) => {
          const payment = create(PaymentSchema, {
            id: "pay_1",
            provider: Provider.STRIPE,
            amountMinor: 5000n,
          });
          const expected = create(PaymentEventSchema, {
            payment,
            eventType: "new",
            topic,
            partition,
            offset: BigInt(offset),
            kafkaTimestamp: timestampFromMs(timestamp ?? 0),
            cursor,
          });
          const event = liveEvent(payment, topic, { partition, offset, timestamp }, cursor);
          expect(event).toStrictEqual(expected);
          expect(toBinary(PaymentEventSchema, event)).toEqual(toBinary(PaymentEventSchema, expected));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
