// Names and marks for the enums people read in pa-cli's output.
import { PaymentStatus, Provider } from "../../gen/payment/payment_pb.js";
import type { Colors } from "./colors.js";

export function providerName(provider: Provider): string {
  return Provider[provider] ?? `PROVIDER_${provider}`;
}

export function statusName(status: PaymentStatus): string {
  return (PaymentStatus[status] ?? `STATUS_${status}`).replace(/^STATUS_/, "");
}

const STATUS_MARKS: Readonly<Record<number, string>> = {
  [PaymentStatus.STATUS_COMPLETED]: "✅",
  [PaymentStatus.STATUS_PENDING]: "⏳",
  [PaymentStatus.STATUS_FAILED]: "❌",
  [PaymentStatus.STATUS_REFUNDED]: "↩️",
};

/** The status with its emoji, coloured by outcome: `✅ COMPLETED`. */
export function statusLabel(status: PaymentStatus, colors: Colors): string {
  const text = `${STATUS_MARKS[status] ?? "❔"} ${statusName(status)}`;
  switch (status) {
    case PaymentStatus.STATUS_COMPLETED:
      return colors.green(text);
    case PaymentStatus.STATUS_PENDING:
      return colors.yellow(text);
    case PaymentStatus.STATUS_FAILED:
      return colors.red(text);
    case PaymentStatus.STATUS_REFUNDED:
      return colors.magenta(text);
    default:
      return text;
  }
}
