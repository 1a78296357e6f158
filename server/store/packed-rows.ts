// Payments cross from the event loop to the SQLite writer thread as one ArrayBuffer per batch,
// transferred, not copied: posting an array of row arrays structured-cloned every string and
// number of every row on the event loop and again into the writer's heap. The writer thread
// (sqlite-writer-thread.ts) decodes them with decodePackedRows.
//
// Layout, little-endian: u32 row count, then per row provider, status, partition (i32 each),
// offset, Kafka timestamp, amount (f64 each), amount_minor, created_at, processed_at (i64 each),
// then id, topic, currency, customer_email and the metadata as JSON, each a u32 byte length and
// its UTF-8 bytes.
import type { StoredPayment } from "./payment-store.js";

/** One payment as the writer thread reads it. */
export interface PackedRow {
  provider: number;
  status: number;
  partition: number;
  offset: number;
  kafkaTimestampMs: number;
  amount: number;
  amountMinor: bigint;
  createdAt: bigint;
  processedAt: bigint;
  id: string;
  topic: string;
  currency: string;
  customerEmail: string;
  /** The payment's metadata as JSON text. */
  metadata: string;
}

const fixedBytes = 3 * 4 + 3 * 8 + 3 * 8;
const textFields = 5;

/**
 * Calls `visit` with each row of a buffer from encodePackedRows, in order, reusing one object (copy
 * what must outlive the call); returns the number of rows.
 */
export function decodePackedRows(buffer: ArrayBuffer, visit: (row: PackedRow) => void): number {
  const view = new DataView(buffer);
  const bytes = Buffer.from(buffer);
  let at = 4;
  const text = () => {
    const length = view.getUint32(at, true);
    const start = at + 4;
    at = start + length;
    return bytes.toString("utf8", start, at);
  };
  // One object, refilled per row: the visitor reads it before the next row is decoded.
  const row: PackedRow = {
    provider: 0,
    status: 0,
    partition: 0,
    offset: 0,
    kafkaTimestampMs: 0,
    amount: 0,
    amountMinor: 0n,
    createdAt: 0n,
    processedAt: 0n,
    id: "",
    topic: "",
    currency: "",
    customerEmail: "",
    metadata: "",
  };
  const count = view.getUint32(0, true);
  for (let i = 0; i < count; i++) {
    row.provider = view.getInt32(at, true);
    row.status = view.getInt32(at + 4, true);
    row.partition = view.getInt32(at + 8, true);
    row.offset = view.getFloat64(at + 12, true);
    row.kafkaTimestampMs = view.getFloat64(at + 20, true);
    row.amount = view.getFloat64(at + 28, true);
    row.amountMinor = view.getBigInt64(at + 36, true);
    row.createdAt = view.getBigInt64(at + 44, true);
    row.processedAt = view.getBigInt64(at + 52, true);
    at += fixedBytes;
    row.id = text();
    row.topic = text();
    row.currency = text();
    row.customerEmail = text();
    row.metadata = text();
    visit(row);
  }
  return count;
}

/** The batch as one buffer, ready to be transferred to the writer thread. */
export function encodePackedRows(batch: readonly StoredPayment[]): ArrayBuffer {
  const metadata = batch.map((stored) => JSON.stringify(stored.payment.metadata));
  // UTF-8 takes at most 3 bytes per UTF-16 code unit; the unused tail is simply never read.
  let capacity = 4;
  batch.forEach(({ payment, source }, i) => {
    const chars =
      payment.id.length +
      source.topic.length +
      payment.currency.length +
      payment.customerEmail.length +
      (metadata[i]?.length ?? 0);
    capacity += fixedBytes + 4 * textFields + 3 * chars;
  });
  const buffer = new ArrayBuffer(capacity);
  const view = new DataView(buffer);
  // A Buffer over the same memory: its native UTF-8 write is several times faster than copying
  // the (mostly ASCII) text byte by byte in JavaScript, which profiles put at 2 us per row.
  const bytes = Buffer.from(buffer);
  let at = 4;
  const text = (value: string) => {
    const length = bytes.write(value, at + 4, "utf8");
    view.setUint32(at, length, true);
    at += 4 + length;
  };
  view.setUint32(0, batch.length, true);
  batch.forEach(({ payment, source }, i) => {
    view.setInt32(at, payment.provider, true);
    view.setInt32(at + 4, payment.status, true);
    view.setInt32(at + 8, source.partition, true);
    view.setFloat64(at + 12, source.offset, true);
    view.setFloat64(at + 20, source.kafkaTimestampMs, true);
    view.setFloat64(at + 28, payment.amount, true);
    view.setBigInt64(at + 36, payment.amountMinor, true);
    view.setBigInt64(at + 44, payment.createdAt, true);
    view.setBigInt64(at + 52, payment.processedAt, true);
    at += fixedBytes;
    text(payment.id);
    text(source.topic);
    text(payment.currency);
    text(payment.customerEmail);
    text(metadata[i] ?? "{}");
  });
  return buffer;
}
