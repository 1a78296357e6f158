import { describe, expect, it } from "vitest";
import { PaymentStatus, Provider } from "../../../gen/payment/payment_pb.js";
import { createPaymentGenerator, INVALID_KINDS } from "../../../server/demo/payment-generator.js";
import { DEFAULT_AMOUNT_UNITS, parseAmountUnits } from "../../../server/payment/amount-units.js";
import { formatMinor } from "../../../server/payment/money.js";
import { type ParseOutcome, parsePayment } from "../../../server/payment/parse-payment.js";
import { DOCUMENTED } from "../../fixtures/currencies/provider-currencies.js";

const NOW_MS = 1_703_001_240_000;
const rules = { amountUnits: parseAmountUnits(DEFAULT_AMOUNT_UNITS) };
const encoder = new TextEncoder();

function parse(value: string): ParseOutcome {
  return parsePayment(encoder.encode(value), { kafkaTimestampMs: NOW_MS, nowMs: NOW_MS }, rules);
}

describe("createPaymentGenerator", () => {
  it("gives the same records for the same seed", () => {
    const a = createPaymentGenerator({ seed: 42, nowMs: () => NOW_MS });
    const b = createPaymentGenerator({ seed: 42, nowMs: () => NOW_MS });
    for (let i = 0; i < 20; i++) expect(a.valid()).toEqual(b.valid());
    for (let i = 0; i < 20; i++) expect(a.invalid()).toEqual(b.invalid());
  });

  it("gives different records for different seeds", () => {
    const a = createPaymentGenerator({ seed: 1, nowMs: () => NOW_MS });
    const b = createPaymentGenerator({ seed: 2, nowMs: () => NOW_MS });
    expect(a.valid()).not.toEqual(b.valid());
  });

  describe("1,000 valid records", () => {
    const generator = createPaymentGenerator({ seed: 7, nowMs: () => NOW_MS });
    const records = Array.from({ length: 1000 }, () => generator.valid());
    const parsed = records.map((record) => ({
      record,
      raw: JSON.parse(record.value) as Record<string, unknown>,
      outcome: parse(record.value),
    }));

    it("all parse under the default AMOUNT_UNITS, to the amount the provider meant", () => {
      for (const { record, raw, outcome } of parsed) {
        if (!outcome.ok) throw new Error(`${record.value}: ${outcome.invalid.reason}`);
        const { payment } = outcome;
        const provider = raw.provider as keyof typeof DOCUMENTED;
        // Only currencies the provider's documentation lists, in its own convention.
        const documented = DOCUMENTED[provider].find((c) => c.code === payment.currency);
        if (!documented) throw new Error(`${provider} does not list ${payment.currency}: ${record.value}`);
        const formatted = formatMinor(payment.amountMinor, documented.iso);
        expect(payment.amount, record.value).toBe(Number(formatted));
        expect(payment.amountMinor > 0n, record.value).toBe(true);
        if (provider === "paypal") {
          // Major units with the places PayPal accepts: the decimal text (or number) is the amount.
          expect(Number(formatted), record.value).toBe(Number(raw.amount));
          if (typeof raw.amount === "string") {
            expect(raw.amount).toBe(
              formatMinor(
                payment.amountMinor / 10n ** BigInt(documented.iso - documented.places),
                documented.places,
              ),
            );
          }
        } else {
          // Integer minor units in the provider's exponent: wire / 10^wire == amount_minor / 10^iso.
          const wire = BigInt(raw.amount as number);
          expect(wire * 10n ** BigInt(documented.iso), record.value).toBe(
            payment.amountMinor * 10n ** BigInt(documented.wire),
          );
        }
      }
    });

    it("reach past each provider's usual currencies into the rest of its list", () => {
      const currencies = new Set(parsed.map(({ outcome }) => outcome.ok && outcome.payment.currency));
      expect(currencies.size).toBeGreaterThan(30);
    });

    it("key each record by its payment id, unique across the run", () => {
      const ids = new Set<string>();
      for (const { record, raw } of parsed) {
        expect(record.key).toBe(raw.id);
        expect(record.key).toMatch(/^pay_[0-9a-z]+$/);
        ids.add(record.key);
      }
      expect(ids.size).toBe(records.length);
    });

    it("cover every provider, each in its own API's units", () => {
      const providers = new Set(parsed.map(({ outcome }) => outcome.ok && outcome.payment.provider));
      expect(providers).toEqual(new Set([Provider.STRIPE, Provider.RAZORPAY, Provider.PAYPAL]));
      for (const { raw } of parsed) {
        if (raw.provider === "paypal") expect(["string", "number"]).toContain(typeof raw.amount);
        else expect(Number.isInteger(raw.amount)).toBe(true);
      }
      const paypalAmounts = parsed
        .filter(({ raw }) => raw.provider === "paypal")
        .map(({ raw }) => typeof raw.amount);
      expect(paypalAmounts).toContain("string");
      expect(paypalAmounts).toContain("number");
    });

    it("cover zero-, two- and three-decimal currencies", () => {
      const currencies = new Set(parsed.map(({ outcome }) => outcome.ok && outcome.payment.currency));
      for (const code of ["USD", "EUR", "GBP", "INR", "JPY", "KWD", "BHD"])
        expect(currencies).toContain(code);
    });

    it("use statuses that all map to a known status", () => {
      const statuses = new Set(parsed.map(({ outcome }) => outcome.ok && outcome.payment.status));
      expect(statuses).not.toContain(PaymentStatus.STATUS_UNKNOWN);
      expect(statuses).toEqual(
        new Set([
          PaymentStatus.STATUS_COMPLETED,
          PaymentStatus.STATUS_PENDING,
          PaymentStatus.STATUS_FAILED,
          PaymentStatus.STATUS_REFUNDED,
        ]),
      );
    });

    it("carry an email, an order id and a recent timestamp", () => {
      for (const { raw, outcome } of parsed) {
        if (!outcome.ok) continue;
        expect(outcome.payment.customerEmail).toMatch(/^[a-z.0-9]+@[a-z.]+$/);
        expect(outcome.payment.metadata.order_id).toMatch(/^ORD-\d+$/);
        expect(raw.timestamp).toBeLessThanOrEqual(NOW_MS / 1000);
        expect(raw.timestamp).toBeGreaterThan(NOW_MS / 1000 - 600);
      }
    });
  });

  describe("invalid records", () => {
    const expected = {
      invalid_json: "invalid_json",
      not_json: "invalid_json",
      not_an_object: "not_an_object",
      empty_id: "missing_field",
      missing_provider: "missing_field",
      amount_not_a_number: "invalid_amount",
      negative_amount: "invalid_amount",
      fractional_minor_amount: "invalid_amount",
      too_many_decimals: "invalid_amount",
      unknown_currency: "unknown_currency",
      unsupported_currency: "unsupported_currency",
      finer_than_provider_accepts: "invalid_amount",
      fractional_timestamp: "invalid_timestamp",
      poc_no_required_fields: "missing_field",
    } as const;

    it("lists every kind once", () => {
      expect([...INVALID_KINDS].sort()).toEqual(Object.keys(expected).sort());
    });

    it.each(INVALID_KINDS.map((kind) => [kind, expected[kind]] as const))(
      "%s is rejected as %s, every time",
      (kind, code) => {
        const generator = createPaymentGenerator({ seed: 3, nowMs: () => NOW_MS });
        for (let i = 0; i < 50; i++) {
          const record = generator.invalid(kind);
          const outcome = parse(record.value);
          expect(outcome.ok, record.value).toBe(false);
          if (!outcome.ok)
            expect(outcome.invalid.code, `${record.value}: ${outcome.invalid.reason}`).toBe(code);
        }
      },
    );

    it("says AMOUNT_UNITS when a minor-unit amount has a fraction", () => {
      const generator = createPaymentGenerator({ seed: 5, nowMs: () => NOW_MS });
      const outcome = parse(generator.invalid("fractional_minor_amount").value);
      expect(!outcome.ok && outcome.invalid.reason).toContain("AMOUNT_UNITS stripe=minor");
    });

    it("takes the kinds in turn when none is asked for, keyed invalid-<kind>-<n>", () => {
      const generator = createPaymentGenerator({ seed: 9, nowMs: () => NOW_MS });
      const keys = Array.from({ length: INVALID_KINDS.length + 1 }, () => generator.invalid().key);
      expect(keys).toEqual([
        ...INVALID_KINDS.map((kind, i) => `invalid-${kind}-${i + 1}`),
        `invalid-${INVALID_KINDS[0]}-${INVALID_KINDS.length + 1}`,
      ]);
    });
  });
});
