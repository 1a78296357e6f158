// Exact money for display. amount_minor is an integer in the currency's minor units; it is turned
// into a decimal string and handed to Intl.NumberFormat as a string, which formats it without
// passing through a binary float. The number of decimals is the one pa used (amount_minor / amount
// is 10^decimals), so display and pa never disagree about a currency's exponent.
const formatters = new Map<string, Intl.NumberFormat | null>();

function formatter(locale: string, currency: string, decimals: number | undefined): Intl.NumberFormat | null {
  const key = `${locale}|${currency}|${decimals ?? ""}`;
  let found = formatters.get(key);
  if (found === undefined) {
    try {
      found = new Intl.NumberFormat(locale, {
        style: "currency",
        currency,
        ...(decimals === undefined
          ? {}
          : { minimumFractionDigits: decimals, maximumFractionDigits: decimals }),
      });
    } catch {
      // Not an ISO 4217 code Intl knows: shown as "12.34 XYZ" below.
      found = null;
    }
    formatters.set(key, found);
  }
  return found;
}

/** The exponent pa used: 2 for 5000 minor = 50 major, 0 for 5000 = 5000. */
export function decimalsOf(amountMinor: bigint, amount: number): number | undefined {
  if (amountMinor === 0n || !(amount > 0)) return undefined;
  const ratio = Number(amountMinor) / amount;
  const decimals = Math.round(Math.log10(ratio));
  return decimals >= 0 && decimals <= 4 ? decimals : undefined;
}

export function minorToDecimal(amountMinor: bigint, decimals: number): string {
  const negative = amountMinor < 0n;
  const digits = (negative ? -amountMinor : amountMinor).toString().padStart(decimals + 1, "0");
  const text = decimals === 0 ? digits : `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
  return negative ? `-${text}` : text;
}

export function formatMoney(amountMinor: bigint, amount: number, currency: string, locale: string): string {
  const known = formatter(locale, currency, decimalsOf(amountMinor, amount));
  const decimals =
    decimalsOf(amountMinor, amount) ??
    known?.resolvedOptions().maximumFractionDigits ??
    (Number.isInteger(amount) ? 0 : 2);
  const decimal = minorToDecimal(amountMinor, decimals);
  if (!known) return `${decimal} ${currency}`;
  // A decimal string is formatted exactly (Intl.NumberFormat v3).
  return known.format(decimal as Intl.StringNumericLiteral);
}

/** Major units as a float, for charts only (never for display of a single amount). */
export function majorUnits(amountMinor: bigint, amount: number): number {
  const decimals = decimalsOf(amountMinor, amount);
  return decimals === undefined ? amount : Number(amountMinor) / 10 ** decimals;
}
