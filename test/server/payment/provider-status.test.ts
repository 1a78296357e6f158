import { describe, expect, it } from "vitest";
import { PaymentStatus, Provider } from "../../../gen/payment/payment_pb.js";
import { providerFromName, statusFromName } from "../../../server/payment/provider-status.js";

describe("providerFromName", () => {
  it.each([
    ["stripe", Provider.STRIPE],
    ["razorpay", Provider.RAZORPAY],
    ["paypal", Provider.PAYPAL],
    ["adyen", Provider.UNKNOWN],
    ["", Provider.UNKNOWN],
  ])("maps %j to %i", (name, provider) => {
    expect(providerFromName(name)).toBe(provider);
  });
});

describe("statusFromName", () => {
  it.each([
    ["pending", PaymentStatus.STATUS_PENDING],
    ["processing", PaymentStatus.STATUS_PENDING],
    ["succeeded", PaymentStatus.STATUS_COMPLETED],
    ["completed", PaymentStatus.STATUS_COMPLETED],
    ["paid", PaymentStatus.STATUS_COMPLETED],
    ["failed", PaymentStatus.STATUS_FAILED],
    ["declined", PaymentStatus.STATUS_FAILED],
    ["refunded", PaymentStatus.STATUS_REFUNDED],
    ["COMPLETED", PaymentStatus.STATUS_COMPLETED],
    ["Refunded", PaymentStatus.STATUS_REFUNDED],
    ["chargeback", PaymentStatus.STATUS_UNKNOWN],
    ["", PaymentStatus.STATUS_UNKNOWN],
  ])("maps %j to %i", (name, status) => {
    expect(statusFromName(name)).toBe(status);
  });
});
