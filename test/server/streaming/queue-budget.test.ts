import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PaymentEventSchema } from "../../../gen/payment/payment_pb.js";
import { QueueBudget } from "../../../server/streaming/queue-budget.js";
import { Subscription } from "../../../server/streaming/subscription.js";

const event = () => create(PaymentEventSchema, { eventType: "created" });

describe("STREAM_QUEUE_EVENTS_TOTAL", () => {
  it("bounds the events queued over all subscriptions, each still bounded by its own capacity", async () => {
    const budget = new QueueBudget(15);
    const [a, b] = [0, 1].map(() => new Subscription("t", {}, 10, () => {}, budget)) as [
      Subscription,
      Subscription,
    ];
    for (let i = 0; i < 10; i++) a.push(event());
    expect(a.hasRoom()).toBe(false);
    expect(b.room()).toBe(5);
    for (let i = 0; i < 5; i++) b.push(event());
    // b's own queue has room for 5 more, the total has none: it reads on from Kafka instead.
    expect(b.hasRoom()).toBe(false);
    let roomAgain = false;
    const waiting = b.roomAvailable().then(() => {
      roomAgain = true;
    });
    await Promise.resolve();
    expect(roomAgain).toBe(false);
    a.take(4);
    await waiting;
    expect(b.room()).toBe(4);
    a.close();
    expect(budget.queued).toBe(5);
    b.take(5);
    expect(budget.queued).toBe(0);
  });
});
