// The stream's hot message written by hand: a PaymentEvent's protobuf bytes go straight into one
// reused scratch buffer behind the 5-byte gRPC/Connect frame prefix, and leave it in one copy sized
// to the frame. protobuf-es's toBinary builds a BinaryWriter per message, grows its buffer by
// doubling, copies it out in finish(), and the frame prefix cost a further copy; profiles put that
// at about 4 us of main-thread CPU per event. The .proto stays the contract: the bytes are exactly
// toBinary(PaymentEventSchema, event)'s, field order, map order (Object.keys) and implicit presence
// included, which test/server/streaming/payment-event-encoder.test.ts checks for generated events.
// A message carrying unknown fields (none of pa's do) is left to toBinary, which writes them.
import { toBinary } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import {
  type Payment,
  type PaymentEvent,
  PaymentEventSchema,
  type PaymentSource,
} from "../../gen/payment/payment_pb.js";

/** The gRPC length-prefixed message framing: a flags byte (0: not compressed), then a u32 length. */
export const FRAME_HEADER_BYTES = 5;

const INITIAL_BYTES = 4096;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO_32 = 2 ** 32;
// Strings shorter than this take the ASCII loop (a one-byte length prefix) before native UTF-8.
const ASCII_MAX_LENGTH = 128;

// Tags: field number << 3 | wire type (0 varint, 1 64-bit, 2 length-delimited).
const EVENT_PAYMENT = (1 << 3) | 2;
const EVENT_TYPE = (2 << 3) | 2;
const EVENT_TOPIC = (3 << 3) | 2;
const EVENT_PARTITION = 4 << 3;
const EVENT_OFFSET = 5 << 3;
const EVENT_KAFKA_TIMESTAMP = (6 << 3) | 2;
const EVENT_CURSOR = (7 << 3) | 2;
const EVENT_FOLDED_UPDATES = 8 << 3;
const PAYMENT_ID = (1 << 3) | 2;
const PAYMENT_PROVIDER = 2 << 3;
const PAYMENT_AMOUNT = (3 << 3) | 1;
const PAYMENT_CURRENCY = (4 << 3) | 2;
const PAYMENT_STATUS = 5 << 3;
const PAYMENT_CUSTOMER_EMAIL = (6 << 3) | 2;
const PAYMENT_CREATED_AT = 7 << 3;
const PAYMENT_PROCESSED_AT = 8 << 3;
const PAYMENT_METADATA = (9 << 3) | 2;
const PAYMENT_AMOUNT_MINOR = 10 << 3;
const PAYMENT_SOURCE = (11 << 3) | 2;
const SOURCE_TOPIC = (1 << 3) | 2;
const SOURCE_PARTITION = 2 << 3;
const SOURCE_OFFSET = 3 << 3;
const SOURCE_KAFKA_TIMESTAMP = (4 << 3) | 2;
const SOURCE_FIRST_SEEN = (5 << 3) | 2;
const SOURCE_LAST_SEEN = (6 << 3) | 2;
const TIMESTAMP_SECONDS = 1 << 3;
const TIMESTAMP_NANOS = 2 << 3;
const MAP_KEY = (1 << 3) | 2;
const MAP_VALUE = (2 << 3) | 2;

function varint32Size(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

function hasUnknownFields(message: { $unknown?: unknown[] } | undefined): boolean {
  return message?.$unknown !== undefined && message.$unknown.length > 0;
}

function timestampsHaveUnknownFields(source: PaymentSource | undefined): boolean {
  return (
    source !== undefined &&
    (hasUnknownFields(source) ||
      hasUnknownFields(source.kafkaTimestamp) ||
      hasUnknownFields(source.firstSeen) ||
      hasUnknownFields(source.lastSeen))
  );
}

/** Encodes PaymentEvents into gRPC frames. One per thread of use: it owns a scratch buffer. */
export class PaymentEventEncoder {
  private buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  private pos = 0;

  /** The event's frame (flags byte 0, its length as u32 big-endian, its bytes) in a Buffer of its own. */
  frame(event: PaymentEvent): Buffer {
    const payment = event.payment;
    this.pos = FRAME_HEADER_BYTES;
    if (
      hasUnknownFields(event) ||
      hasUnknownFields(event.kafkaTimestamp) ||
      hasUnknownFields(payment) ||
      timestampsHaveUnknownFields(payment?.source)
    ) {
      const bytes = toBinary(PaymentEventSchema, event);
      this.ensure(bytes.byteLength);
      this.buffer.set(bytes, this.pos);
      this.pos += bytes.byteLength;
    } else {
      this.writeEvent(event);
    }
    const length = this.pos - FRAME_HEADER_BYTES;
    const buffer = this.buffer;
    buffer[0] = 0;
    buffer.writeUInt32BE(length, 1);
    // Sized to the frame (from Node's shared pool when small): the scratch buffer is reused at once.
    const frame = Buffer.allocUnsafe(this.pos);
    buffer.copy(frame, 0, 0, this.pos);
    return frame;
  }

  private writeEvent(event: PaymentEvent): void {
    if (event.payment !== undefined) {
      this.tag(EVENT_PAYMENT);
      // Most payments take 128 to 16,383 bytes: a two-byte length prefix, moved when wrong.
      const start = this.reserve(2);
      this.writePayment(event.payment);
      this.join(start, 2);
    }
    this.stringField(EVENT_TYPE, event.eventType);
    this.stringField(EVENT_TOPIC, event.topic);
    this.int32Field(EVENT_PARTITION, event.partition);
    this.int64Field(EVENT_OFFSET, event.offset);
    if (event.kafkaTimestamp !== undefined) this.timestampField(EVENT_KAFKA_TIMESTAMP, event.kafkaTimestamp);
    this.stringField(EVENT_CURSOR, event.cursor);
    this.int32Field(EVENT_FOLDED_UPDATES, event.foldedUpdates);
  }

  private writePayment(payment: Payment): void {
    this.stringField(PAYMENT_ID, payment.id);
    this.int32Field(PAYMENT_PROVIDER, payment.provider);
    // Implicit presence compares with Object.is: -0 is written, as toBinary does.
    if (!Object.is(payment.amount, 0)) {
      this.tag(PAYMENT_AMOUNT);
      this.ensure(8);
      this.buffer.writeDoubleLE(payment.amount, this.pos);
      this.pos += 8;
    }
    this.stringField(PAYMENT_CURRENCY, payment.currency);
    this.int32Field(PAYMENT_STATUS, payment.status);
    this.stringField(PAYMENT_CUSTOMER_EMAIL, payment.customerEmail);
    this.int64Field(PAYMENT_CREATED_AT, payment.createdAt);
    this.int64Field(PAYMENT_PROCESSED_AT, payment.processedAt);
    const metadata = payment.metadata;
    // Object.keys, as toBinary iterates a map: integer-like keys first, then insertion order.
    const keys = Object.keys(metadata);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      this.tag(PAYMENT_METADATA);
      const start = this.reserve(1);
      // A map entry writes its key and value even when empty.
      this.tag(MAP_KEY);
      this.string(key);
      this.tag(MAP_VALUE);
      this.string(metadata[key] as string);
      this.join(start, 1);
    }
    this.int64Field(PAYMENT_AMOUNT_MINOR, payment.amountMinor);
    if (payment.source !== undefined) {
      this.tag(PAYMENT_SOURCE);
      const start = this.reserve(1);
      this.writeSource(payment.source);
      this.join(start, 1);
    }
  }

  private writeSource(source: PaymentSource): void {
    this.stringField(SOURCE_TOPIC, source.topic);
    this.int32Field(SOURCE_PARTITION, source.partition);
    this.int64Field(SOURCE_OFFSET, source.offset);
    if (source.kafkaTimestamp !== undefined)
      this.timestampField(SOURCE_KAFKA_TIMESTAMP, source.kafkaTimestamp);
    if (source.firstSeen !== undefined) this.timestampField(SOURCE_FIRST_SEEN, source.firstSeen);
    if (source.lastSeen !== undefined) this.timestampField(SOURCE_LAST_SEEN, source.lastSeen);
  }

  private timestampField(tag: number, timestamp: Timestamp): void {
    this.tag(tag);
    const start = this.reserve(1);
    this.int64Field(TIMESTAMP_SECONDS, timestamp.seconds);
    this.int32Field(TIMESTAMP_NANOS, timestamp.nanos);
    this.join(start, 1);
  }

  private stringField(tag: number, value: string): void {
    if (value === "") return;
    this.tag(tag);
    this.string(value);
  }

  private int32Field(tag: number, value: number): void {
    if (value === 0) return;
    this.tag(tag);
    this.int32(value);
  }

  private int64Field(tag: number, value: bigint): void {
    if (value === 0n) return;
    this.tag(tag);
    this.int64(value);
  }

  private ensure(bytes: number): void {
    const required = this.pos + bytes;
    if (required <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < required) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.pos);
    this.buffer = grown;
  }

  /** Room for a length prefix of `bytes` bytes; returns where it starts. */
  private reserve(bytes: number): number {
    this.ensure(bytes);
    const start = this.pos;
    this.pos += bytes;
    return start;
  }

  /** Writes the length of what follows the reserved prefix, moving it when the prefix is not `reserved` long. */
  private join(start: number, reserved: number): void {
    const length = this.pos - start - reserved;
    const size = varint32Size(length);
    if (size !== reserved) {
      this.ensure(size - reserved);
      this.buffer.copyWithin(start + size, start + reserved, this.pos);
      this.pos += size - reserved;
    }
    this.varint32At(start, length);
  }

  private tag(tag: number): void {
    this.ensure(5);
    this.varint32At(this.pos, tag);
    this.pos += varint32Size(tag);
  }

  private varint32At(at: number, value: number): void {
    const buffer = this.buffer;
    while (value > 0x7f) {
      buffer[at++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buffer[at] = value;
  }

  private int32(value: number): void {
    if ((value | 0) !== value) throw new Error(`cannot encode ${value} as int32`);
    this.ensure(10);
    if (value >= 0) {
      this.varint32At(this.pos, value);
      this.pos += varint32Size(value);
      return;
    }
    // Negative: sign-extended to 64 bits, ten bytes.
    const buffer = this.buffer;
    for (let i = 0; i < 9; i++) {
      buffer[this.pos++] = (value & 0x7f) | 0x80;
      value >>= 7;
    }
    buffer[this.pos++] = 1;
  }

  private int64(big: bigint): void {
    this.ensure(10);
    // One conversion instead of BigInt comparisons: it is exact, and so a safe integer, exactly
    // when the value lies within ±(2^53 - 1), as offsets, seconds and amounts do.
    const number = Number(big);
    if (Number.isSafeInteger(number)) {
      if (number >= 0 && number <= 0x7fffffff) {
        this.varint32At(this.pos, number);
        this.pos += varint32Size(number);
        return;
      }
      // Two's complement halves of a safe integer, without BigInt arithmetic.
      const hi = Math.floor(number / TWO_32);
      this.varint64(number - hi * TWO_32, hi >>> 0);
      return;
    }
    if (big < INT64_MIN || big > INT64_MAX) throw new Error(`cannot encode ${big} as int64`);
    const unsigned = BigInt.asUintN(64, big);
    this.varint64(Number(unsigned & 0xffffffffn), Number(unsigned >> 32n));
  }

  /** An unsigned 64-bit varint from its low and high 32 bits (both unsigned). */
  private varint64(lo: number, hi: number): void {
    const buffer = this.buffer;
    while (hi > 0 || lo > 0x7f) {
      buffer[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | ((hi & 0x7f) << 25)) >>> 0;
      hi >>>= 7;
    }
    buffer[this.pos++] = lo;
  }

  private string(value: string): void {
    const length = value.length;
    if (length < ASCII_MAX_LENGTH) {
      this.ensure(length + 1);
      const buffer = this.buffer;
      let at = this.pos + 1;
      let i = 0;
      for (; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code > 0x7f) break;
        buffer[at++] = code;
      }
      if (i === length) {
        buffer[this.pos] = length;
        this.pos = at;
        return;
      }
    }
    // At most three UTF-8 bytes per UTF-16 unit (a lone surrogate becomes U+FFFD, as TextEncoder
    // writes it); the prefix is guessed from the UTF-16 length and moved when the guess was short.
    this.ensure(length * 3 + 5);
    const guess = varint32Size(length);
    const written = this.buffer.write(value, this.pos + guess, "utf8");
    const size = varint32Size(written);
    if (size !== guess) {
      this.buffer.copyWithin(this.pos + size, this.pos + guess, this.pos + guess + written);
    }
    this.varint32At(this.pos, written);
    this.pos += size + written;
  }
}
