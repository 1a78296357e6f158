/**
 * The providers' own words mapped onto the contract's enums. Each provider names the same outcome
 * differently (Stripe "succeeded", Razorpay "paid", PayPal "completed"); clients see one status.
 */
import { PaymentStatus, Provider } from "../../gen/payment/payment_pb.js";

/**
 * The provider for a lower-cased raw name. A provider pa does not know is still a payment:
 * it streams as Provider.UNKNOWN rather than being dead-lettered.
 */
export function providerFromName(name: string): Provider {
  switch (name) {
    case "stripe":
      return Provider.STRIPE;
    case "razorpay":
      return Provider.RAZORPAY;
    case "paypal":
      return Provider.PAYPAL;
    default:
      return Provider.UNKNOWN;
  }
}

/** The status for a raw status word in any case; a word no provider uses is STATUS_UNKNOWN. */
export function statusFromName(name: string): PaymentStatus {
  switch (name.toLowerCase()) {
    case "pending":
    case "processing":
      return PaymentStatus.STATUS_PENDING;
    case "succeeded":
    case "completed":
    case "paid":
      return PaymentStatus.STATUS_COMPLETED;
    case "failed":
    case "declined":
      return PaymentStatus.STATUS_FAILED;
    case "refunded":
      return PaymentStatus.STATUS_REFUNDED;
    default:
      return PaymentStatus.STATUS_UNKNOWN;
  }
}
