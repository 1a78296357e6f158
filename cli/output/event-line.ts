// One stream event as one line, in the spirit of the Go PoC's Node client:
//   🆕 [payments] pay_123 | STRIPE | $50.00 USD | ✅ COMPLETED
// 🆕 for a live event, 📦 for a stored one sent first; the amount is exact for its currency. With
// `cursor`, a live line ends with its cursor (stored ones have none: the store has them already).
import type { PaymentEvent } from "../../gen/payment/payment_pb.js";
import type { Colors } from "./colors.js";
import { formatMoneyWithCode } from "./money.js";
import { providerName, statusLabel } from "./payment-labels.js";

export function formatEventLine(
  event: PaymentEvent,
  colors: Colors,
  show: { cursor: boolean } = { cursor: false },
): string {
  const payment = event.payment;
  const icon = event.eventType === "existing" ? "📦" : "🆕";
  if (!payment) return `${icon} ${colors.dim(`[${event.topic}]`)} (event without a payment)`;
  const money = formatMoneyWithCode(payment.amountMinor, payment.currency, payment.amount);
  return [
    `${icon} ${colors.dim(`[${event.topic}]`)} ${colors.bold(payment.id)}`,
    colors.cyan(providerName(payment.provider)),
    money,
    statusLabel(payment.status, colors),
    ...(show.cursor && event.cursor ? [colors.dim(`cursor ${event.cursor}`)] : []),
  ].join(" | ");
}
