// Properties of the payment parser over inputs nobody wrote by hand: whatever a record holds, the
// parser answers a payment or a typed reason, and never throws.
import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PaymentSchema } from "../../../gen/payment/payment_pb.js";
import { DEFAULT_AMOUNT_UNITS, parseAmountUnits } from "../../../server/payment/amount-units.js";
import type { InvalidPaymentCode } from "../../../server/payment/invalid-payment.js";
import { type ParseOutcome, parsePayment } from "../../../server/payment/parse-payment.js";

const rules = { amountUnits: parseAmountUnits(DEFAULT_AMOUNT_UNITS) };
const codes: InvalidPaymentCode[] = [
  "invalid_json",
  "not_an_object",
  "missing_field",
  "invalid_field",
  "invalid_amount",
  "unknown_currency",
  "unsupported_currency",
  "invalid_timestamp",
];

const facts = fc.record({
  kafkaTimestampMs: fc.oneof(fc.integer({ min: -1, max: 4_102_444_800_000 }), fc.constant(-1)),
  nowMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
});

function expectTyped(outcome: ParseOutcome): void {
  if (outcome.ok) {
    expect(outcome.payment.id).not.toBe("");
    expect(outcome.payment.amountMinor).toBeGreaterThan(0n);
    // The parser writes the message out by hand: it must be the one create() makes of its fields.
    const { $typeName: _, ...fields } = outcome.payment;
    expect(outcome.payment).toStrictEqual(create(PaymentSchema, fields));
  } else {
    expect(codes).toContain(outcome.invalid.code);
    expect(outcome.invalid.reason.length).toBeGreaterThan(0);
  }
}

// Values shaped like payments, each field either plausible or anything JSON can hold.
const anyJson = fc.jsonValue();
const field = <T>(plausible: fc.Arbitrary<T>) => fc.oneof(plausible, anyJson);
const paymentLike = fc.record(
  {
    id: field(fc.string()),
    provider: field(fc.constantFrom("stripe", "razorpay", "paypal", "STRIPE", "other", "")),
    amount: field(
      fc.oneof(
        fc.double(),
        fc.integer(),
        fc.string(),
        fc.bigInt().map(String),
        fc.constantFrom("1e400", "-0", "0.001", "12.345", "NaN", "1_000"),
      ),
    ),
    currency: field(fc.constantFrom("USD", "usd", "JPY", "BHD", "XXX", "", "EURO")),
    status: field(fc.constantFrom("succeeded", "failed", "captured", "pending", "weird")),
    customer_email: field(fc.emailAddress()),
    timestamp: field(
      fc.oneof(
        fc.integer(),
        fc.double(),
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      ),
    ),
    metadata: field(fc.dictionary(fc.string(), fc.oneof(fc.string(), anyJson))),
  },
  { requiredKeys: [] },
);

describe("parsePayment on arbitrary input", () => {
  it("answers a payment or a typed reason for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), facts, (bytes, recordFacts) => {
        expectTyped(parsePayment(bytes, recordFacts, rules));
      }),
      { numRuns: 2000 },
    );
  });

  it("answers a payment or a typed reason for any JSON value", () => {
    fc.assert(
      fc.property(anyJson, facts, (value, recordFacts) => {
        expectTyped(parsePayment(new TextEncoder().encode(JSON.stringify(value)), recordFacts, rules));
      }),
      { numRuns: 2000 },
    );
  });

  it("answers a payment or a typed reason for any payment-shaped object", () => {
    fc.assert(
      fc.property(paymentLike, facts, (value, recordFacts) => {
        expectTyped(parsePayment(new TextEncoder().encode(JSON.stringify(value)), recordFacts, rules));
      }),
      { numRuns: 5000 },
    );
  });
});
