import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decimalPlaces,
  decimalToUnits,
  formatMinor,
  isPlainDecimal,
  MAX_SAFE,
  minorToMajor,
  numberToDecimal,
  rescaleUnits,
} from "../../../server/payment/money.js";

describe("formatMinor", () => {
  it.each([
    [5000n, 2, "50.00"],
    [5000n, 0, "5000"],
    [1234n, 3, "1.234"],
    [99n, 2, "0.99"],
    [5n, 3, "0.005"],
    [0n, 2, "0.00"],
    [-5000n, 2, "-50.00"],
    [-5n, 2, "-0.05"],
    [12345n, 4, "1.2345"],
    [9007199254740993n, 2, "90071992547409.93"],
  ])("(%s, %i) is %s", (minor, exponent, text) => {
    expect(formatMinor(minor, exponent)).toBe(text);
  });
});

describe("minorToMajor", () => {
  it.each([
    [5000n, 2, 50],
    [99n, 2, 0.99],
    [5000n, 0, 5000],
    [1234n, 3, 1.234],
    [29n, 2, 0.29],
    [-150n, 2, -1.5],
  ])("(%s, %i) is %d", (minor, exponent, major) => {
    expect(minorToMajor(minor, exponent)).toBe(major);
  });

  it("gives the double nearest the decimal, as parsing formatMinor's text would", () => {
    for (const minor of [1n, 7n, 29n, 1999n, 123456789n, 9007199254740991n, 90071992547409931n]) {
      for (const exponent of [0, 2, 3, 4]) {
        expect(minorToMajor(minor, exponent)).toBe(Number(formatMinor(minor, exponent)));
      }
    }
  });
});

describe("isPlainDecimal", () => {
  it.each(["0", "5", "10.50", "007", "1.234"])("accepts %j", (text) => {
    expect(isPlainDecimal(text)).toBe(true);
  });

  it.each(["", "abc", "1.2.3", "-5", "+5", " 5 ", "5.", ".5", "1e3", "1,000", "١٢"])("refuses %j", (text) => {
    expect(isPlainDecimal(text)).toBe(false);
  });
});

describe("decimalPlaces", () => {
  it.each([
    ["10", 0],
    ["10.5", 1],
    ["10.50", 1],
    ["10.505", 3],
    ["10.000", 0],
  ])("%j has %i", (text, places) => {
    expect(decimalPlaces(text)).toBe(places);
  });
});

describe("decimalToUnits", () => {
  it.each([
    ["10.50", 2, 1050n],
    ["10.5", 2, 1050n],
    ["5000", 0, 5000n],
    ["5000", 2, 500000n],
    ["1.234", 3, 1234n],
    ["10.500", 2, 1050n],
    ["0.01", 2, 1n],
    ["0029", 2, 2900n],
    ["90071992547409.91", 2, 9007199254740991n],
    ["9007199254740991", 0, 9007199254740991n],
  ])("(%j, %i) is %s", (text, scale, units) => {
    expect(decimalToUnits(text, scale)).toBe(units);
  });

  it.each([
    ["abc", 2, "not_a_decimal"],
    ["-5", 2, "not_a_decimal"],
    ["0", 2, "zero"],
    ["0.00", 2, "zero"],
    ["10.505", 2, "too_many_decimals"],
    ["45.99", 0, "too_many_decimals"],
    ["0.001", 2, "too_many_decimals"],
    ["9007199254740992", 0, "too_large"],
    ["90071992547409.92", 2, "too_large"],
    ["100000000000000000000", 0, "too_large"],
  ])("(%j, %i) is %s", (text, scale, problem) => {
    expect(decimalToUnits(text, scale)).toBe(problem);
  });

  it("reads back whatever formatMinor writes, up to the largest safe amount", () => {
    fc.assert(
      fc.property(fc.bigInt(1n, MAX_SAFE), fc.integer({ min: 0, max: 4 }), (units, scale) => {
        expect(decimalToUnits(formatMinor(units, scale), scale)).toBe(units);
      }),
    );
  });
});

describe("rescaleUnits", () => {
  it.each([
    [1050n, 2, 3, 10500n],
    [500n, 2, 0, 5n],
    [5000n, 0, 2, 500000n],
    [5120n, 3, 2, 512n],
    [7n, 2, 2, 7n],
  ])("(%s, %i, %i) is %s", (units, from, to, expected) => {
    expect(rescaleUnits(units, from, to)).toBe(expected);
  });

  it.each([
    [1050n, 2, 0],
    [5125n, 3, 2],
  ])("(%s, %i, %i) is no whole count", (units, from, to) => {
    expect(rescaleUnits(units, from, to)).toBeUndefined();
  });
});

describe("numberToDecimal", () => {
  it.each([
    [10.5, "10.5"],
    [5000, "5000"],
    [0.29, "0.29"],
    [1e21, "1000000000000000000000"],
    [1.5e22, "15000000000000000000000"],
    [1e-7, "0.0000001"],
    [1.25e-7, "0.000000125"],
    [-1e-7, "-0.0000001"],
  ])("%d is %j", (value, text) => {
    expect(numberToDecimal(value)).toBe(text);
  });
});
