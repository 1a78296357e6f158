// The store keeps the latest state of every processed payment. The sidecar writes a batch before
// it fans the batch out, so a client that was sent an event finds its payment with GetPayment.
import type { Payment, PaymentStatus, Provider } from "../../gen/payment/payment_pb.js";

/** Where in Kafka a payment's latest state came from. */
export interface PaymentSource {
  topic: string;
  partition: number;
  offset: number;
  kafkaTimestampMs: number;
}

export interface StoredPayment {
  payment: Payment;
  source: PaymentSource;
}

export interface PaymentFilter {
  topic?: string;
  provider?: Provider;
  status?: PaymentStatus;
}

export interface ListQuery extends PaymentFilter {
  limit: number;
  /** An opaque cursor from a previous page's nextCursor. */
  cursor?: string;
}

export interface ListPage {
  payments: StoredPayment[];
  nextCursor: string;
  totalCount: number;
}

export class InvalidCursorError extends Error {
  override readonly name = "InvalidCursorError";
}

export interface PaymentStore {
  /** Idempotent: writing the same records again changes nothing; an older record never wins. */
  upsert(batch: readonly StoredPayment[]): Promise<void>;
  get(id: string): Promise<StoredPayment | undefined>;
  /** Newest first. */
  list(query: ListQuery): Promise<ListPage>;
  /** The `limit` most recent payments of a topic matching the filter, returned oldest first. */
  recent(filter: PaymentFilter & { topic: string }, limit: number): Promise<StoredPayment[]>;
  close(): Promise<void>;
}

/**
 * Whether `candidate` is a newer state than `current`: by offset within one partition, by event
 * time (then Kafka time) across partitions and topics. Equal records are not newer, which makes
 * replays no-ops.
 */
export function isNewerState(candidate: StoredPayment, current: StoredPayment): boolean {
  const a = candidate.source;
  const b = current.source;
  if (a.topic === b.topic && a.partition === b.partition) return a.offset > b.offset;
  if (candidate.payment.createdAt !== current.payment.createdAt) {
    return candidate.payment.createdAt > current.payment.createdAt;
  }
  return a.kafkaTimestampMs > b.kafkaTimestampMs;
}

export function matchesFilter(stored: StoredPayment, filter: PaymentFilter): boolean {
  if (filter.topic !== undefined && stored.source.topic !== filter.topic) return false;
  if (filter.provider !== undefined && stored.payment.provider !== filter.provider) return false;
  if (filter.status !== undefined && stored.payment.status !== filter.status) return false;
  return true;
}
