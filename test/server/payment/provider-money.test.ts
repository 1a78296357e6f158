import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_AMOUNT_UNITS, parseAmountUnits } from "../../../server/payment/amount-units.js";
import { currencyExponent } from "../../../server/payment/currencies.js";
import { formatMinor } from "../../../server/payment/money.js";
import { type ParseOutcome, parsePayment } from "../../../server/payment/parse-payment.js";
import { currencyRule, providerCurrencies } from "../../../server/payment/provider-currencies.js";
import { toWireAmount } from "../../../server/payment/wire-amount.js";
import { DOCUMENTED, type DocumentedCurrency } from "../../fixtures/currencies/provider-currencies.js";

const rules = { amountUnits: parseAmountUnits(DEFAULT_AMOUNT_UNITS) };
const facts = { kafkaTimestampMs: 1_703_001_234_567, nowMs: 1_703_001_240_999 };
const encoder = new TextEncoder();
const MAX = 9007199254740991n;
const PROVIDERS = ["stripe", "razorpay", "paypal"] as const;
const UNIT = { stripe: "minor", razorpay: "minor", paypal: "major" } as const;

/** The record's JSON written by hand, so the amount's text is exactly what a producer would send. */
function parseRaw(provider: string, currency: string, amountJson: string): ParseOutcome {
  const json = `{"id":"pay_1","provider":"${provider}","amount":${amountJson},"currency":"${currency}"}`;
  return parsePayment(encoder.encode(json), facts, rules);
}

function amountMinorOf(outcome: ParseOutcome): bigint {
  if (!outcome.ok) throw new Error(`${outcome.invalid.code}: ${outcome.invalid.reason}`);
  return outcome.payment.amountMinor;
}

function rejection(outcome: ParseOutcome) {
  if (outcome.ok) throw new Error(`expected a rejection, got amount_minor ${outcome.payment.amountMinor}`);
  return outcome.invalid;
}

/** Decimal text of `count` units of 10^-places, by string surgery alone (no pa code, no floats). */
function decimalText(count: bigint, places: number): string {
  if (places === 0) return count.toString();
  const digits = count.toString().padStart(places + 1, "0");
  return `${digits.slice(0, -places)}.${digits.slice(-places)}`;
}

/** The largest count of the provider's finest unit whose wire and ISO forms both stay within 2^53 - 1. */
function maxCount(c: DocumentedCurrency): bigint {
  return MAX / 10n ** BigInt(Math.max(c.wire, c.iso) - c.places);
}

const everyCurrency = PROVIDERS.flatMap((provider) =>
  DOCUMENTED[provider].map((c) => [provider, c] as const),
);

describe("the providers' tables match their documentation", () => {
  it.each(PROVIDERS)("%s accepts exactly the documented currencies", (provider) => {
    const documented = DOCUMENTED[provider].map((c) => c.code).sort();
    expect(providerCurrencies(provider)?.codes).toEqual(documented);
  });

  it.each(everyCurrency.map(([provider, c]) => [provider, c.code, c] as const))(
    "%s %s: wire exponent, finest amount and ISO exponent as documented",
    (provider, code, c) => {
      expect(currencyRule(provider, code)).toEqual({ wireExponent: c.wire, places: c.places });
      expect(currencyExponent(code)).toBe(c.iso);
    },
  );

  it("never accepts an amount finer than an ISO minor unit, so amount_minor is always whole", () => {
    for (const [, c] of everyCurrency) expect(c.places, c.code).toBeLessThanOrEqual(c.iso);
  });
});

describe("parse then format round-trips, for every currency of every provider", () => {
  it.each(everyCurrency.map(([provider, c]) => [provider, c.code, c] as const))(
    "%s %s",
    (provider, code, c) => {
      const unit = UNIT[provider];
      fc.assert(
        fc.property(fc.bigInt(1n, maxCount(c)), fc.boolean(), (count, lowerCase) => {
          // The amount as the provider's API writes it, from the documentation's own convention.
          const wire =
            unit === "minor" ? count * 10n ** BigInt(c.wire - c.places) : decimalText(count, c.places);
          const amountJson = typeof wire === "bigint" ? wire.toString() : JSON.stringify(wire);
          const expectedMinor = count * 10n ** BigInt(c.iso - c.places);
          const outcome = parseRaw(provider, lowerCase ? code.toLowerCase() : code, amountJson);
          const amountMinor = amountMinorOf(outcome);
          expect(amountMinor).toBe(expectedMinor);
          const rule = currencyRule(provider, code);
          if (!rule) throw new Error(`${provider} has no rule for ${code}`);
          expect(toWireAmount(amountMinor, c.iso, rule, unit)).toEqual(wire);
          // What a client displays: amount_minor in ISO decimals, equal in value to the wire amount.
          const displayed = formatMinor(amountMinor, c.iso);
          expect(displayed).toBe(decimalText(expectedMinor, c.iso));
        }),
        { numRuns: 60 },
      );
    },
  );

  it("reads PayPal's JSON numbers exactly whenever a double holds what was written (15 significant digits)", () => {
    const twoDecimal = DOCUMENTED.paypal.filter((c) => c.places === 2).map((c) => c.code);
    fc.assert(
      fc.property(fc.bigInt(1n, 999_999_999_999_999n), fc.constantFrom(...twoDecimal), (cents, code) => {
        const text = decimalText(cents, 2);
        // JSON.stringify of the double is the text a JSON producer writes for it.
        const asNumber = JSON.stringify(Number(text));
        expect(amountMinorOf(parseRaw("paypal", code, asNumber))).toBe(cents);
      }),
      { numRuns: 300 },
    );
  });
});

describe("the provider's own rules", () => {
  it.each([
    ["stripe", "isk", "10000", 100n, "100"],
    ["stripe", "ugx", "500", 5n, "5"],
    ["stripe", "mga", "5000", 500000n, "5000.00"],
    ["stripe", "kwd", "5120", 5120n, "5.120"],
    ["stripe", "huf", "1045", 1045n, "10.45"],
    ["stripe", "twd", "80045", 80045n, "800.45"],
    ["stripe", "jpy", "500", 500n, "500"],
    ["razorpay", "isk", "100", 100n, "100"],
    ["razorpay", "mga", "5000", 5000n, "50.00"],
    ["razorpay", "kwd", "99999", 99999n, "99.999"],
    ["paypal", "huf", '"100"', 10000n, "100.00"],
    ["paypal", "twd", '"800"', 80000n, "800.00"],
    ["paypal", "jpy", "500", 500n, "500"],
  ])("%s %s %s is amount_minor %i, displayed %s", (provider, currency, amountJson, minor, displayed) => {
    const amountMinor = amountMinorOf(parseRaw(provider, currency, amountJson));
    expect(amountMinor).toBe(minor);
    expect(formatMinor(amountMinor, currencyExponent(currency.toUpperCase()) ?? -1)).toBe(displayed);
  });

  it.each([
    ["stripe", "isk", "10050", ["100.50 ISK as Stripe writes ISK", "only in whole ISK", "a multiple of 100"]],
    ["stripe", "ugx", "501", ["only in whole UGX", "https://docs.stripe.com/currencies"]],
    ["stripe", "kwd", "5125", ["5.125 KWD", "only in steps of 0.01", "a multiple of 10"]],
    ["paypal", "huf", '"100.50"', ["PayPal takes HUF with none", "send a whole number of HUF"]],
    ["paypal", "twd", "800.5", ["PayPal takes TWD with none"]],
  ])(
    "%s %s %s breaks the provider's rule and is dead-lettered",
    (provider, currency, amountJson, phrases) => {
      const problem = rejection(parseRaw(provider, currency, amountJson));
      expect(problem.code).toBe("invalid_amount");
      for (const phrase of phrases) expect(problem.reason).toContain(phrase);
    },
  );

  it.each(PROVIDERS)(
    "%s: every ISO currency it does not list is dead-lettered as unsupported",
    (provider) => {
      const listed = new Set(DOCUMENTED[provider].map((c) => c.code));
      const label = providerCurrencies(provider)?.label ?? "";
      const others = Intl.supportedValuesOf("currency").filter(
        (code) => !listed.has(code) && currencyExponent(code) !== undefined,
      );
      expect(others.length).toBeGreaterThan(0);
      for (const code of others) {
        const problem = rejection(parseRaw(provider, code, '"1"'));
        expect(problem.code, code).toBe("unsupported_currency");
        expect(problem.reason).toContain(`currency "${code}" is not one ${label} accepts`);
      }
    },
  );

  it("still reads any ISO currency by its ISO exponent for a provider pa has no table for", () => {
    expect(amountMinorOf(parseRaw("adyen", "kwd", '"1.234"'))).toBe(1234n);
    expect(amountMinorOf(parseRaw("adyen", "isk", "100"))).toBe(100n);
  });
});

describe("no float arithmetic on the path", () => {
  it("reads PayPal's 0.1, 0.2 and 0.3 as 10, 20 and 30 cents, so the sum of the first two is the third", () => {
    const tenth = amountMinorOf(parseRaw("paypal", "USD", "0.1"));
    const fifth = amountMinorOf(parseRaw("paypal", "USD", '"0.2"'));
    const threeTenths = amountMinorOf(parseRaw("paypal", "USD", "0.3"));
    expect([tenth, fifth, threeTenths]).toEqual([10n, 20n, 30n]);
    expect(tenth + fifth).toBe(threeTenths);
  });

  it("dead-letters a float sum (0.1 + 0.2 written as 0.30000000000000004) rather than rounding it", () => {
    const problem = rejection(parseRaw("paypal", "USD", JSON.stringify(0.1 + 0.2)));
    expect(problem.code).toBe("invalid_amount");
    expect(problem.reason).toContain("has 17 decimal places but PayPal takes USD with 2");
  });

  it("reads decimal strings past a double's 15 digits exactly", () => {
    // 90071992547409.91 is not a double: the nearest is 90071992547409.906...
    expect(amountMinorOf(parseRaw("paypal", "USD", '"90071992547409.91"'))).toBe(MAX);
    expect(amountMinorOf(parseRaw("stripe", "usd", '"9007199254740991"'))).toBe(MAX);
  });

  it.each([
    [
      "a JSON integer past 2^53 (read by JSON.parse as 9007199254740992)",
      "9007199254740993",
      "amount 9007199254740992 (as JSON.parse reads it: past 2^53 a JSON number is not exact) is too large",
    ],
    [
      "the same as a string, which pa reads exactly",
      '"9007199254740993"',
      'amount "9007199254740993" is too large',
    ],
  ])("dead-letters %s: pa carries at most 2^53 - 1 minor units", (_name, amountJson, phrase) => {
    const problem = rejection(parseRaw("stripe", "usd", amountJson));
    expect(problem.code).toBe("invalid_amount");
    expect(problem.reason).toContain(phrase);
  });
});
