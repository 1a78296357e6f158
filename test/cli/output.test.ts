import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { colorsFor } from "../../cli/output/colors.js";
import { formatEventLine } from "../../cli/output/event-line.js";
import { formatMoney, formatMoneyWithCode } from "../../cli/output/money.js";
import { PaymentEventSchema, PaymentStatus, Provider } from "../../gen/payment/payment_pb.js";

const plain = colorsFor({ isTTY: false }, {});

describe("formatMoney", () => {
  it.each([
    [5000n, "USD", "$50.00"],
    [99n, "USD", "$0.99"],
    [5000n, "JPY", "¥5,000"],
    [1500n, "KWD", "KWD 1.500"],
    [1n, "BHD", "BHD 0.001"],
    [123456n, "INR", "₹1,234.56"],
    [1050n, "EUR", "€10.50"],
    [12345n, "CLF", "CLF 1.2345"],
  ])("%s minor units of %s is %s", (minor, currency, text) => {
    expect(formatMoney(minor, currency, 0)).toBe(text);
  });

  it("stays exact where a double would not: the largest safe amount", () => {
    expect(formatMoney(9_007_199_254_740_991n, "USD", 0)).toBe("$90,071,992,547,409.91");
    expect(formatMoney(29n, "USD", 0.29)).toBe("$0.29");
  });

  it("falls back to the double and the code outside ISO 4217", () => {
    expect(formatMoney(0n, "XYZ", 12.5)).toBe("12.5 XYZ");
  });

  it("adds the code once", () => {
    expect(formatMoneyWithCode(5000n, "usd", 50)).toBe("$50.00 USD");
    expect(formatMoneyWithCode(1500n, "KWD", 1.5)).toBe("KWD 1.500");
  });
});

describe("formatEventLine", () => {
  const event = (eventType: string, status: PaymentStatus) =>
    create(PaymentEventSchema, {
      eventType,
      topic: "payments",
      payment: {
        id: "pay_1",
        provider: Provider.STRIPE,
        amount: 50,
        amountMinor: 5000n,
        currency: "USD",
        status,
      },
    });

  it("prints the PoC's line with an exact amount and a status mark", () => {
    expect(formatEventLine(event("new", PaymentStatus.STATUS_COMPLETED), plain)).toBe(
      "🆕 [payments] pay_1 | STRIPE | $50.00 USD | ✅ COMPLETED",
    );
    expect(formatEventLine(event("existing", PaymentStatus.STATUS_FAILED), plain)).toBe(
      "📦 [payments] pay_1 | STRIPE | $50.00 USD | ❌ FAILED",
    );
  });

  it("ends a live line with its cursor when asked, and a stored one (no cursor) without", () => {
    const live = { ...event("new", PaymentStatus.STATUS_COMPLETED), cursor: "eyJ2IjoxfQ" };
    expect(formatEventLine(live, plain, { cursor: true })).toBe(
      "🆕 [payments] pay_1 | STRIPE | $50.00 USD | ✅ COMPLETED | cursor eyJ2IjoxfQ",
    );
    expect(formatEventLine(live, plain)).not.toContain("cursor");
    expect(formatEventLine(event("existing", PaymentStatus.STATUS_FAILED), plain, { cursor: true })).toBe(
      "📦 [payments] pay_1 | STRIPE | $50.00 USD | ❌ FAILED",
    );
  });
});

describe("colorsFor", () => {
  const red = (colors: ReturnType<typeof colorsFor>) => colors.red("x") !== "x";

  it("colours a TTY only, never with NO_COLOR, always with FORCE_COLOR", () => {
    expect(red(colorsFor({ isTTY: true }, {}))).toBe(true);
    expect(red(colorsFor({ isTTY: false }, {}))).toBe(false);
    expect(red(colorsFor({ isTTY: true }, { NO_COLOR: "1" }))).toBe(false);
    expect(red(colorsFor({ isTTY: false }, { FORCE_COLOR: "1" }))).toBe(true);
    expect(red(colorsFor({ isTTY: true }, { NO_COLOR: "1", FORCE_COLOR: "1" }))).toBe(false);
  });
});
