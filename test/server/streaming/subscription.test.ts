// A subscriber's view of the shared live feed: its tenant filter, and PII masking that keeps one
// masked and one unmasked variant per event, each encoded once for all streams.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PaymentEventSchema, PaymentSchema } from "../../../gen/payment/payment_pb.js";
import { Access } from "../../../server/auth/access.js";
import { grantsFromScope, type Identity } from "../../../server/auth/identity.js";
import { EventFrames } from "../../../server/streaming/event-frames.js";
import { QueueBudget } from "../../../server/streaming/queue-budget.js";
import { type StreamFilter, Subscription } from "../../../server/streaming/subscription.js";

const access = new Access({
  topicAllowlist: ["*"],
  tenantMetadataKey: "merchant_id",
  piiMetadataKeys: ["phone"],
});
const identity = (scope: string, tenant?: string): Identity => ({
  name: scope,
  kind: "token",
  grants: grantsFromScope(scope),
  ...(tenant ? { tenant } : {}),
});

function subscriberOf(who: Identity): Subscription {
  const tenant = access.tenantOf(who);
  const view = access.eventView(who);
  const filter: StreamFilter = { ...(tenant ? { tenant } : {}), ...(view ? { view } : {}) };
  return new Subscription("t", filter, 16, () => {}, new QueueBudget(1000));
}

const payment = (merchant: string) =>
  create(PaymentSchema, {
    id: `p-${merchant}`,
    customerEmail: "zoe@example.com",
    metadata: { merchant_id: merchant, phone: "1" },
  });

describe("Subscription views", () => {
  it("shares one masked event and one encoding among masked subscribers; pii subscribers get the original", () => {
    const masked = [subscriberOf(identity("read:*")), subscriberOf(identity("read:*"))];
    const plain = subscriberOf(identity("read:* pii"));
    const event = create(PaymentEventSchema, { payment: payment("m1"), eventType: "new" });
    for (const subscriber of [...masked, plain]) subscriber.push(event);
    const [first, second] = masked.map((subscriber) => subscriber.take(1)[0]);
    expect(first).toBe(second);
    expect(first?.payment?.customerEmail).toBe("z***@example.com");
    expect(first?.payment?.metadata).toEqual({ merchant_id: "m1" });
    expect(plain.take(1)[0]).toBe(event);
    const frames = new EventFrames();
    expect(frames.frameOf(first as typeof event)).toBe(frames.frameOf(second as typeof event));
  });

  it("accepts only its tenant's payments when bound to one", () => {
    const bound = subscriberOf(identity("read:*", "m1"));
    expect(bound.accepts(payment("m1"))).toBe(true);
    expect(bound.accepts(payment("m2"))).toBe(false);
    expect(bound.accepts(create(PaymentSchema, { id: "x" }))).toBe(false);
    expect(subscriberOf(identity("read:*")).accepts(payment("m2"))).toBe(true);
  });
});
