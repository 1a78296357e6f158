import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PaymentEventSchema, PaymentSchema } from "../../../gen/payment/payment_pb.js";
import { maskEmail, PaymentMask } from "../../../server/auth/pii-mask.js";

describe("maskEmail", () => {
  it.each([
    ["john.doe@example.com", "j***@example.com"],
    ["J@example.com", "J***@example.com"],
    ["", ""],
    ["not-an-address", "***"],
    ["@example.com", "***@example.com"],
    ['"a@b"@example.com', '"***@example.com'],
    ["émile@exämple.de", "é***@exämple.de"],
    // A grapheme of several code points (e with a combining accent, a flag) is kept whole.
    ["e\u0301mile@example.com", "e\u0301***@example.com"],
    ["🇫🇷chef@example.fr", "🇫🇷***@example.fr"],
    ["user@", "u***@"],
  ])("%j -> %j", (email, masked) => {
    expect(maskEmail(email)).toBe(masked);
  });
});

describe("PaymentMask", () => {
  const mask = new PaymentMask(["email", "Phone"]);
  const payment = create(PaymentSchema, {
    id: "p1",
    customerEmail: "john.doe@example.com",
    metadata: { EMAIL: "x@y.z", phone: "+33 1", order_id: "o-1" },
  });

  it("masks the e-mail and drops the PII metadata keys, case-insensitively, keeping the rest", () => {
    const masked = mask.payment(payment);
    expect(masked.customerEmail).toBe("j***@example.com");
    expect(masked.metadata).toEqual({ order_id: "o-1" });
    expect(masked.id).toBe("p1");
    // The original is untouched: unmasked subscribers share it.
    expect(payment.customerEmail).toBe("john.doe@example.com");
    expect(payment.metadata.EMAIL).toBe("x@y.z");
  });

  it("gives one masked object per event, however many subscribers ask", () => {
    const event = create(PaymentEventSchema, { payment, eventType: "new", cursor: "c" });
    const first = mask.event(event);
    expect(mask.event(event)).toBe(first);
    expect(first).not.toBe(event);
    expect(first.payment?.customerEmail).toBe("j***@example.com");
    expect(first.cursor).toBe("c");
    const other = create(PaymentEventSchema, { payment, eventType: "new" });
    expect(mask.event(other)).not.toBe(first);
  });
});
