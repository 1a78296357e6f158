// The PaymentEvent of a record streamed live, built as the object protobuf-es's create() returns
// (its $typeName and every field, in field order) without create()'s walk over the schema and the
// Timestamp it creates through timestampFromMs: this runs for every record fanned out.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Payment, PaymentEvent } from "../../gen/payment/payment_pb.js";

/** What a live event says about its Kafka record. */
export interface LiveRecord {
  partition: number;
  offset: number;
  /** The record's timestamp (ms); undefined: none (0, as before). */
  timestamp?: number | undefined;
}

/** The "new" event of `payment`, read from `record` of `topic`, with its resume cursor. */
export function liveEvent(payment: Payment, topic: string, record: LiveRecord, cursor: string): PaymentEvent {
  const timestampMs = record.timestamp ?? 0;
  const seconds = Math.floor(timestampMs / 1000);
  const kafkaTimestamp: Timestamp = {
    $typeName: "google.protobuf.Timestamp",
    seconds: BigInt(seconds),
    nanos: (timestampMs - seconds * 1000) * 1_000_000,
  };
  return {
    $typeName: "payment.PaymentEvent",
    payment,
    eventType: "new",
    topic,
    partition: record.partition,
    offset: BigInt(record.offset),
    kafkaTimestamp,
    cursor,
    foldedUpdates: 0,
  };
}
