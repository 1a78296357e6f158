/**
 * One Kafka record's value to one normalized Payment, or the reason it is not one. This runs for
 * every record, so it returns its outcome instead of throwing, logs nothing, and leaves the common
 * case (a well-formed record) without intermediate copies.
 */
import { type Payment, PaymentStatus } from "../../gen/payment/payment_pb.js";
import { type AmountUnits, ruleFor, specWithUnit } from "./amount-units.js";
import { currencyExponent } from "./currencies.js";
import {
  describeJson,
  type InvalidPayment,
  type InvalidPaymentCode,
  invalidPayment,
  quote,
} from "./invalid-payment.js";
import {
  decimalPlaces,
  decimalToUnits,
  formatMinor,
  isPlainDecimal,
  MAX_SAFE,
  minorToMajor,
  numberToDecimal,
  rescaleUnits,
} from "./money.js";
import { type CurrencyRule, currencyRule, providerCurrencies } from "./provider-currencies.js";
import { providerFromName, statusFromName } from "./provider-status.js";

/** What the record itself says, beside its value. */
export interface RecordFacts {
  /** The Kafka record's timestamp; a negative one (Kafka's "none") falls back to `nowMs`. */
  kafkaTimestampMs: number;
  /** When pa processes the record; becomes `processedAt`. */
  nowMs: number;
}

/** Settings that decide how raw values are read. */
export interface PaymentRules {
  /** Which unit each provider's raw amount is in (AMOUNT_UNITS). */
  amountUnits: AmountUnits;
}

export type ParseOutcome = { ok: true; payment: Payment } | { ok: false; invalid: InvalidPayment };

// Decoding without `stream` keeps no state between calls, so one decoder serves every record.
// `fatal`: a replacement character silently written into an id is worse than a dead-lettered record.
const utf8 = new TextDecoder("utf-8", { fatal: true });

const EXAMPLE = `{"id":"pay_abc123","provider":"stripe","amount":5000,"currency":"usd","status":"succeeded"}`;
const SEND_ONE_OBJECT = `send one JSON payment object per record, e.g. ${EXAMPLE}`;
// Beyond this a "unix seconds" value is past the year 5000: it is almost surely milliseconds.
const MAX_TIMESTAMP_SECONDS = 99_999_999_999;
const ERROR_EXCERPT_CHARS = 100;

export function parsePayment(
  value: Uint8Array | null | undefined,
  facts: RecordFacts,
  rules: PaymentRules,
): ParseOutcome {
  if (value == null || value.length === 0) {
    return reject("invalid_json", `the record has no value; ${SEND_ONE_OBJECT}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(value));
  } catch (error) {
    return reject("invalid_json", notJsonReason(value, error));
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return reject(
      "not_an_object",
      `the value is JSON but ${describeJson(json)}, not an object; ${SEND_ONE_OBJECT}.`,
    );
  }
  const raw = json as Record<string, unknown>;

  const id = requiredString(raw.id, "id", `"pay_abc123"`);
  if (typeof id !== "string") return { ok: false, invalid: id };
  const providerName = requiredString(raw.provider, "provider", `"stripe", "razorpay" or "paypal"`);
  if (typeof providerName !== "string") return { ok: false, invalid: providerName };
  const provider = providerName.toLowerCase();
  if (raw.amount == null) {
    return reject("missing_field", "amount is missing; every payment needs an amount greater than zero.");
  }
  const currencyName = requiredString(raw.currency, "currency", `"USD"`);
  if (typeof currencyName !== "string") return { ok: false, invalid: currencyName };
  const currency = currencyName.toUpperCase();
  const exponent = currencyExponent(currency);
  if (exponent === undefined) {
    return reject(
      "unknown_currency",
      `currency ${quote(currencyName)} is not an ISO 4217 currency code; send a three-letter code such as "USD", "EUR" or "JPY".`,
    );
  }
  const rule = currencyRule(provider, currency);
  if (rule === undefined) return { ok: false, invalid: unsupportedCurrency(provider, currencyName) };
  const amountMinor = readAmount(raw.amount, provider, currency, exponent, rule, rules.amountUnits);
  if (typeof amountMinor !== "bigint") return { ok: false, invalid: amountMinor };

  const status = raw.status;
  if (status != null && typeof status !== "string") {
    return reject(
      "invalid_field",
      `status must be a string such as "succeeded", not ${describeJson(status)}.`,
    );
  }
  const email = raw.customer_email;
  if (email != null && typeof email !== "string") {
    return reject("invalid_field", `customer_email must be a string, not ${describeJson(email)}.`);
  }
  const createdAt = readCreatedAt(raw.timestamp, facts);
  if (typeof createdAt !== "bigint") return { ok: false, invalid: createdAt };
  const metadata = raw.metadata;
  if (metadata != null) {
    if (typeof metadata !== "object" || Array.isArray(metadata)) {
      return reject(
        "invalid_field",
        `metadata must be a JSON object of string values, e.g. {"order_id":"ORD-123"}, not ${describeJson(metadata)}.`,
      );
    }
    const problem = normalizeMetadata(metadata as Record<string, unknown>);
    if (problem !== undefined) return { ok: false, invalid: problem };
  }

  return {
    ok: true,
    // The object create(PaymentSchema, ...) returns (every field, in field order, no source),
    // written out: this runs for every record, and create() walks the schema each time.
    payment: {
      $typeName: "payment.Payment",
      id,
      provider: providerFromName(provider),
      amount: minorToMajor(amountMinor, exponent),
      currency,
      status: status == null ? PaymentStatus.STATUS_UNKNOWN : statusFromName(status),
      customerEmail: email ?? "",
      createdAt,
      processedAt: unixSeconds(facts.nowMs),
      // Normalized in place: the parsed object is this call's own, so it need not be copied.
      metadata: (metadata ?? {}) as Record<string, string>,
      amountMinor,
    },
  };
}

function reject(code: InvalidPaymentCode, reason: string): ParseOutcome {
  return { ok: false, invalid: invalidPayment(code, reason) };
}

/** Called only once decoding or parsing has failed, so its work is off the common path. */
function notJsonReason(value: Uint8Array, error: unknown): string {
  if (error instanceof TypeError) {
    return "the record's value is not UTF-8 text; send the payment as UTF-8 encoded JSON.";
  }
  const text = utf8.decode(value);
  if (text.trim() === "") return `the record's value is blank (whitespace only); ${SEND_ONE_OBJECT}.`;
  const message = error instanceof Error ? error.message : String(error);
  const excerpt =
    message.length > ERROR_EXCERPT_CHARS ? `${message.slice(0, ERROR_EXCERPT_CHARS)}…` : message;
  return `the value is not valid JSON (${excerpt}); ${SEND_ONE_OBJECT}.`;
}

/** A required string field: absent, null, empty and blank are all "missing". */
function requiredString(raw: unknown, field: string, example: string): string | InvalidPayment {
  if (typeof raw === "string") {
    if (raw.trim() !== "") return raw;
    return invalidPayment(
      "missing_field",
      `${field} is ${raw === "" ? "empty" : "blank"}; it is required: send a non-empty string, e.g. ${example}.`,
    );
  }
  if (raw == null) {
    return invalidPayment(
      "missing_field",
      `${field} is missing; it is required: send a non-empty string, e.g. ${example}.`,
    );
  }
  return invalidPayment(
    "invalid_field",
    `${field} must be a string, e.g. ${example}, not ${describeJson(raw)}.`,
  );
}

/**
 * The exact amount in ISO 4217 minor units of `currency`. The raw amount is a JSON number or a
 * decimal string, in the unit AMOUNT_UNITS gives `provider`: integer minor units as the provider
 * writes them (Stripe's 500 ISK is 5 ISK, so 5 ISO minor units), or major units. Numbers are read
 * through their shortest round-trip text, which is what the producer wrote whenever a double can
 * hold it (up to 15 significant digits); producers of larger amounts should send strings.
 */
function readAmount(
  raw: unknown,
  provider: string,
  currency: string,
  exponent: number,
  rule: CurrencyRule,
  units: AmountUnits,
): bigint | InvalidPayment {
  const unit = units.unitFor(provider);
  let text: string;
  if (typeof raw === "number") {
    // The common case, Stripe's and Razorpay's integers in ISO's own exponent, needs no text at all.
    if (unit === "minor" && raw > 0 && Number.isSafeInteger(raw)) {
      const wire = BigInt(raw);
      if (rule.wireExponent === exponent && rule.places === exponent) return wire;
      return minorFromWire(wire, () => String(raw), provider, currency, exponent, rule);
    }
    if (!(raw > 0)) return notPositive(String(raw));
    if (raw === Number.POSITIVE_INFINITY) {
      return invalidPayment(
        "invalid_amount",
        "amount is too large to be a JSON number (it overflows a 64-bit float); check which units the producer writes.",
      );
    }
    text = numberToDecimal(raw);
  } else if (typeof raw === "string") {
    if (!isPlainDecimal(raw)) return notADecimal(raw);
    text = raw;
  } else {
    return invalidPayment(
      "invalid_amount",
      `amount must be a JSON number or a decimal string such as "10.50", not ${describeJson(raw)}.`,
    );
  }

  const read = decimalToUnits(text, unit === "minor" ? 0 : rule.places);
  // A JSON number past 2^53 reaches pa already rounded to a double: say so rather than quote it as sent.
  // Error text only: a valid amount (every PayPal record takes this path) must not pay for it.
  const shown = (): string =>
    typeof raw === "string"
      ? quote(raw)
      : raw > Number.MAX_SAFE_INTEGER
        ? `${raw} (as JSON.parse reads it: past 2^53 a JSON number is not exact)`
        : String(raw);
  const ruleText = (): string => `AMOUNT_UNITS ${ruleFor(units, provider)}`;
  if (typeof read === "bigint") {
    if (unit === "minor") return minorFromWire(read, shown, provider, currency, exponent, rule);
    // A count of the provider's finest unit, which is never finer than ISO's: the scaling is exact.
    const minor = rescaleUnits(read, rule.places, exponent) as bigint;
    return minor > MAX_SAFE ? tooLarge(shown(), currency, ruleText()) : minor;
  }
  const who = providerLabel(provider);
  switch (read) {
    case "zero":
      return notPositive(shown());
    case "too_large":
      return tooLarge(shown(), currency, ruleText());
    case "too_many_decimals": {
      if (unit === "minor") return notWholeMinor(shown(), text, provider, currency, rule, units);
      const known = providerCurrencies(provider);
      const allowed = rule.places === 0 ? "none" : String(rule.places);
      const has = known
        ? `${known.label} takes ${currency} with ${allowed} (${known.source})`
        : `${currency} has ${allowed}`;
      return invalidPayment(
        "invalid_amount",
        `amount ${shown()} has ${places(decimalPlaces(text))} but ${has}; ${who} amounts are read as major units (${ruleText()}): ` +
          (rule.places === 0
            ? `send a whole number of ${currency}.`
            : `send at most ${places(rule.places)}.`),
      );
    }
    case "not_a_decimal":
      return notADecimal(text);
  }
}

/**
 * `wire`, a count of the provider's minor units (10^-wireExponent), in ISO minor units: Stripe's
 * 500 ISK is 5 and its 5000 MGA is 500000. An amount finer than the provider accepts (Stripe's
 * 10050 ISK, 100.50 krónur) breaks the provider's rule: it cannot come from the provider's API.
 */
function minorFromWire(
  wire: bigint,
  shown: () => string,
  provider: string,
  currency: string,
  exponent: number,
  rule: CurrencyRule,
): bigint | InvalidPayment {
  const accepted = rescaleUnits(wire, rule.wireExponent, rule.places);
  if (accepted === undefined) {
    const known = providerCurrencies(provider);
    const name = known?.label ?? providerLabel(provider);
    const step = 10n ** BigInt(rule.wireExponent - rule.places);
    const finest = rule.places === 0 ? `whole ${currency}` : `steps of ${formatMinor(1n, rule.places)}`;
    return invalidPayment(
      "invalid_amount",
      `amount ${shown()} is ${formatMinor(wire, rule.wireExponent)} ${currency} as ${name} writes ${currency} (${places(rule.wireExponent)}), ` +
        `but ${name} takes ${currency} only in ${finest}${known ? ` (${known.source})` : ""}; send a multiple of ${step}.`,
    );
  }
  // The provider's finest unit is never finer than ISO's minor unit: the scaling is exact.
  const minor = rescaleUnits(accepted, rule.places, exponent) as bigint;
  return minor > MAX_SAFE ? tooLarge(shown(), currency, undefined) : minor;
}

function tooLarge(shown: string, currency: string, ruleText: string | undefined): InvalidPayment {
  return invalidPayment(
    "invalid_amount",
    `amount ${shown} is too large: in minor units of ${currency} it exceeds ${Number.MAX_SAFE_INTEGER}, the largest amount pa carries exactly; ` +
      `check which units the producer writes${ruleText ? ` (${ruleText})` : ""}.`,
  );
}

/** A currency the record's provider does not list: most often a mislabelled provider or a test record. */
function unsupportedCurrency(provider: string, currencyName: string): InvalidPayment {
  const known = providerCurrencies(provider);
  const name = known?.label ?? providerLabel(provider);
  return invalidPayment(
    "unsupported_currency",
    `currency ${quote(currencyName)} is not one ${name} accepts${known ? ` (its list: ${known.source})` : ""}; check the record's provider and currency.`,
  );
}

/** A minor-unit amount with a fraction: most often a producer writing major units, so say how to tell pa that. */
function notWholeMinor(
  shown: string,
  text: string,
  provider: string,
  currency: string,
  rule: CurrencyRule,
  units: AmountUnits,
): InvalidPayment {
  const start = `amount ${shown} is not a whole number, but ${providerLabel(provider)} amounts are read as integer minor units (AMOUNT_UNITS ${ruleFor(units, provider)})`;
  const asMajor = decimalToUnits(text, rule.places);
  if (typeof asMajor !== "bigint") {
    return invalidPayment(
      "invalid_amount",
      `${start}; send the amount as an integer count of ${currency} minor units.`,
    );
  }
  const wire = rescaleUnits(asMajor, rule.places, rule.wireExponent) as bigint;
  const spec = specWithUnit(units, provider, "major");
  const setting =
    spec === undefined ? "" : `, or set AMOUNT_UNITS=${spec} if your producer writes major units`;
  return invalidPayment(
    "invalid_amount",
    `${start}: send ${wire} for ${formatMinor(wire, rule.wireExponent)} ${currency}${setting}.`,
  );
}

function notPositive(shown: string): InvalidPayment {
  return invalidPayment(
    "invalid_amount",
    `amount ${shown} must be greater than zero; send refunds as a positive amount with status "refunded".`,
  );
}

/** Whitespace is not trimmed: a producer sending " 5 " has a formatting bug worth hearing about. */
function notADecimal(raw: string): InvalidPayment {
  if (raw === "") {
    return invalidPayment(
      "invalid_amount",
      `amount is an empty string; send a number such as 5000 or a decimal string such as "10.50".`,
    );
  }
  const trimmed = raw.trim();
  if (trimmed !== raw && isPlainDecimal(trimmed)) {
    return invalidPayment(
      "invalid_amount",
      `amount ${quote(raw)} has whitespace around it; send the digits alone, e.g. ${quote(trimmed)}.`,
    );
  }
  if (raw.startsWith("-") && isPlainDecimal(raw.slice(1))) return notPositive(quote(raw));
  return invalidPayment(
    "invalid_amount",
    `amount ${quote(raw)} is not a decimal number; send digits with an optional decimal point, e.g. "10.50" (no sign, exponent, spaces or thousands separators).`,
  );
}

function readCreatedAt(raw: unknown, facts: RecordFacts): bigint | InvalidPayment {
  if (raw == null) {
    const kafkaMs = facts.kafkaTimestampMs;
    return unixSeconds(kafkaMs >= 0 ? kafkaMs : facts.nowMs);
  }
  if (typeof raw !== "number") {
    return invalidPayment(
      "invalid_timestamp",
      `timestamp must be a JSON number of unix seconds, e.g. 1703001234, not ${describeJson(raw)}.`,
    );
  }
  if (raw < 0) {
    return invalidPayment(
      "invalid_timestamp",
      `timestamp ${raw} is before 1970; send unix seconds, e.g. 1703001234.`,
    );
  }
  if (!Number.isInteger(raw)) {
    return invalidPayment(
      "invalid_timestamp",
      `timestamp ${raw} must be a whole number of unix seconds, e.g. ${Number.isFinite(raw) ? Math.floor(raw) : 1703001234}.`,
    );
  }
  if (raw > MAX_TIMESTAMP_SECONDS) {
    return invalidPayment(
      "invalid_timestamp",
      `timestamp ${raw} is too large for unix seconds; if it is milliseconds, send ${Math.floor(raw / 1000)}.`,
    );
  }
  return BigInt(raw);
}

/** Keeps string values, writes numbers and booleans as strings, and rejects anything nested. */
function normalizeMetadata(metadata: Record<string, unknown>): InvalidPayment | undefined {
  for (const key in metadata) {
    const value = metadata[key];
    if (typeof value === "string") continue;
    if (typeof value === "number" || typeof value === "boolean") {
      metadata[key] = String(value);
      continue;
    }
    return invalidPayment(
      "invalid_field",
      `metadata ${quote(key)} is ${describeJson(value)}; metadata values must be strings, numbers or booleans, so flatten it or send it as a string.`,
    );
  }
  return undefined;
}

function unixSeconds(ms: number): bigint {
  return Number.isFinite(ms) ? BigInt(Math.floor(ms / 1000)) : 0n;
}

function providerLabel(provider: string): string {
  return /^[a-z0-9._-]{1,40}$/.test(provider) ? provider : `provider ${quote(provider)}'s`;
}

function places(count: number): string {
  return count === 1 ? "1 decimal place" : `${count} decimal places`;
}
