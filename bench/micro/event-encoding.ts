// `npx tsx bench/micro/event-encoding.ts`: what encoding one stream event costs on pa's hot path,
// per event, in one process with nothing else running: building the PaymentEvent, its cursor, and
// its gRPC frame (5-byte prefix and protobuf bytes). protobuf-es's create + toBinary + a framing
// copy is the reference it is compared with. Realistic events: the benchmark generator's records,
// parsed by pa's own parsePayment.
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { PaymentEventSchema } from "../../gen/payment/payment_pb.js";
import { createPaymentGenerator } from "../../server/demo/payment-generator.js";
import { DEFAULT_AMOUNT_UNITS, parseAmountUnits } from "../../server/payment/amount-units.js";
import { parsePayment } from "../../server/payment/parse-payment.js";
import { frameMessage, RecordFrames } from "../../server/streaming/event-frames.js";
import { liveEvent } from "../../server/streaming/live-event.js";
import { PaymentEventEncoder } from "../../server/streaming/payment-event-encoder.js";
import { encodeStreamCursor, StreamCursorEncoder } from "../../server/streaming/stream-cursor.js";

const EVENTS = 10_000;
const ROUNDS = 30;
const TOPIC = "bench.micro.payments";

const generator = createPaymentGenerator({ seed: 19 });
const nowMs = Date.now();
const rules = { amountUnits: parseAmountUnits(DEFAULT_AMOUNT_UNITS) };
const values = Array.from({ length: EVENTS }, () => Buffer.from(generator.valid().value));
const payments = values.map((value) => {
  const outcome = parsePayment(value, { kafkaTimestampMs: nowMs, nowMs }, rules);
  if (!outcome.ok) throw new Error(outcome.invalid.reason);
  return outcome.payment;
});
const next = [1_234_567, 2_345_678, 3_456_789];

/** Median CPU nanoseconds per event of `run` over ROUNDS rounds of EVENTS events (after a warm-up). */
function measure(name: string, run: (i: number) => unknown): number {
  let sink = 0;
  const round = () => {
    // CPU time, not wall time: the machine may be shared, and a descheduled moment is not a cost.
    const started = process.cpuUsage();
    for (let i = 0; i < EVENTS; i++) if (run(i)) sink++;
    const used = process.cpuUsage(started);
    return ((used.user + used.system) * 1000) / EVENTS;
  };
  for (let r = 0; r < 5; r++) round();
  const samples = Array.from({ length: ROUNDS }, round).sort((a, b) => a - b);
  const median = samples[Math.floor(ROUNDS / 2)] as number;
  console.log(`${name.padEnd(58)} ${median.toFixed(0).padStart(6)} ns/event${sink < 0 ? "" : ""}`);
  return median;
}

const event = (i: number, cursor: string) =>
  create(PaymentEventSchema, {
    payment: payments[i],
    eventType: "new",
    topic: TOPIC,
    partition: i % 3,
    offset: BigInt(next[i % 3] as number),
    kafkaTimestamp: timestampFromMs(nowMs),
    cursor,
  });
const cursor = encodeStreamCursor(TOPIC, next);
const events = payments.map((_, i) => event(i, cursor));

console.log(
  `node ${process.version}, ${EVENTS} events of ~${toBinary(PaymentEventSchema, events[0] as never).byteLength} bytes`,
);
measure("parse: parsePayment (all three providers)", (i) =>
  parsePayment(values[i], { kafkaTimestampMs: nowMs, nowMs }, rules),
);
// What pa wrote before: the same text through an object and JSON.stringify.
const jsonCursor = (topic: string, offsets: readonly number[]) =>
  Buffer.from(JSON.stringify({ v: 1, t: topic, p: [...offsets] })).toString("base64url");
measure("cursor: object + JSON.stringify + base64url (before)", (i) => {
  next[i % 3] = (next[i % 3] as number) + 1;
  return jsonCursor(TOPIC, next);
});
measure("cursor: encodeStreamCursor (one call, its own encoder)", (i) => {
  next[i % 3] = (next[i % 3] as number) + 1;
  return encodeStreamCursor(TOPIC, next);
});
// A feed keeps one encoder for its topic.
const cursors = new StreamCursorEncoder(TOPIC);
measure("cursor: StreamCursorEncoder.encode (a feed's)", (i) => {
  next[i % 3] = (next[i % 3] as number) + 1;
  return cursors.encode(next);
});
measure("event: create(PaymentEventSchema) + timestampFromMs", (i) => event(i, cursor));
measure("frame: frameMessage(toBinary(PaymentEventSchema))", (i) =>
  frameMessage(toBinary(PaymentEventSchema, events[i] as never)),
);
const encoder = new PaymentEventEncoder();
measure("frame: PaymentEventEncoder.frame", (i) => encoder.frame(events[i] as never));
measure("event: liveEvent (literal)", (i) =>
  liveEvent(
    payments[i] as never,
    TOPIC,
    { partition: i % 3, offset: next[i % 3] as number, timestamp: nowMs },
    cursor,
  ),
);
const frames = new RecordFrames(new PaymentEventEncoder());
// The whole per-record path of a shared live event, before and after: its cursor, the event, its frame.
measure("record: JSON cursor + create + toBinary + frameMessage (before)", (i) => {
  next[i % 3] = (next[i % 3] as number) + 1;
  const built = event(i, jsonCursor(TOPIC, next));
  return frameMessage(toBinary(PaymentEventSchema, built));
});
measure("record: cursor + liveEvent + RecordFrames.frameOf (fan-out)", (i) => {
  next[i % 3] = (next[i % 3] as number) + 1;
  const partition = i % 3;
  const built = liveEvent(
    payments[i] as never,
    TOPIC,
    { partition, offset: next[partition] as number, timestamp: nowMs },
    cursors.encode(next),
  );
  const frame = frames.frameOf(built);
  frames.clear();
  return frame;
});
// The same without RecordFrames (what sharing costs when no second stream takes the event).
measure("record: cursor + liveEvent + encoder.frame (no cache)", (i) => {
  next[i % 3] = (next[i % 3] as number) + 1;
  const partition = i % 3;
  const built = liveEvent(
    payments[i] as never,
    TOPIC,
    { partition, offset: next[partition] as number, timestamp: nowMs },
    cursors.encode(next),
  );
  return encoder.frame(built);
});
