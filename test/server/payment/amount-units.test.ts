import { describe, expect, it } from "vitest";
import {
  DEFAULT_AMOUNT_UNITS,
  parseAmountUnits,
  ruleFor,
  specWithUnit,
} from "../../../server/payment/amount-units.js";

describe("parseAmountUnits", () => {
  it("reads the defaults: the providers' own API units, major for anyone else", () => {
    const units = parseAmountUnits(DEFAULT_AMOUNT_UNITS);
    expect(units.unitFor("stripe")).toBe("minor");
    expect(units.unitFor("razorpay")).toBe("minor");
    expect(units.unitFor("paypal")).toBe("major");
    expect(units.unitFor("adyen")).toBe("major");
    expect(units.spec).toBe(DEFAULT_AMOUNT_UNITS);
  });

  it("overrides one provider and keeps the other defaults", () => {
    const units = parseAmountUnits("stripe=major");
    expect(units.unitFor("stripe")).toBe("major");
    expect(units.unitFor("razorpay")).toBe("minor");
    expect(units.spec).toBe("stripe=major,razorpay=minor,paypal=major,*=major");
  });

  it("adds providers before the * fallback", () => {
    const units = parseAmountUnits(" Adyen = MINOR ");
    expect(units.unitFor("adyen")).toBe("minor");
    expect(units.unitFor("square")).toBe("major");
    expect(units.spec).toBe("stripe=minor,razorpay=minor,paypal=major,adyen=minor,*=major");
  });

  it("reads * as every provider not listed, the default ones included", () => {
    const units = parseAmountUnits("*=major");
    for (const provider of ["stripe", "razorpay", "paypal", "adyen"])
      expect(units.unitFor(provider)).toBe("major");
    expect(units.spec).toBe("*=major");
    expect(ruleFor(units, "stripe")).toBe("*=major");
  });

  it("lets a listed provider win over *, whatever the order", () => {
    for (const spec of [" *=minor , Adyen = MAJOR ", "adyen=major,*=minor"]) {
      const units = parseAmountUnits(spec);
      expect(units.unitFor("adyen")).toBe("major");
      expect(units.unitFor("stripe")).toBe("minor");
      expect(units.unitFor("paypal")).toBe("minor");
      expect(units.spec).toBe("adyen=major,*=minor");
    }
  });

  it("gives back a spec that parses to the same units", () => {
    for (const spec of [
      "*=major",
      "stripe=minor,*=major",
      "paypal=minor",
      "adyen=minor,*=minor",
      DEFAULT_AMOUNT_UNITS,
    ]) {
      const units = parseAmountUnits(spec);
      const again = parseAmountUnits(units.spec);
      for (const provider of ["stripe", "razorpay", "paypal", "adyen"]) {
        expect(again.unitFor(provider)).toBe(units.unitFor(provider));
      }
      expect(again.spec).toBe(units.spec);
    }
  });

  it("takes an empty setting as the defaults", () => {
    expect(parseAmountUnits("  ").spec).toBe(DEFAULT_AMOUNT_UNITS);
  });

  it.each([
    ["stripe=cents", 'AMOUNT_UNITS entry "stripe=cents" must be <provider>=minor|major'],
    ["stripe", 'AMOUNT_UNITS entry "stripe" must be <provider>=minor|major'],
    ["=minor", 'AMOUNT_UNITS entry "=minor" must be <provider>=minor|major'],
    ["str ipe=minor", 'AMOUNT_UNITS entry "str ipe=minor" must be <provider>=minor|major'],
    ["stripe=minor=major", 'AMOUNT_UNITS entry "stripe=minor=major" must be <provider>=minor|major'],
    ["stripe=minor,,paypal=major", "AMOUNT_UNITS has an empty entry"],
    ["stripe=minor,STRIPE=major", "AMOUNT_UNITS lists stripe more than once"],
    ["major", 'AMOUNT_UNITS entry "major" names no provider; for every provider write "*=major"'],
    [
      "stripe=minor paypal=major",
      'separates its entries with commas; did you mean "stripe=minor,paypal=major"?',
    ],
    ["*=major; stripe = minor", 'separates its entries with commas; did you mean "*=major,stripe=minor"?'],
  ])("rejects %j, saying what is wrong", (spec, message) => {
    expect(() => parseAmountUnits(spec)).toThrow(message);
  });

  it("says the allowed form in every error", () => {
    expect(() => parseAmountUnits("stripe=cents")).toThrow(
      `comma-separated list of <provider>=minor|major entries, with * for every provider not listed, e.g. "${DEFAULT_AMOUNT_UNITS}"`,
    );
  });
});

describe("ruleFor", () => {
  const units = parseAmountUnits(DEFAULT_AMOUNT_UNITS);

  it("names a listed provider's own entry", () => {
    expect(ruleFor(units, "stripe")).toBe("stripe=minor");
  });

  it("names the * entry for anyone else", () => {
    expect(ruleFor(units, "adyen")).toBe("*=major");
  });
});

describe("specWithUnit", () => {
  const units = parseAmountUnits(DEFAULT_AMOUNT_UNITS);

  it("switches a listed provider in place", () => {
    expect(specWithUnit(units, "stripe", "major")).toBe("stripe=major,razorpay=minor,paypal=major,*=major");
  });

  it("adds an unlisted provider before *, and the result parses", () => {
    const spec = specWithUnit(units, "adyen", "minor");
    expect(spec).toBe("stripe=minor,razorpay=minor,paypal=major,adyen=minor,*=major");
    expect(parseAmountUnits(spec ?? "").unitFor("adyen")).toBe("minor");
  });

  it("suggests nothing for a name the setting cannot hold", () => {
    expect(specWithUnit(units, "my provider", "major")).toBeUndefined();
  });
});
