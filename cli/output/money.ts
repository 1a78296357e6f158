// Amounts as people read them: the currency's symbol and exactly its ISO 4217 number of decimals,
// from the exact minor units (never from the double `amount`): 5000 USD cents is "$50.00",
// 5000 JPY is "¥5,000", 1500 KWD fils is "KWD 1.500".
import { currencyExponent } from "../../server/payment/currencies.js";
import { formatMinor } from "../../server/payment/money.js";

/**
 * `amountMinor` formatted for `currency`. Intl is given the exact decimal text (it formats strings
 * without going through a double) and the ISO exponent as the digits (CLDR's display digits differ
 * for a few currencies). A code outside ISO 4217 falls back to the major-unit double and the code.
 */
export function formatMoney(amountMinor: bigint, currency: string, fallbackMajor: number): string {
  const code = currency.toUpperCase();
  const exponent = currencyExponent(code);
  if (exponent === undefined) return `${fallbackMajor} ${code}`.trim();
  const format = new Intl.NumberFormat("en-US", {
    style: "currency",
    currency: code,
    currencyDisplay: "narrowSymbol",
    minimumFractionDigits: exponent,
    maximumFractionDigits: exponent,
  });
  // Intl's typings predate exact decimal strings (ES2023 Intl.NumberFormat v3), which Node supports.
  const text = format.format(formatMinor(amountMinor, exponent) as unknown as number);
  // Intl separates a code from the number with a no-break space; terminals and grep prefer a space.
  return text.replace(/\u00a0/g, " ");
}

/** The amount with its code after it, unless the format shows the code already: "$50.00 USD", "KWD 1.500". */
export function formatMoneyWithCode(amountMinor: bigint, currency: string, fallbackMajor: number): string {
  const money = formatMoney(amountMinor, currency, fallbackMajor);
  const code = currency.toUpperCase();
  return money.includes(code) ? money : `${money} ${code}`;
}
