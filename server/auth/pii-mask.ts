// What an identity without the `pii` grant sees of a payment: the customer's e-mail reduced to its
// first character and its domain, and the PII_METADATA_KEYS gone from metadata. Stream events are
// masked once per event for every masked subscriber (the same object comes back for the same
// event), so the native gRPC path still encodes each variant once (streaming/event-frames.ts).
import type { Payment, PaymentEvent } from "../../gen/payment/payment_pb.js";

const HIDDEN = "***";

// Graphemes, not UTF-16 units: the first "character" of "émile" or of an emoji is kept whole.
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * `john.doe@example.com` -> `j***@example.com`. The domain stays (it says which provider or
 * company, useful for support and fraud triage); the local part, which names the person, goes.
 * Empty stays empty (there is nothing to hide); a value without `@` is not an address but may
 * still name someone, so all of it is hidden.
 */
export function maskEmail(email: string): string {
  if (email === "") return "";
  // The last "@": a quoted local part may hold one, a domain never does.
  const at = email.lastIndexOf("@");
  if (at < 0) return HIDDEN;
  const local = email.slice(0, at);
  const first = graphemes.segment(local)[Symbol.iterator]().next();
  const kept = first.done ? "" : first.value.segment;
  return `${kept}${HIDDEN}${email.slice(at)}`;
}

const EMAIL_IN_TEXT = /[^\s"'<>()[\]{},;:@]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g;

/** A text (a log line, a dead letter's reason) with every e-mail address's local part hidden. */
export function maskEmailsIn(text: string): string {
  return text.replace(EMAIL_IN_TEXT, `${HIDDEN}@$1`);
}

export class PaymentMask {
  private readonly piiKeys: ReadonlySet<string>;
  // Weak: a masked event lives as long as the event it was made from is queued somewhere.
  private readonly maskedEvents = new WeakMap<PaymentEvent, PaymentEvent>();
  // Likewise: every masked subscriber's filter expression evaluates the same masked payment.
  private readonly maskedPayments = new WeakMap<Payment, Payment>();

  /** `piiMetadataKeys`: PII_METADATA_KEYS, compared case-insensitively with metadata keys. */
  constructor(piiMetadataKeys: readonly string[]) {
    this.piiKeys = new Set(piiMetadataKeys.map((key) => key.toLowerCase()));
  }

  payment(payment: Payment): Payment {
    let masked = this.maskedPayments.get(payment);
    if (!masked) {
      masked = this.masked(payment);
      this.maskedPayments.set(payment, masked);
    }
    return masked;
  }

  private masked(payment: Payment): Payment {
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(payment.metadata)) {
      if (!this.piiKeys.has(key.toLowerCase())) metadata[key] = value;
    }
    return { ...payment, customerEmail: maskEmail(payment.customerEmail), metadata };
  }

  /** The masked variant of a stream event: the same object for the same event, however often asked. */
  event(event: PaymentEvent): PaymentEvent {
    let masked = this.maskedEvents.get(event);
    if (!masked) {
      masked = event.payment ? { ...event, payment: this.payment(event.payment) } : event;
      this.maskedEvents.set(event, masked);
    }
    return masked;
  }
}
