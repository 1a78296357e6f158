import { describe, expect, it } from "vitest";
import { decimalsOf, formatMoney, minorToDecimal } from "../../../web/src/format/money.js";

describe("formatMoney", () => {
  it.each([
    [5000n, 50, "USD", "$50.00"],
    [99n, 0.99, "USD", "$0.99"],
    [5000n, 5000, "JPY", "¥5,000"],
    [1234n, 1.234, "KWD", "KWD\u00a01.234"],
    [150000n, 1500, "INR", "₹1,500.00"],
    [250n, 2.5, "EUR", "€2.50"],
  ])("formats %s minor units of %s (%s) exactly", (minor, amount, currency, expected) => {
    expect(formatMoney(minor, amount, currency, "en-US")).toBe(expected);
  });

  it("keeps every digit of amounts a double cannot hold", () => {
    // 2^53 + 1 cents: as a float it would print ...992.
    expect(formatMoney(9_007_199_254_740_993n, Number(9_007_199_254_740_993n) / 100, "USD", "en-US")).toBe(
      "$90,071,992,547,409.93",
    );
  });

  it("follows the locale's symbols and separators", () => {
    expect(formatMoney(123456n, 1234.56, "EUR", "de-DE")).toBe("1.234,56\u00a0€");
  });

  it("uses the exponent pa used, not a guess", () => {
    expect(decimalsOf(5000n, 50)).toBe(2);
    expect(decimalsOf(5000n, 5000)).toBe(0);
    expect(decimalsOf(1234n, 1.234)).toBe(3);
    expect(decimalsOf(0n, 0)).toBeUndefined();
  });

  it("shows an unassigned code as Intl does, and a malformed one beside the number", () => {
    expect(formatMoney(1050n, 10.5, "XQQ", "en-US")).toBe("XQQ\u00a010.50");
    expect(formatMoney(1050n, 10.5, "X1", "en-US")).toBe("10.50 X1");
  });

  it("writes minor units as a decimal string", () => {
    expect(minorToDecimal(5n, 2)).toBe("0.05");
    expect(minorToDecimal(-1050n, 2)).toBe("-10.50");
    expect(minorToDecimal(7n, 0)).toBe("7");
  });
});
