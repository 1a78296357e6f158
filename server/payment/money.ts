/**
 * Exact money. Amounts travel as integer minor units (bigint) and are read from decimal text with
 * integer arithmetic only, never by multiplying floats: 0.29 * 100 is 28.999999999999996 in a double.
 */

/** Why decimal text is not an amount: see `decimalToUnits`. */
export type DecimalProblem = "not_a_decimal" | "zero" | "too_many_decimals" | "too_large";

const DOT = 46;
const ZERO = 48;
const NINE = 57;
// Every number of more digits than MAX_SAFE_INTEGER exceeds it; at as many, the value decides.
const MAX_SAFE_DIGITS = String(Number.MAX_SAFE_INTEGER).length;

/** The largest amount pa carries: every consumer of the number can then hold it exactly. */
export const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const POWERS_OF_TEN = Array.from({ length: MAX_SAFE_DIGITS + 1 }, (_, power) => 10n ** BigInt(power));

/** Whether `text` is a plain non-negative decimal: digits, optionally a point and more digits ("10.50"). */
export function isPlainDecimal(text: string): boolean {
  return scanDecimal(text) !== -2;
}

/**
 * The position of the point in a plain decimal, -1 when it has none, -2 when `text` is not one.
 * One pass and no allocation: this runs on every amount.
 */
function scanDecimal(text: string): number {
  const length = text.length;
  if (length === 0) return -2;
  let point = -1;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (point !== -1 || i === 0 || i === length - 1) return -2;
      point = i;
    } else if (c < ZERO || c > NINE) {
      return -2;
    }
  }
  return point;
}

/** How many decimal places a plain decimal really has: trailing zeros add none ("10.50" has 1). */
export function decimalPlaces(text: string): number {
  return significantPlaces(text, scanDecimal(text));
}

function significantPlaces(text: string, point: number): number {
  if (point < 0) return 0;
  let end = text.length;
  while (end > point + 1 && text.charCodeAt(end - 1) === ZERO) end--;
  return end - point - 1;
}

/**
 * A positive plain decimal as an exact count of 10^-scale units: ("10.50", 2) is 1050n,
 * ("5000", 0) is 5000n. Trailing zeros are not precision, so ("10.500", 2) is 1050n too.
 * The result is at most Number.MAX_SAFE_INTEGER, so every consumer of the number can hold it exactly.
 */
export function decimalToUnits(text: string, scale: number): bigint | DecimalProblem {
  const point = scanDecimal(text);
  if (point === -2) return "not_a_decimal";
  let digits = text;
  if (point !== -1) {
    const places = significantPlaces(text, point);
    if (places > scale) return "too_many_decimals";
    digits = text.slice(0, point) + text.slice(point + 1, point + 1 + places);
    scale -= places;
  }
  let first = 0;
  while (first < digits.length && digits.charCodeAt(first) === ZERO) first++;
  if (first === digits.length) return "zero";
  if (digits.length - first + scale > MAX_SAFE_DIGITS) return "too_large";
  const units = BigInt(digits.slice(first)) * powerOfTen(scale);
  return units > MAX_SAFE ? "too_large" : units;
}

/**
 * `units` counted in 10^-from as a count of 10^-to: (1050n, 2, 3) is 10500n, (500n, 2, 0) is 5n.
 * Undefined when the amount is not a whole number of the coarser unit: (1050n, 2, 0).
 */
export function rescaleUnits(units: bigint, from: number, to: number): bigint | undefined {
  if (to >= from) return to === from ? units : units * powerOfTen(to - from);
  const divisor = powerOfTen(from - to);
  return units % divisor === 0n ? units / divisor : undefined;
}

function powerOfTen(power: number): bigint {
  return POWERS_OF_TEN[power] ?? 10n ** BigInt(power);
}

/**
 * A finite number as plain decimal text: its shortest round-trip form (what JSON producers write
 * for it), with exponent notation written out, so 1e21 is "1000000000000000000000" and 1e-7 is
 * "0.0000001".
 */
export function numberToDecimal(value: number): string {
  const text = String(value);
  const e = text.indexOf("e");
  if (e === -1) return text;
  const negative = text.charCodeAt(0) === 45;
  const mantissa = text.slice(negative ? 1 : 0, e);
  const power = Number(text.slice(e + 1));
  const point = mantissa.indexOf(".");
  const digits = point === -1 ? mantissa : mantissa.slice(0, point) + mantissa.slice(point + 1);
  const shifted = (point === -1 ? mantissa.length : point) + power;
  const plain =
    shifted <= 0
      ? `0.${"0".repeat(-shifted)}${digits}`
      : shifted >= digits.length
        ? digits + "0".repeat(shifted - digits.length)
        : `${digits.slice(0, shifted)}.${digits.slice(shifted)}`;
  return negative ? `-${plain}` : plain;
}

/** Minor units as major-unit decimal text with the currency's places: (5000n, 2) is "50.00", (5000n, 0) "5000". */
export function formatMinor(minor: bigint, exponent: number): string {
  if (exponent === 0) return minor.toString();
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, "0");
  const point = digits.length - exponent;
  return `${negative ? "-" : ""}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Minor units as the nearest double in major units, for the legacy `amount` field: (5000n, 2) is 50. */
export function minorToMajor(minor: bigint, exponent: number): number {
  const units = Number(minor);
  // Both operands are exact and IEEE division rounds correctly, so this is the double nearest the
  // true quotient: the same one parsing formatMinor's text would give, without the string.
  if (Number.isSafeInteger(units)) return units / 10 ** exponent;
  return Number(formatMinor(minor, exponent));
}
