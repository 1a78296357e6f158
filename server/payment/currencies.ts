/**
 * ISO 4217 currencies and their minor-unit exponents (how many decimal places a currency has:
 * 2 for USD, 0 for JPY, 3 for KWD). The exponent is what makes an amount exact: 5000 minor units
 * is 50.00 USD but 5000 JPY.
 *
 * The active codes of ISO 4217 list one, fund codes included. Left out on purpose: codes with no
 * minor unit (XAU, XDR, XTS, XXX and the like), which no payment is made in, and codes withdrawn
 * and replaced (HRK by EUR, SLL by SLE, ZWL by ZWG). ANG is kept while XCG replaces it.
 */
const BY_EXPONENT: readonly (readonly [exponent: number, codes: string])[] = [
  [0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"],
  [3, "BHD IQD JOD KWD LYD OMR TND"],
  [4, "CLF UYW"],
  [
    2,
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN " +
      "BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP " +
      "GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK " +
      "LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK " +
      "NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP " +
      "STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER " +
      "ZAR ZMW ZWG",
  ],
];

const EXPONENTS: ReadonlyMap<string, number> = new Map(
  BY_EXPONENT.flatMap(([exponent, codes]) => codes.split(" ").map((code) => [code, exponent] as const)),
);

/** The minor-unit exponent of an upper-case ISO 4217 code; undefined for anything else. */
export function currencyExponent(code: string): number | undefined {
  return EXPONENTS.get(code);
}
