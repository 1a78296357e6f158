/**
 * Why a record is not a payment. The reason is a sentence addressed to whoever produces the
 * record: it is what lands in the record's DLQ entry, so it says what to fix, not only what broke.
 */
export type InvalidPaymentCode =
  | "invalid_json"
  | "not_an_object"
  | "missing_field"
  | "invalid_field"
  | "invalid_amount"
  | "unknown_currency"
  /** An ISO currency the record's provider does not accept (by its published list). */
  | "unsupported_currency"
  | "invalid_timestamp";

export interface InvalidPayment {
  readonly code: InvalidPaymentCode;
  readonly reason: string;
}

export function invalidPayment(code: InvalidPaymentCode, reason: string): InvalidPayment {
  return { code, reason };
}

// Reasons quote what the producer sent; a runaway value must not turn a DLQ reason into a copy of it.
const EXCERPT_CHARS = 60;

/** `text` as a JSON string literal, cut to a readable length. */
export function quote(text: string): string {
  return JSON.stringify(text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text);
}

/** What a parsed JSON value is, in words that fit "…, not <this>": `a string ("abc")`, `an array`. */
export function describeJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return `a string (${quote(value)})`;
    case "number":
      return `a number (${value})`;
    case "boolean":
      return `a boolean (${value})`;
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}
