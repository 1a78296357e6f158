// A subscriber's view of the shared live feed: its tenant filter, and PII masking that keeps one
// masked and one unmasked variant per event, each encoded once for all streams.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PaymentEventSchema, PaymentSchema } from "../../../gen/payment/payment_pb.js";
import { Access } from "../../../server/auth/access.js";
import { grantsFromScope, type Identity } from "../../../server/auth/identity.js";
import { compilePaymentFilter } from "../../../server/filtering/payment-filter.js";
import { RecordFrames } from "../../../server/streaming/event-frames.js";
import { PaymentEventEncoder } from "../../../server/streaming/payment-event-encoder.js";
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
    const frames = new RecordFrames(new PaymentEventEncoder());
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

describe("Subscription filter expressions", () => {
  const filtered = (who: Identity, source: string) => {
    const view = access.expressionView(who);
    return new Subscription(
      "t",
      { expression: compilePaymentFilter(source), ...(view ? { expressionView: view } : {}) },
      16,
      () => {},
      new QueueBudget(1_000_000),
    );
  };

  it("evaluates a caller without pii on the masked payment, so a filter learns nothing the events hide", () => {
    const source = 'payment.customer_email.startsWith("zoe") && !("phone" in payment.metadata)';
    expect(filtered(identity("read:*"), source).accepts(payment("m1"))).toBe(false);
    expect(
      filtered(identity("read:*"), 'payment.customer_email == "z***@example.com"').accepts(payment("m1")),
    ).toBe(true);
    expect(
      filtered(identity("read:* pii"), 'payment.customer_email.startsWith("zoe")').accepts(payment("m1")),
    ).toBe(true);
  });

  it("leaves out and counts the payments the expression fails on", () => {
    const subscription = filtered(identity("read:* pii"), 'payment.metadata["merchant_id"] == "m1"');
    const outcomes = [
      payment("m1"),
      create(PaymentSchema, { id: "bare" }),
      payment("m2"),
      create(PaymentSchema, {}),
    ].map((p) => subscription.accepts(p));
    expect(outcomes).toEqual([true, false, false, false]);
    expect(subscription.filterErrors).toBe(2);
  });
});

describe("Subscription in LATEST delivery", () => {
  const update = (id: string, version: number, offset: number) =>
    create(PaymentEventSchema, {
      payment: create(PaymentSchema, { id, amountMinor: BigInt(version) }),
      offset: BigInt(offset),
      cursor: `c${offset}`,
    });

  it("keeps one event per payment, the newest, at the back, counting the updates it folded", () => {
    const subscription = new Subscription("t", { latest: true }, 4, () => {}, new QueueBudget(1_000_000));
    const shared = update("a", 1, 0);
    subscription.push(shared);
    subscription.push(update("b", 1, 1));
    subscription.push(update("a", 2, 2));
    subscription.push(update("a", 3, 3));
    expect(subscription.queued).toBe(2);
    const taken = subscription.take(10);
    expect(taken.map((e) => [e.payment?.id, e.payment?.amountMinor, e.foldedUpdates])).toEqual([
      ["b", 1n, 0],
      ["a", 3n, 2],
    ]);
    // Cursors stay in order: the last one taken is the newest.
    expect(subscription.lastCursor).toBe("c3");
    // The shared event itself is never changed.
    expect(shared.foldedUpdates).toBe(0);
  });

  it("has room for an update of a queued payment when full, not for a new payment", () => {
    const subscription = new Subscription("t", { latest: true }, 2, () => {}, new QueueBudget(1_000_000));
    subscription.push(update("a", 1, 0));
    subscription.push(update("b", 1, 1));
    expect(subscription.hasRoom("a")).toBe(true);
    expect(subscription.hasRoom("c")).toBe(false);
    expect(new Subscription("t", {}, 2, () => {}, new QueueBudget(1_000_000)).hasRoom("a")).toBe(true);
  });

  it("takes nothing more of the shared budget for an update it folds", () => {
    const budget = new QueueBudget(100);
    const subscription = new Subscription("t", { latest: true }, 8, () => {}, budget);
    for (let i = 0; i < 50; i++) subscription.push(update(`p${i % 3}`, i, i));
    expect(budget.available).toBe(97);
    subscription.take(2);
    expect(budget.available).toBe(99);
    subscription.close();
    expect(budget.available).toBe(100);
  });

  it("stays within its bound however many updates a stalled client misses", () => {
    const subscription = new Subscription("t", { latest: true }, 8, () => {}, new QueueBudget(1_000_000));
    for (let i = 0; i < 10_000; i++) {
      const id = `p${i % 8}`;
      if (subscription.hasRoom(id)) subscription.push(update(id, i, i));
      expect(subscription.queued).toBeLessThanOrEqual(8);
    }
    const taken = subscription.take(100);
    expect(taken.map((e) => Number(e.payment?.amountMinor)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 8 }, (_, i) => 9_992 + i),
    );
  });
});

describe("Subscription lagging", () => {
  const subscription = () => new Subscription("t", {}, 16, () => {}, new QueueBudget(1000));

  it("tells a waiting catch-up reader at once when it falls behind again", async () => {
    const s = subscription();
    const waiting = s.lagsAgain(60_000);
    s.fellBehind(2, 40);
    expect(await waiting).toBe(true);
    expect([...s.lagging]).toEqual([[2, 40]]);
    // Already lagging: no wait at all.
    expect(await s.lagsAgain(60_000)).toBe(true);
  });

  it("lets the reader go when nothing lags within the wait, or the stream closes", async () => {
    const s = subscription();
    expect(await s.lagsAgain(5)).toBe(false);
    const waiting = s.lagsAgain(60_000);
    s.close();
    expect(await waiting).toBe(false);
  });
});
