import { describe, expect, it } from "vitest";
import { currencyExponent } from "../../../server/payment/currencies.js";

describe("currencyExponent", () => {
  it.each([
    ["USD", 2],
    ["EUR", 2],
    ["GBP", 2],
    ["INR", 2],
    ["JPY", 0],
    ["KRW", 0],
    ["CLP", 0],
    ["VND", 0],
    ["KWD", 3],
    ["BHD", 3],
    ["JOD", 3],
    ["OMR", 3],
    ["TND", 3],
    ["LYD", 3],
    ["IQD", 3],
    ["CLF", 4],
    ["UYW", 4],
    ["UYI", 0],
    ["XCG", 2],
    ["ZWG", 2],
  ])("%s has %i decimal places", (code, exponent) => {
    expect(currencyExponent(code)).toBe(exponent);
  });

  it.each([
    ["lower case (callers upper-case first)", "usd"],
    ["not a currency", "BTC"],
    ["no minor unit (gold)", "XAU"],
    ["withdrawn and replaced (kuna, now EUR)", "HRK"],
    ["empty", ""],
  ])("knows nothing of %s", (_why, code) => {
    expect(currencyExponent(code)).toBeUndefined();
  });

  it("knows every currency the runtime's ICU data does, bar the withdrawn and the unit-less", () => {
    const leftOut = new Set(["HRK", "SLL", "ZWL", "XDR", "XSU"]);
    const missing = Intl.supportedValuesOf("currency").filter(
      (code) => !leftOut.has(code) && currencyExponent(code) === undefined,
    );
    expect(missing).toEqual([]);
  });
});
