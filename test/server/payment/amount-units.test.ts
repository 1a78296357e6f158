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

  it("adds providers before the * fallback and lets * change", () => {
    const units = parseAmountUnits(" *=minor , Adyen = MAJOR ");
    expect(units.unitFor("adyen")).toBe("major");
    expect(units.unitFor("square")).toBe("minor");
    expect(units.spec).toBe("stripe=minor,razorpay=minor,paypal=major,adyen=major,*=minor");
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
  ])("rejects %j, saying what is wrong", (spec, message) => {
    expect(() => parseAmountUnits(spec)).toThrow(message);
  });

  it("says the allowed form in every error", () => {
    expect(() => parseAmountUnits("stripe=cents")).toThrow(
      `comma-separated list of <provider>=minor|major entries, with * for any other provider, e.g. "${DEFAULT_AMOUNT_UNITS}"`,
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
