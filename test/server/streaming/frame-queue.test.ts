// A native gRPC subscriber's queue of frames: bounded in bytes (STREAM_BUFFER_BYTES) and, over all
// such subscribers, by STREAM_QUEUE_BYTES_TOTAL; its frames are those fan-out made once per record.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { type PaymentEvent, PaymentEventSchema, PaymentSchema } from "../../../gen/payment/payment_pb.js";
import { RecordFrames } from "../../../server/streaming/event-frames.js";
import { FRAME_HEADER_BYTES, PaymentEventEncoder } from "../../../server/streaming/payment-event-encoder.js";
import { QueueBudget } from "../../../server/streaming/queue-budget.js";
import { type StreamFilter, Subscription } from "../../../server/streaming/subscription.js";

const encoder = new PaymentEventEncoder();
// Offsets from 1 and ids of one width (under 100 events): frames of one size, unless amounts vary.
const event = (id: string, offset: number, amount = 1) =>
  create(PaymentEventSchema, {
    payment: create(PaymentSchema, { id: id.padEnd(6, "_"), amountMinor: BigInt(amount), currency: "EUR" }),
    eventType: "new",
    topic: "t",
    offset: BigInt(offset + 1),
    cursor: `c${offset}`,
  });
const frameBytes = (e: PaymentEvent) => encoder.frame(e).byteLength;

function framed(bytes: number, budget = new QueueBudget(1 << 30), filter: StreamFilter = {}) {
  // The event bound (1) and its budget would refuse a second event: bytes alone bound this queue.
  return new Subscription("t", filter, 1, () => {}, new QueueBudget(1), undefined, {
    bytes,
    budget,
    encoder,
  });
}

// The events' protobuf messages, read back from a chunk of frames.
function messagesOf(chunk: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  for (let at = 0; at < chunk.byteLength; ) {
    const length = chunk.readUInt32BE(at + 1);
    messages.push(chunk.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length));
    at += FRAME_HEADER_BYTES + length;
  }
  return messages;
}

describe("Subscription queuing frames", () => {
  it("counts the bytes of its frames and writes them in order as one chunk", () => {
    const subscription = framed(1 << 20);
    const events = [0, 1, 2].map((n) => event(`p${n}`, n));
    for (const e of events) subscription.push(e);
    const expected = events.reduce((sum, e) => sum + frameBytes(e), 0);
    expect(subscription.queuedBytes).toBe(expected);
    const taken = subscription.takeFrames(2);
    expect(taken?.count).toBe(2);
    expect(taken?.lastTimestamp).toBe(events[1]?.kafkaTimestamp);
    // The events themselves are not kept beside their frames (none is traced here).
    expect(taken?.events).toEqual([]);
    expect(messagesOf(taken?.chunk as Buffer)).toEqual(
      events.slice(0, 2).map((e) => Buffer.from(toBinary(PaymentEventSchema, e))),
    );
    expect(subscription.queuedBytes).toBe(frameBytes(events[2] as PaymentEvent));
    expect(subscription.lastCursor).toBe("c1");
    expect(subscription.takeFrames(10)?.count).toBe(1);
    expect(subscription.queuedBytes).toBe(0);
    expect(subscription.takeFrames(10)).toBeUndefined();
  });

  it("queues the frame fan-out made, the same bytes for every stream given the event", () => {
    const [a, b] = [framed(1 << 20), framed(1 << 20)] as [Subscription, Subscription];
    const frames = new RecordFrames(encoder);
    const shared = event("p", 7);
    a.push(shared, frames);
    b.push(shared, frames);
    expect(a.takeFrames(1)?.chunk).toBe(b.takeFrames(1)?.chunk);
  });

  it("keeps the events it is told to keep beside their frames (traced ones)", () => {
    const kept = event("p1", 1);
    const subscription = new Subscription("t", {}, 1, () => {}, new QueueBudget(1), undefined, {
      bytes: 1 << 20,
      budget: new QueueBudget(1 << 30),
      encoder,
      keepsEvent: (e) => e === kept,
    });
    subscription.push(event("p0", 0));
    subscription.push(kept);
    const taken = subscription.takeFrames(10);
    expect(taken?.count).toBe(2);
    expect(taken?.events).toEqual([kept]);
    expect(() => subscription.take(1)).toThrow(/takeFrames/);
  });

  it("has room until its frames reach STREAM_BUFFER_BYTES, and again once half was written", async () => {
    const size = frameBytes(event("p0", 0));
    const subscription = framed(10 * size);
    let pushed = 0;
    while (subscription.hasRoom()) subscription.push(event(`p${pushed}`, pushed++));
    expect(pushed).toBe(10);
    expect(subscription.room()).toBe(0);
    let drained = false;
    const waiting = subscription.drained().then(() => {
      drained = true;
    });
    subscription.takeFrames(4);
    await Promise.resolve();
    expect(drained).toBe(false);
    subscription.takeFrames(1);
    await waiting;
    // A catch-up reader sizes its batch by the frames queued so far.
    expect(subscription.room()).toBe(5);
  });

  it("shares STREAM_QUEUE_BYTES_TOTAL with the other frame queues and gives it back", () => {
    const size = frameBytes(event("p0", 0));
    const budget = new QueueBudget(6 * size);
    const [a, b] = [framed(4 * size, budget), framed(4 * size, budget)] as [Subscription, Subscription];
    for (let i = 0; i < 4; i++) a.push(event(`p${i}`, i));
    expect(a.hasRoom()).toBe(false);
    expect(budget.queued).toBe(4 * size);
    b.push(event("p4", 4));
    b.push(event("p5", 5));
    // b's own bound has room for two more; the total has none.
    expect(b.hasRoom()).toBe(false);
    a.takeFrames(1);
    expect(b.room()).toBe(1);
    a.close();
    expect(budget.queued).toBe(2 * size);
    b.takeFrames(10);
    expect(budget.queued).toBe(0);
  });

  it("in LATEST delivery frames the folded copy with its count, and counts only the newest's bytes", () => {
    const budget = new QueueBudget(1 << 30);
    const subscription = framed(1 << 20, budget, { latest: true });
    for (let version = 1; version <= 3; version++) subscription.push(event("a", version, version));
    subscription.push(event("b", 4));
    const taken = subscription.takeFrames(10);
    const sent = messagesOf(taken?.chunk as Buffer).map((bytes) => fromBinary(PaymentEventSchema, bytes));
    expect(sent.map((e) => [e.payment?.id, e.payment?.amountMinor, e.foldedUpdates])).toEqual([
      ["a_____", 3n, 2],
      ["b_____", 1n, 0],
    ]);
    expect(subscription.lastCursor).toBe("c4");
    expect(budget.queued).toBe(0);
    expect(subscription.queuedBytes).toBe(0);
  });

  it("stays within its bytes however many updates a stalled LATEST client misses", () => {
    // The largest frame of the loop, and a folded copy's folded_updates field (at most 3 bytes).
    const size = frameBytes(event("p0", 9_999, 19_999)) + 3;
    const subscription = framed(8 * size, new QueueBudget(1 << 30), { latest: true });
    for (let i = 0; i < 10_000; i++) {
      const id = `p${i % 8}`;
      if (subscription.hasRoom(id)) subscription.push(event(id, i, 10_000 + i));
      expect(subscription.queuedBytes).toBeLessThanOrEqual(8 * size);
    }
    expect(subscription.takeFrames(100)?.count).toBe(8);
  });
});
