/**
 * Which currencies each provider accepts, and how its API writes their amounts. ISO 4217 says how
 * many decimals a currency has; a provider's API may say otherwise (Stripe writes ISK and UGX with
 * two decimals though both are whole-unit currencies, and MGA with none though ISO gives it two),
 * and accepts only its own list of currencies. Each table is taken from the provider's published
 * documentation, cited above it, so a reading error is a visible disagreement with a page.
 *
 * Whatever the provider's convention, pa's `amount_minor` keeps the contract's meaning: ISO 4217
 * minor units of the currency. Stripe's `{"amount": 10000, "currency": "isk"}` (100.00 ISK in its
 * two-decimal form) becomes amount_minor 100, as ISK has no minor unit; PayPal's "100" HUF becomes
 * 10000, as ISO gives HUF two decimals. A client formats amount_minor with ISO's exponent alone.
 */
import { currencyExponent } from "./currencies.js";

/** How one provider writes one currency's amounts. */
export interface CurrencyRule {
  /**
   * The decimal places of the provider's integer minor unit: Stripe writes 5 ISK as 500, so ISK's
   * wire exponent is 2 at Stripe. For a provider whose API has no integer form (PayPal), the places
   * its decimal strings may have.
   */
  readonly wireExponent: number;
  /**
   * The finest amount the provider accepts, in decimal places of the major unit: 0 for Stripe's
   * ISK (whole krónur only), 2 for Stripe's KWD (three decimals whose last must be 0). Never more
   * than the wire exponent, nor than the ISO exponent: that is what makes every accepted amount a
   * whole number of ISO minor units.
   */
  readonly places: number;
}

/** One provider's currencies. */
export interface ProviderCurrencies {
  /** How the provider is named in reasons: "Stripe". */
  readonly label: string;
  /** The page the table is taken from, quoted in reasons. */
  readonly source: string;
  /** The provider's rule for an upper-case code; undefined when the provider does not accept it. */
  rule(code: string): CurrencyRule | undefined;
  /** Every code the provider accepts, sorted. */
  readonly codes: readonly string[];
}

type Table = readonly (readonly [rule: CurrencyRule, codes: string])[];

function provider(label: string, source: string, table: Table): ProviderCurrencies {
  const rules = new Map<string, CurrencyRule>();
  for (const [rule, codes] of table) {
    for (const code of codes.split(" ")) rules.set(code, rule);
  }
  return {
    label,
    source,
    rule: (code) => rules.get(code),
    codes: [...rules.keys()].sort(),
  };
}

const TWO: CurrencyRule = { wireExponent: 2, places: 2 };
const ZERO: CurrencyRule = { wireExponent: 0, places: 0 };
const THREE: CurrencyRule = { wireExponent: 3, places: 3 };

/**
 * Stripe, from https://docs.stripe.com/currencies ("Supported presentment currencies",
 * "Zero-decimal currencies", "Three-decimal currencies" and "Special cases"):
 * - two decimals unless listed otherwise;
 * - zero-decimal: BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF VND VUV XAF XOF XPF;
 * - three-decimal: BHD JOD KWD OMR TND, and "these API calls require the least-significant (last)
 *   digit to be 0", so the finest amount is two decimals;
 * - ISK and UGX "transitioned to a zero-decimal currency, but backwards compatibility requires you
 *   to represent it as a two-decimal value, where the decimal amount is always 00" (Stripe's
 *   support note on ISK: amounts "must be evenly divisible by 100"). Older versions of the page
 *   listed UGX as zero-decimal; the special-cases table is the later word;
 * - HUF and TWD are zero-decimal for payouts only; charges are two-decimal, so payments are too.
 * The copy of the page that could be read renders its list of presentment currencies from a
 * template, so the codes below are that list as Stripe's own "Stripe Tax for WooCommerce" plugin
 * quotes it from the page (StripeTaxPluginHelper::CURRENCIES_ALL_SUPPORTED, wordpress.org plugin
 * stripe-tax-for-woocommerce), less HRK and STD: codes ISO 4217 has withdrawn (replaced by EUR and
 * STN), which pa does not read as currencies at all.
 */
const STRIPE = provider("Stripe", "https://docs.stripe.com/currencies", [
  [
    TWO,
    "USD AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BWP BYN BZD " +
      "CAD CDF CHF CNY COP CRC CVE CZK DKK DOP DZD EGP ETB EUR FJD FKP GBP GEL GIP GMD GTQ GYD HKD " +
      "HNL HTG HUF IDR ILS INR JMD KES KGS KHR KYD KZT LAK LBP LKR LRD LSL MAD MDL MKD MMK MNT MOP " +
      "MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR " +
      "SBD SCR SEK SGD SHP SLE SOS SRD SZL THB TJS TOP TRY TTD TWD TZS UAH UYU UZS WST XCD YER ZAR ZMW",
  ],
  [ZERO, "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF VND VUV XAF XOF XPF"],
  [{ wireExponent: 3, places: 2 }, "BHD JOD KWD OMR TND"],
  [{ wireExponent: 2, places: 0 }, "ISK UGX"],
]);

/**
 * Razorpay, from https://razorpay.com/docs/payments/international-payments/#supported-currencies
 * ("Currency Name | ISO Code | Exponent"; amounts "in the currency subunit", e.g. 99.999 KWD is
 * 99999). Its exponents are ISO's for every code it lists. Its checkout page asks for a last
 * three-decimal digit of 0 ("you should pass the last decimal number as 0") while the currencies
 * page's own example passes 99999, so pa does not enforce it for Razorpay. Left out: HRK and SLL,
 * which the page still lists but ISO 4217 has withdrawn (replaced by EUR and SLE).
 */
const RAZORPAY = provider(
  "Razorpay",
  "https://razorpay.com/docs/payments/international-payments/#supported-currencies",
  [
    [
      TWO,
      "AED ALL AMD AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BZD CAD CHF CNY COP CRC " +
        "CUP CVE CZK DKK DOP DZD EGP ETB EUR FJD GBP GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR " +
        "JMD KES KGS KHR KYD KZT LAK LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MUR MVR MWK MXN MYR MZN " +
        "NAD NGN NIO NOK NPR NZD PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SCR SEK SGD SOS SVC SZL THB " +
        "TRY TTD TWD TZS UAH USD UYU UZS XCD YER ZAR ZMW",
    ],
    [ZERO, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"],
    [THREE, "BHD IQD JOD KWD OMR TND"],
  ],
);

/**
 * PayPal, from https://developer.paypal.com/reference/currency-codes/: its REST API takes amounts
 * as decimal strings in major units, and "HUF, JPY and TWD do not support decimals. Decimal amounts
 * cause an error". BRL, CNY, INR and MYR are listed for in-country accounts only; they are still
 * currencies PayPal sends, so they are here.
 */
const PAYPAL = provider("PayPal", "https://developer.paypal.com/reference/currency-codes/", [
  [TWO, "AUD BRL CAD CHF CNY CZK DKK EUR GBP HKD ILS INR MXN MYR NOK NZD PHP PLN SEK SGD THB USD"],
  [ZERO, "HUF JPY TWD"],
]);

const PROVIDERS: ReadonlyMap<string, ProviderCurrencies> = new Map([
  ["stripe", STRIPE],
  ["razorpay", RAZORPAY],
  ["paypal", PAYPAL],
]);

/** The currencies of a provider pa knows (by its lower-case name); undefined for any other provider. */
export function providerCurrencies(provider: string): ProviderCurrencies | undefined {
  return PROVIDERS.get(provider);
}

/**
 * How `provider` writes `code`: its own rule when pa knows the provider, ISO 4217's exponent for
 * any other provider. Undefined when the provider does not accept the currency (or, for another
 * provider, when the code is not an ISO currency).
 */
export function currencyRule(provider: string, code: string): CurrencyRule | undefined {
  const known = PROVIDERS.get(provider);
  if (known) return known.rule(code);
  const exponent = currencyExponent(code);
  return exponent === undefined ? undefined : { wireExponent: exponent, places: exponent };
}
