// Names of the proto enums as an operator reads them, and the reverse for the URL.
import { PaymentStatus, Provider } from "../../../gen/payment/payment_pb.js";

export const PROVIDERS: { value: Provider; name: string }[] = [
  { value: Provider.STRIPE, name: "stripe" },
  { value: Provider.RAZORPAY, name: "razorpay" },
  { value: Provider.PAYPAL, name: "paypal" },
];

export const STATUSES: { value: PaymentStatus; name: string }[] = [
  { value: PaymentStatus.STATUS_PENDING, name: "pending" },
  { value: PaymentStatus.STATUS_COMPLETED, name: "completed" },
  { value: PaymentStatus.STATUS_FAILED, name: "failed" },
  { value: PaymentStatus.STATUS_REFUNDED, name: "refunded" },
];

export function providerName(provider: Provider): string {
  return PROVIDERS.find((p) => p.value === provider)?.name ?? "unknown";
}

export function statusName(status: PaymentStatus): string {
  return STATUSES.find((s) => s.value === status)?.name ?? "unknown";
}

// One formatter for every row: toLocaleTimeString builds a new one per call, which at thousands
// of rows a second was the table's largest cost.
const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

export function formatTime(unixSeconds: bigint | number): string {
  const ms = Number(unixSeconds) * 1000;
  if (!ms) return "—";
  return timeFormat.format(ms);
}

export function formatDateTime(date: Date | undefined): string {
  return date
    ? date
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z")
    : "—";
}
