import { describe, expect, it } from "vitest";
import { describeJson, invalidPayment, quote } from "../../../server/payment/invalid-payment.js";

describe("invalidPayment", () => {
  it("pairs a code with its reason", () => {
    expect(invalidPayment("missing_field", "id is missing.")).toEqual({
      code: "missing_field",
      reason: "id is missing.",
    });
  });
});

describe("quote", () => {
  it("writes a JSON string literal", () => {
    expect(quote('say "hi"')).toBe('"say \\"hi\\""');
  });

  it("cuts a runaway value so a reason stays readable", () => {
    const quoted = quote("x".repeat(10_000));
    expect(quoted.length).toBeLessThan(80);
    expect(quoted.endsWith('…"')).toBe(true);
  });
});

describe("describeJson", () => {
  it.each([
    [null, "null"],
    [[1], "an array"],
    [{}, "an object"],
    ["abc", 'a string ("abc")'],
    [5, "a number (5)"],
    [true, "a boolean (true)"],
  ])("describes %j as %s", (value, words) => {
    expect(describeJson(value)).toBe(words);
  });
});
