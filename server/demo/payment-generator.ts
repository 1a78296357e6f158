/**
 * Realistic raw payment records, as the providers' webhooks would put them on Kafka: each provider
 * in its own API's amount units and status words. Used by the demo producer, the benchmarks and
 * `pa-cli produce`; seeded, so a test sees the same records every run.
 */
import { currencyExponent } from "../payment/currencies.js";
import { formatMinor, minorToMajor } from "../payment/money.js";
import { currencyRule, providerCurrencies } from "../payment/provider-currencies.js";
import { toWireAmount } from "../payment/wire-amount.js";

/** The ways a record can be wrong; each one is rejected by parsePayment for a different reason. */
export type InvalidKind =
  | "invalid_json"
  | "not_json"
  | "not_an_object"
  | "empty_id"
  | "missing_provider"
  | "amount_not_a_number"
  | "negative_amount"
  | "fractional_minor_amount"
  | "too_many_decimals"
  | "unknown_currency"
  /** An ISO currency the provider does not accept: PayPal in KWD. */
  | "unsupported_currency"
  /** An amount finer than the provider accepts: Stripe's ISK with a fraction of a króna. */
  | "finer_than_provider_accepts"
  | "fractional_timestamp"
  /** The Go PoC producer's `{"broken": true, "no_required_fields": 1}`. */
  | "poc_no_required_fields";

export const INVALID_KINDS: readonly InvalidKind[] = [
  "invalid_json",
  "not_json",
  "not_an_object",
  "empty_id",
  "missing_provider",
  "amount_not_a_number",
  "negative_amount",
  "fractional_minor_amount",
  "too_many_decimals",
  "unknown_currency",
  "unsupported_currency",
  "finer_than_provider_accepts",
  "fractional_timestamp",
  "poc_no_required_fields",
];

/** A Kafka record to produce: the payment id as key, the JSON as value. */
export interface GeneratedRecord {
  key: string;
  value: string;
}

export interface PaymentGenerator {
  /** A well-formed payment record. */
  valid(): GeneratedRecord;
  /** A record parsePayment must reject; without `kind`, the kinds take turns. */
  invalid(kind?: InvalidKind): GeneratedRecord;
}

export interface PaymentGeneratorOptions {
  /** Seeds the random choices; the same seed gives the same records. Random when absent. */
  seed?: number;
  /** The clock that record timestamps follow; Date.now when absent. */
  nowMs?: () => number;
}

/** The Go PoC's raw JSON shape. */
interface RawPayment {
  id: string;
  provider?: string;
  amount: number | string;
  currency: string;
  status: string;
  customer_email: string;
  metadata: Record<string, string | number>;
  timestamp: number;
}

type Weighted<T> = readonly (readonly [value: T, weight: number])[];

interface ProviderProfile {
  readonly name: string;
  /** How the provider's API writes amounts: integer minor units, or major units. */
  readonly unit: "minor" | "major";
  /** The provider's usual currencies; now and then any other it accepts is drawn instead. */
  readonly currencies: Weighted<string>;
  /** Success, pending, failure and refund in the provider's own words. */
  readonly statuses: Weighted<string>;
}

const STRIPE: ProviderProfile = {
  name: "stripe",
  unit: "minor",
  currencies: [
    ["usd", 45],
    ["eur", 20],
    ["gbp", 15],
    ["jpy", 10],
    ["kwd", 5],
    ["bhd", 5],
  ],
  statuses: [
    ["succeeded", 80],
    ["pending", 8],
    ["failed", 8],
    ["refunded", 4],
  ],
};
const RAZORPAY: ProviderProfile = {
  name: "razorpay",
  unit: "minor",
  currencies: [
    ["inr", 85],
    ["usd", 7],
    ["kwd", 4],
    ["bhd", 4],
  ],
  statuses: [
    ["paid", 80],
    ["pending", 8],
    ["failed", 8],
    ["refunded", 4],
  ],
};
// PayPal's API writes codes and statuses in upper case; pa reads both in any case.
const PAYPAL: ProviderProfile = {
  name: "paypal",
  unit: "major",
  currencies: [
    ["USD", 50],
    ["EUR", 25],
    ["GBP", 15],
    ["JPY", 10],
  ],
  statuses: [
    ["COMPLETED", 80],
    ["PENDING", 8],
    ["DECLINED", 8],
    ["REFUNDED", 4],
  ],
};
const PROVIDERS: Weighted<ProviderProfile> = [
  [STRIPE, 50],
  [RAZORPAY, 25],
  [PAYPAL, 25],
];

/** Typical ticket sizes in major units, per currency: a coffee to a laptop. */
const AMOUNT_RANGES: Readonly<Record<string, readonly [min: number, max: number]>> = {
  USD: [1, 2000],
  EUR: [1, 1800],
  GBP: [1, 1500],
  INR: [50, 150_000],
  JPY: [100, 300_000],
  KWD: [0.5, 600],
  BHD: [0.5, 750],
};

const FIRST_NAMES = ["ana", "ben", "chen", "divya", "emma", "farid", "grace", "hiro", "ines", "jonas"];
const LAST_NAMES = ["silva", "okafor", "wang", "patel", "muller", "haddad", "kim", "sato", "rossi", "novak"];
const DOMAINS = ["example.com", "mail.example", "shop.example.org", "corp.example.net"];
const CHANNELS = ["web", "ios", "android", "pos"];
// How often a payment is in any currency its provider accepts rather than one of its usual ones.
const LONG_TAIL_SHARE = 0.1;
// The producer's timestamps trail the clock a little, as webhooks do.
const MAX_LAG_SECONDS = 300;

export function createPaymentGenerator(options: PaymentGeneratorOptions = {}): PaymentGenerator {
  const random = mulberry32(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  const nowMs = options.nowMs ?? Date.now;
  let paymentCount = 0;
  let invalidCount = 0;

  const pick = <T>(choices: Weighted<T>): T => {
    let total = 0;
    for (const [, weight] of choices) total += weight;
    let roll = random() * total;
    for (const [value, weight] of choices) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return choices[choices.length - 1][0];
  };
  const below = (limit: number): number => Math.floor(random() * limit);
  const oneOf = <T>(items: readonly T[]): T => items[below(items.length)];

  /**
   * A price as a count of the provider's finest unit (Stripe takes whole ISK, KWD in steps of
   * 0.01): log-uniform over the currency's range, often ending .99 or .00.
   */
  const priceInFinestUnit = (currency: string, places: number): bigint => {
    const [min, max] = AMOUNT_RANGES[currency] ?? [1, 1000];
    const scale = 10 ** places;
    let count = Math.round(Math.exp(Math.log(min) + random() * Math.log(max / min)) * scale);
    const shape = random();
    if (places > 0 && shape < 0.3) count = Math.floor(count / scale) * scale + scale - 1;
    else if (shape < 0.5) count = Math.max(1, Math.round(count / scale)) * scale;
    return BigInt(Math.max(1, count));
  };

  /** A currency the provider accepts, in the case its API writes codes in. */
  const currencyFor = (profile: ProviderProfile): string => {
    const table = providerCurrencies(profile.name);
    const usual = pick(profile.currencies);
    if (table === undefined || random() >= LONG_TAIL_SHARE) return usual;
    const code = oneOf(table.codes);
    return usual === usual.toUpperCase() ? code : code.toLowerCase();
  };

  /** An amount the provider would write for `currency`, as its API writes it. */
  const wireAmount = (profile: ProviderProfile, currency: string): number | string => {
    const code = currency.toUpperCase();
    const rule = currencyRule(profile.name, code);
    const exponent = currencyExponent(code);
    if (rule === undefined || exponent === undefined) throw new Error(`${profile.name} has no ${code}`);
    const count = priceInFinestUnit(code, rule.places);
    const amountMinor = count * 10n ** BigInt(exponent - rule.places);
    const wire = toWireAmount(amountMinor, exponent, rule, profile.unit) as bigint | string;
    if (typeof wire === "bigint") return Number(wire);
    // PayPal's way: mostly a decimal string with the places it accepts ("10.50"), sometimes a number.
    return random() < 0.8 ? wire : Number(wire);
  };

  const payment = (profile: ProviderProfile = pick(PROVIDERS)): RawPayment => {
    paymentCount++;
    const currency = currencyFor(profile);
    const amount = wireAmount(profile, currency);
    const first = oneOf(FIRST_NAMES);
    const last = oneOf(LAST_NAMES);
    const metadata: Record<string, string | number> = {
      order_id: `ORD-${100_000 + paymentCount}`,
      channel: oneOf(CHANNELS),
    };
    if (random() < 0.5) metadata.customer_id = `cus_${base36(random(), 8)}`;
    if (random() < 0.2) metadata.attempt = 1 + below(3);
    return {
      id: `pay_${base36(random(), 7)}${paymentCount.toString(36).padStart(4, "0")}`,
      provider: profile.name,
      amount,
      currency,
      status: pick(profile.statuses),
      customer_email: `${first}.${last}${random() < 0.5 ? below(100) : ""}@${oneOf(DOMAINS)}`,
      metadata,
      timestamp: Math.floor(nowMs() / 1000) - below(MAX_LAG_SECONDS),
    };
  };

  const invalidValue = (kind: InvalidKind): string => {
    switch (kind) {
      case "invalid_json": {
        const json = JSON.stringify(payment());
        return json.slice(0, json.length - 1 - below(json.length / 2));
      }
      case "not_json":
        return oneOf(["not even json", "payment pay_123 succeeded", "<xml>payment</xml>"]);
      case "not_an_object":
        return JSON.stringify([payment()]);
      case "empty_id":
        return JSON.stringify({ ...payment(), id: "" });
      case "missing_provider": {
        const { provider: _, ...rest } = payment();
        return JSON.stringify(rest);
      }
      case "amount_not_a_number":
        return JSON.stringify({ ...payment(), amount: "not-a-number" });
      case "negative_amount": {
        const raw = payment(STRIPE);
        return JSON.stringify({ ...raw, amount: -Number(raw.amount) });
      }
      case "fractional_minor_amount": {
        // A producer writing major units where Stripe's integer minor units belong: 45.99, not 4599.
        const raw = payment(STRIPE);
        return JSON.stringify({
          ...raw,
          currency: "usd",
          amount: minorToMajor(BigInt((1 + below(500)) * 100 + 99), 2),
        });
      }
      case "too_many_decimals": {
        const raw = payment(PAYPAL);
        return JSON.stringify({
          ...raw,
          currency: "USD",
          amount: `${formatMinor(BigInt(100 + below(50_000)), 2)}5`,
        });
      }
      case "unknown_currency":
        return JSON.stringify({ ...payment(), currency: oneOf(["btc", "usdt", "xyz", "dollars"]) });
      case "unsupported_currency":
        // ISO currencies PayPal's list leaves out.
        return JSON.stringify({ ...payment(PAYPAL), currency: oneOf(["KWD", "ISK", "NGN", "VND"]) });
      case "finer_than_provider_accepts": {
        // Stripe writes ISK with two decimals that are always 00: 10050 would be 100.50 krónur.
        const raw = payment(STRIPE);
        return JSON.stringify({ ...raw, currency: "isk", amount: (1 + below(5000)) * 100 + 1 + below(99) });
      }
      case "fractional_timestamp": {
        const raw = payment();
        return JSON.stringify({ ...raw, timestamp: raw.timestamp + 0.5 });
      }
      case "poc_no_required_fields":
        return JSON.stringify({ broken: true, no_required_fields: 1 });
    }
  };

  return {
    valid() {
      const raw = payment();
      return { key: raw.id, value: JSON.stringify(raw) };
    },
    invalid(kind) {
      const chosen = kind ?? INVALID_KINDS[invalidCount % INVALID_KINDS.length];
      invalidCount++;
      return { key: `invalid-${chosen}-${invalidCount}`, value: invalidValue(chosen) };
    },
  };
}

function base36(fraction: number, width: number): string {
  return Math.floor(fraction * 36 ** width)
    .toString(36)
    .padStart(width, "0");
}

/** A small, fast, seedable PRNG (Tommy Ettinger's mulberry32): uniform floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
