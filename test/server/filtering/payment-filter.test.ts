import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PaymentSchema, PaymentStatus, Provider } from "../../../gen/payment/payment_pb.js";
import { compilePaymentFilter, FilterExpressionError } from "../../../server/filtering/payment-filter.js";

const web = create(PaymentSchema, {
  id: "pay_1",
  provider: Provider.STRIPE,
  amountMinor: 150_000n,
  amount: 1500,
  currency: "USD",
  status: PaymentStatus.STATUS_COMPLETED,
  customerEmail: "ana@acme.com",
  metadata: { channel: "web" },
});
const small = create(PaymentSchema, { ...web, amountMinor: 500n, metadata: {} });

function compileError(source: string): FilterExpressionError {
  try {
    compilePaymentFilter(source);
  } catch (error) {
    if (error instanceof FilterExpressionError) return error;
    throw error;
  }
  throw new Error(`"${source}" compiled`);
}

describe("compilePaymentFilter", () => {
  it.each([
    [
      'payment.amount_minor >= 100000 && payment.currency == "USD" && payment.metadata["channel"] == "web"',
      "match",
      "no_match",
    ],
    ['payment.metadata["channel"] == "web"', "match", "error"],
    ['payment.customer_email.endsWith("@acme.com")', "match", "match"],
    [
      "payment.status == PaymentStatus.STATUS_COMPLETED && payment.provider == Provider.PROVIDER_STRIPE",
      "match",
      "match",
    ],
    ['payment.currency in ["EUR", "GBP"]', "no_match", "no_match"],
    ['"channel" in payment.metadata && payment.metadata.channel == "web"', "match", "no_match"],
    ['payment.metadata.exists(k, k.startsWith("chan"))', "match", "no_match"],
    ["payment.amount > 1000.0", "match", "match"],
  ])("%s", (source, onWeb, onSmall) => {
    const filter = compilePaymentFilter(source);
    expect(filter.evaluate(web)).toBe(onWeb);
    expect(filter.evaluate(small)).toBe(onSmall);
  });

  it("gives a syntax error with its line and column", () => {
    const error = compileError('payment.currency == "USD" &&\n  payment.amount_minor >> 5');
    expect(error.position).toEqual({ line: 2, column: 24 });
    expect(error.message).toMatch(/^filter does not compile at line 2, column 24: found >/);
  });

  it("names a field Payment does not have, where it is", () => {
    const error = compileError('payment.currency == "USD" && payment.amount_cents > 5');
    expect(error.position).toEqual({ line: 1, column: 37 });
    expect(error.reason).toMatch(/no field "amount_cents".*amount_minor/);
  });

  it.each([
    ['payment.amount_minor > "100"', /no matching overload/],
    ["sha256(payment.id)", /unbound function/],
    ["merchant == 1", /undeclared reference to "merchant"/],
    ["payment.amount_minor + 1", /must be true or false/],
  ])("refuses %s", (source, reason) => {
    expect(compileError(source).reason).toMatch(reason);
  });

  it("bounds cost", () => {
    expect(compileError(`payment.amount_minor in [${"1,".repeat(450)}1]`).reason).toMatch(
      /more than 400 terms/,
    );
    expect(compileError("payment.metadata.exists(k, payment.metadata.exists(j, j == k))").reason).toMatch(
      /inside another/,
    );
  });
});
