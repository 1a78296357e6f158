import { create, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PaymentSchema, PaymentStatus, Provider } from "../../../gen/payment/payment_pb.js";
import { DEFAULT_AMOUNT_UNITS, parseAmountUnits } from "../../../server/payment/amount-units.js";
import type { InvalidPayment, InvalidPaymentCode } from "../../../server/payment/invalid-payment.js";
import { formatMinor } from "../../../server/payment/money.js";
import { type PaymentRules, parsePayment, type RecordFacts } from "../../../server/payment/parse-payment.js";

const defaults: PaymentRules = { amountUnits: parseAmountUnits(DEFAULT_AMOUNT_UNITS) };
const facts: RecordFacts = { kafkaTimestampMs: 1_703_001_234_567, nowMs: 1_703_001_240_999 };
const encoder = new TextEncoder();

function parse(value: string | object, rules = defaults, recordFacts = facts) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return parsePayment(encoder.encode(text), recordFacts, rules);
}

function payment(value: string | object, rules = defaults) {
  const outcome = parse(value, rules);
  if (!outcome.ok)
    throw new Error(`expected a payment, got ${outcome.invalid.code}: ${outcome.invalid.reason}`);
  return outcome.payment;
}

function invalid(value: string | object, rules = defaults): InvalidPayment {
  const outcome = parse(value, rules);
  if (outcome.ok) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  // Every reason is a sentence a producer can act on.
  expect(outcome.invalid.reason).toMatch(/^[a-z].*\.$/s);
  return outcome.invalid;
}

function expectInvalid(value: string | object, code: InvalidPaymentCode, ...phrases: string[]): void {
  const problem = invalid(value);
  expect(problem.code, problem.reason).toBe(code);
  for (const phrase of phrases) expect(problem.reason).toContain(phrase);
}

/** A valid raw payment with some fields replaced or, when `undefined`, removed. */
function raw(changes: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    id: "pay_abc123",
    provider: "stripe",
    amount: 5000,
    currency: "usd",
  };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  return base;
}

describe("parsePayment: the Go PoC's record", () => {
  it("normalizes every field", () => {
    const parsed = payment(
      '{"id":"pay_abc123","provider":"stripe","amount":5000,"currency":"usd","status":"succeeded","customer_email":"user@example.com","metadata":{"order_id":"ORD-123"},"timestamp":1703001234}',
    );
    expect(isMessage(parsed, PaymentSchema)).toBe(true);
    expect(parsed).toMatchObject({
      id: "pay_abc123",
      provider: Provider.STRIPE,
      amount: 50,
      amountMinor: 5000n,
      currency: "USD",
      status: PaymentStatus.STATUS_COMPLETED,
      customerEmail: "user@example.com",
      metadata: { order_id: "ORD-123" },
      createdAt: 1_703_001_234n,
      processedAt: 1_703_001_240n,
    });
  });

  it("gives the message create(PaymentSchema) makes of the same fields", () => {
    for (const metadata of [undefined, null, { order_id: "ORD-1", attempt: 2 }]) {
      const parsed = payment(raw({ metadata }));
      const { $typeName: _, ...fields } = parsed;
      expect(parsed).toStrictEqual(create(PaymentSchema, fields));
    }
  });

  it("gives a message that survives the wire", () => {
    const parsed = payment(raw({ metadata: { order_id: "ORD-1", attempt: 2 } }));
    expect(fromBinary(PaymentSchema, toBinary(PaymentSchema, parsed))).toEqual(parsed);
  });

  it.each([
    ["{invalid json", "invalid_json"],
    ['{"id": ""}', "missing_field"],
    ['{"broken": true, "no_required_fields": 1}', "missing_field"],
    ["not even json", "invalid_json"],
    ['{"id": "test", "amount": "not-a-number"}', "missing_field"],
  ])("rejects the PoC producer's invalid record %s", (value, code) => {
    expect(invalid(value).code).toBe(code);
  });
});

describe("parsePayment: money", () => {
  it.each([
    ["Stripe 5000 usd is 50.00 USD", raw(), 5000n, 50, "USD", "50.00"],
    ["Stripe 99 usd is 0.99 USD, never 99.00", raw({ amount: 99 }), 99n, 0.99, "USD", "0.99"],
    ["Stripe 5000 jpy is 5000 JPY", raw({ currency: "jpy" }), 5000n, 5000, "JPY", "5000"],
    [
      "Razorpay 150000 inr is 1500.00 INR",
      raw({ provider: "razorpay", amount: 150000, currency: "inr" }),
      150000n,
      1500,
      "INR",
      "1500.00",
    ],
    [
      'PayPal "10.50" usd is 10.50',
      raw({ provider: "paypal", amount: "10.50" }),
      1050n,
      10.5,
      "USD",
      "10.50",
    ],
    ["PayPal 10.5 usd is 10.50", raw({ provider: "paypal", amount: 10.5 }), 1050n, 10.5, "USD", "10.50"],
    [
      "an unknown provider's 1.234 kwd is 1.234 KWD",
      raw({ provider: "adyen", amount: 1.234, currency: "kwd" }),
      1234n,
      1.234,
      "KWD",
      "1.234",
    ],
    [
      "PayPal 0.29 usd is 29 cents, not 28",
      raw({ provider: "paypal", amount: 0.29 }),
      29n,
      0.29,
      "USD",
      "0.29",
    ],
    [
      'PayPal "5000" jpy is 5000 JPY',
      raw({ provider: "paypal", amount: "5000", currency: "JPY" }),
      5000n,
      5000,
      "JPY",
      "5000",
    ],
    [
      "an unknown provider's 12.3456 clf is 12.3456 CLF",
      raw({ provider: "adyen", amount: 12.3456, currency: "clf" }),
      123456n,
      12.3456,
      "CLF",
      "12.3456",
    ],
    ['Stripe "5000" (a string) usd is 50.00 USD', raw({ amount: "5000" }), 5000n, 50, "USD", "50.00"],
    [
      'PayPal "10.500" usd is 10.50: trailing zeros are not precision',
      raw({ provider: "paypal", amount: "10.500" }),
      1050n,
      10.5,
      "USD",
      "10.50",
    ],
    [
      "an unknown provider's 12.5 usd is read as major units",
      raw({ provider: "adyen", amount: 12.5 }),
      1250n,
      12.5,
      "USD",
      "12.50",
    ],
    [
      "Stripe's largest exact amount",
      raw({ amount: Number.MAX_SAFE_INTEGER }),
      9007199254740991n,
      90071992547409.91,
      "USD",
      "90071992547409.91",
    ],
  ])("%s", (_name, value, amountMinor, amount, currency, formatted) => {
    const parsed = payment(value);
    expect(parsed.amountMinor).toBe(amountMinor);
    expect(parsed.amount).toBe(amount);
    expect(parsed.currency).toBe(currency);
    expect(
      formatMinor(
        parsed.amountMinor,
        currency === "JPY" ? 0 : currency === "KWD" ? 3 : currency === "CLF" ? 4 : 2,
      ),
    ).toBe(formatted);
  });

  it("tells a Stripe producer writing 45.99 to send 4599 or change AMOUNT_UNITS", () => {
    expectInvalid(
      raw({ amount: 45.99 }),
      "invalid_amount",
      "amount 45.99 is not a whole number",
      "stripe amounts are read as integer minor units (AMOUNT_UNITS stripe=minor)",
      "send 4599 for 45.99 USD",
      "or set AMOUNT_UNITS=stripe=major,razorpay=minor,paypal=major,*=major if your producer writes major units",
    );
  });

  it("reads Stripe's 45.99 as major units when AMOUNT_UNITS says so", () => {
    const parsed = payment(raw({ amount: 45.99 }), { amountUnits: parseAmountUnits("stripe=major") });
    expect(parsed.amountMinor).toBe(4599n);
  });

  it("names the * entry when that is the rule an unknown provider fell under", () => {
    const rules = { amountUnits: parseAmountUnits("*=minor") };
    const problem = invalid(raw({ provider: "Adyen", amount: 12.5 }), rules);
    expect(problem.reason).toContain("adyen amounts are read as integer minor units (AMOUNT_UNITS *=minor)");
    expect(problem.reason).toContain(
      // With *, the setting lists every rule there is, so the suggestion keeps it as it was.
      "set AMOUNT_UNITS=adyen=major,*=minor",
    );
  });

  it("does not suggest major units when the amount would not fit those either", () => {
    expectInvalid(
      raw({ amount: 45.999 }),
      "invalid_amount",
      "send the amount as an integer count of USD minor units.",
    );
    expect(invalid(raw({ amount: 45.999 })).reason).not.toContain("set AMOUNT_UNITS");
  });

  it.each([
    [
      "PayPal 10.505 usd: PayPal takes USD with 2",
      raw({ provider: "paypal", amount: 10.505 }),
      ["amount 10.505 has 3 decimal places but PayPal takes USD with 2", "AMOUNT_UNITS paypal=major"],
    ],
    [
      'PayPal "10.505" usd',
      raw({ provider: "paypal", amount: "10.505" }),
      ['amount "10.505" has 3 decimal places but PayPal takes USD with 2', "send at most 2 decimal places."],
    ],
    [
      "PayPal 10.5 jpy: PayPal takes JPY with none",
      raw({ provider: "paypal", amount: 10.5, currency: "jpy" }),
      ["PayPal takes JPY with none", "send a whole number of JPY."],
    ],
    [
      "an unknown provider's 1.2345 kwd: KWD has 3",
      raw({ provider: "adyen", amount: 1.2345, currency: "kwd" }),
      ["KWD has 3", "AMOUNT_UNITS *=major"],
    ],
    [
      "PayPal 1e-7 usd: written out, 7 places",
      raw({ provider: "paypal", amount: 1e-7 }),
      ["has 7 decimal places but PayPal takes USD with 2"],
    ],
  ])("rejects too many decimals for the currency: %s", (_name, value, phrases) => {
    expectInvalid(value, "invalid_amount", ...phrases);
  });

  it.each([
    ["a word", "abc", "is not a decimal number"],
    ["an empty string", "", "amount is an empty string"],
    ["two points", "1.2.3", "is not a decimal number"],
    ["a minus sign", "-5", "must be greater than zero"],
    ["a plus sign", "+5", "is not a decimal number"],
    [
      "whitespace around it (never trimmed)",
      " 5 ",
      'has whitespace around it; send the digits alone, e.g. "5"',
    ],
    ["exponent notation", "1e3", "no sign, exponent"],
    ["thousands separators", "1,000.00", "thousands separators"],
    ["a trailing point", "5.", "is not a decimal number"],
    ["zero", "0.00", "must be greater than zero"],
  ])("rejects a string amount with %s", (_name, amount, phrase) => {
    expectInvalid(raw({ provider: "paypal", amount }), "invalid_amount", phrase);
  });

  it.each([
    ["zero", 0, "amount 0 must be greater than zero"],
    ["a negative", -5000, "amount -5000 must be greater than zero"],
    ["a boolean", true, "must be a JSON number or a decimal string"],
    ["an object", { value: 5000 }, "not an object"],
    ["an array", [5000], "not an array"],
  ])("rejects a number amount that is %s", (_name, amount, phrase) => {
    expectInvalid(raw({ amount }), "invalid_amount", phrase);
  });

  it.each([
    ["1e21 in major units", raw({ provider: "paypal", amount: 1e21 })],
    ["2^53 in minor units", raw({ amount: 2 ** 53 })],
    ["a 20-digit integer", '{"id":"p","provider":"stripe","amount":12345678901234567890,"currency":"usd"}'],
    ["a minor result past 2^53", raw({ provider: "paypal", amount: "90071992547409.92" })],
  ])("rejects an amount too large to carry exactly: %s", (_name, value) => {
    expectInvalid(value, "invalid_amount", "too large", String(Number.MAX_SAFE_INTEGER));
  });

  it("rejects an amount that overflows a double", () => {
    expectInvalid(
      '{"id":"p","provider":"stripe","amount":1e400,"currency":"usd"}',
      "invalid_amount",
      "too large",
    );
  });
});

describe("parsePayment: fields", () => {
  it.each([
    ["stripe", Provider.STRIPE],
    ["STRIPE", Provider.STRIPE],
    ["Razorpay", Provider.RAZORPAY],
    ["paypal", Provider.PAYPAL],
    ["adyen", Provider.UNKNOWN],
  ])("maps provider %j case-insensitively; an unknown one is still valid", (provider, expected) => {
    expect(payment(raw({ provider, amount: "50" })).provider).toBe(expected);
  });

  it.each([
    ["succeeded", PaymentStatus.STATUS_COMPLETED],
    ["paid", PaymentStatus.STATUS_COMPLETED],
    ["COMPLETED", PaymentStatus.STATUS_COMPLETED],
    ["processing", PaymentStatus.STATUS_PENDING],
    ["declined", PaymentStatus.STATUS_FAILED],
    ["refunded", PaymentStatus.STATUS_REFUNDED],
    ["disputed", PaymentStatus.STATUS_UNKNOWN],
    [undefined, PaymentStatus.STATUS_UNKNOWN],
    [null, PaymentStatus.STATUS_UNKNOWN],
  ])("maps status %j", (status, expected) => {
    expect(payment(raw({ status })).status).toBe(expected);
  });

  it("upper-cases the currency", () => {
    expect(payment(raw({ currency: "eUr" })).currency).toBe("EUR");
  });

  it.each([
    ["btc", 'currency "btc" is not an ISO 4217 currency code'],
    ["XAU", "is not an ISO 4217 currency code"],
    [" usd", "is not an ISO 4217 currency code"],
  ])("rejects currency %j", (currency, phrase) => {
    expectInvalid(raw({ currency }), "unknown_currency", phrase, 'such as "USD"');
  });

  it.each([
    ["id", undefined, "missing_field", "id is missing"],
    ["id", null, "missing_field", "id is missing"],
    ["id", "", "missing_field", "id is empty"],
    ["id", "   ", "missing_field", "id is blank"],
    ["id", 123, "invalid_field", "id must be a string"],
    ["provider", undefined, "missing_field", "provider is missing"],
    ["provider", "", "missing_field", "provider is empty"],
    ["provider", 1, "invalid_field", "provider must be a string"],
    ["amount", undefined, "missing_field", "amount is missing"],
    ["amount", null, "missing_field", "amount is missing"],
    ["currency", undefined, "missing_field", "currency is missing"],
    ["currency", "", "missing_field", "currency is empty"],
    ["currency", 840, "invalid_field", "currency must be a string"],
    ["status", 2, "invalid_field", "status must be a string"],
    ["customer_email", 42, "invalid_field", "customer_email must be a string"],
    ["customer_email", ["a@example.com"], "invalid_field", "customer_email must be a string"],
  ] as const)("rejects %s %j as %s", (field, value, code, phrase) => {
    expectInvalid(raw({ [field]: value }), code, phrase);
  });

  it("keeps a missing or null customer_email empty", () => {
    expect(payment(raw()).customerEmail).toBe("");
    expect(payment(raw({ customer_email: null })).customerEmail).toBe("");
  });

  it("ignores fields it does not know", () => {
    expect(payment(raw({ livemode: true, object: "charge" })).id).toBe("pay_abc123");
  });
});

describe("parsePayment: metadata", () => {
  it("keeps strings and writes numbers and booleans as strings", () => {
    const parsed = payment(raw({ metadata: { order_id: "ORD-1", attempt: 2, ratio: 0.5, gift: false } }));
    expect(parsed.metadata).toEqual({ order_id: "ORD-1", attempt: "2", ratio: "0.5", gift: "false" });
  });

  it("treats absent or null metadata as empty", () => {
    expect(payment(raw()).metadata).toEqual({});
    expect(payment(raw({ metadata: null })).metadata).toEqual({});
  });

  it("keeps a key named __proto__ as an ordinary key", () => {
    const parsed = payment(
      '{"id":"p","provider":"stripe","amount":1,"currency":"usd","metadata":{"__proto__":7}}',
    );
    expect(Object.keys(parsed.metadata)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(parsed.metadata)).toBe(Object.prototype);
  });

  it.each([
    ["an object", { cart: { items: 2 } }, 'metadata "cart" is an object'],
    ["an array", { tags: ["a"] }, 'metadata "tags" is an array'],
    ["null", { coupon: null }, 'metadata "coupon" is null'],
  ])("rejects a value that is %s, naming the key", (_name, metadata, phrase) => {
    expectInvalid(raw({ metadata }), "invalid_field", phrase, "strings, numbers or booleans");
  });

  it.each([
    ["an array", [["order_id", "1"]]],
    ["a string", "order_id=1"],
  ])("rejects metadata that is %s", (_name, metadata) => {
    expectInvalid(raw({ metadata }), "invalid_field", "metadata must be a JSON object");
  });
});

describe("parsePayment: timestamps", () => {
  it("takes createdAt from the message's unix seconds", () => {
    expect(payment(raw({ timestamp: 1_700_000_000 })).createdAt).toBe(1_700_000_000n);
    expect(payment(raw({ timestamp: 0 })).createdAt).toBe(0n);
  });

  it("falls back to the Kafka record's timestamp, in whole seconds", () => {
    expect(payment(raw()).createdAt).toBe(1_703_001_234n);
  });

  it("falls back to now when the Kafka record has no timestamp either (-1)", () => {
    const outcome = parse(raw(), defaults, { kafkaTimestampMs: -1, nowMs: 1_703_009_999_500 });
    expect(outcome.ok && outcome.payment.createdAt).toBe(1_703_009_999n);
  });

  it("sets processedAt to now, in whole seconds", () => {
    expect(payment(raw({ timestamp: 1 })).processedAt).toBe(1_703_001_240n);
  });

  it.each([
    ["a fraction", 1_703_001_234.5, "must be a whole number of unix seconds, e.g. 1703001234"],
    ["negative", -1, "is before 1970"],
    ["a string", "1703001234", "must be a JSON number of unix seconds"],
    ["an ISO date", "2023-12-19T16:00:00Z", "must be a JSON number of unix seconds"],
    ["milliseconds", 1_703_001_234_000, "if it is milliseconds, send 1703001234"],
  ])("rejects a timestamp that is %s", (_name, timestamp, phrase) => {
    expectInvalid(raw({ timestamp }), "invalid_timestamp", phrase);
  });
});

describe("parsePayment: the value itself", () => {
  it.each([
    ["null", null],
    ["undefined", undefined],
    ["empty", new Uint8Array(0)],
  ])("rejects a %s value: the record has no value", (_name, value) => {
    const outcome = parsePayment(value, facts, defaults);
    expect(outcome).toMatchObject({ ok: false, invalid: { code: "invalid_json" } });
    expect(!outcome.ok && outcome.invalid.reason).toContain("the record has no value");
  });

  it("rejects a blank value", () => {
    expectInvalid(" \n\t ", "invalid_json", "blank");
  });

  it("rejects bytes that are not UTF-8", () => {
    const outcome = parsePayment(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), facts, defaults);
    expect(!outcome.ok && outcome.invalid).toMatchObject({ code: "invalid_json" });
    expect(!outcome.ok && outcome.invalid.reason).toContain("not UTF-8");
  });

  it("accepts a UTF-8 byte order mark before the JSON", () => {
    const json = encoder.encode(JSON.stringify(raw()));
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...json]);
    expect(parsePayment(withBom, facts, defaults).ok).toBe(true);
  });

  it("quotes the JSON parser's complaint, shortened", () => {
    const problem = invalid(`{"id": ${"x".repeat(500)}`);
    expect(problem.code).toBe("invalid_json");
    expect(problem.reason).toContain("is not valid JSON (");
    expect(problem.reason.length).toBeLessThan(300);
  });

  it.each([
    ["an array", "[1, 2]"],
    ["a number", "5000"],
    ["a string", '"pay_abc123"'],
    ["null", "null"],
    ["a boolean", "true"],
  ])("rejects JSON that is %s, not an object", (name, value) => {
    expectInvalid(value, "not_an_object", `the value is JSON but ${name}`);
  });

  it("accepts a Buffer, as Kafka clients give", () => {
    expect(parsePayment(Buffer.from(JSON.stringify(raw())), facts, defaults).ok).toBe(true);
  });
});
