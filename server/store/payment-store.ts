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
  /** When pa first and last wrote this payment (ms since epoch); set by the store on reads. */
  firstSeenMs?: number;
  lastSeenMs?: number;
}

/** A tenant-bound identity's view: payments whose `metadata[key]` is exactly `value`. */
export interface TenantFilter {
  /** TENANT_METADATA_KEY. */
  key: string;
  value: string;
}

/** What streams filter on (one provider, one status) and what their snapshot is scoped to. */
export interface PaymentFilter {
  topic?: string;
  provider?: Provider;
  status?: PaymentStatus;
  tenant?: TenantFilter;
}

/** ListPayments' filters; every field set must match. */
export interface PaymentQuery {
  topic?: string;
  /** Only these topics (the ones the caller may see); empty: none. Absent: any topic. */
  topics?: readonly string[];
  tenant?: TenantFilter;
  /** Any of these (empty or absent: any provider). */
  providers?: Provider[];
  statuses?: PaymentStatus[];
  /** Upper-case ISO 4217 code. */
  currency?: string;
  /** Compared case-insensitively. */
  customerEmail?: string;
  /** created_at (unix seconds) in [createdFrom, createdTo). */
  createdFrom?: bigint;
  createdTo?: bigint;
  /** amount_minor in [minAmountMinor, maxAmountMinor]. */
  minAmountMinor?: bigint;
  maxAmountMinor?: bigint;
}

export interface ListQuery extends PaymentQuery {
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
  /**
   * Newest first: by the order in which pa first saw each payment, so that a page cursor stays
   * correct while payments keep arriving or changing (no duplicate, no skip).
   */
  list(query: ListQuery): Promise<ListPage>;
  /** The `limit` most recent payments of a topic matching the filter, returned oldest first. */
  recent(filter: PaymentFilter & { topic: string }, limit: number): Promise<StoredPayment[]>;
  /** The topics of the stored payments, to resolve a caller's topic globs against. */
  topics(): Promise<string[]>;
  /**
   * Deletes payments last seen before `nowMs - retentionMs` and, beyond the row limit, the ones
   * first seen longest ago. Returns how many were deleted. pa calls it periodically.
   */
  enforceRetention(nowMs: number): Promise<number>;
  /** Resolves when the store can serve; rejects with the reason when it cannot (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Bounds on what a store keeps. */
export interface Retention {
  /** STORE_MAX_PAYMENTS: rows kept at most. */
  maxPayments: number;
  /** STORE_RETENTION: payments not seen for this long are deleted. */
  maxAgeMs: number;
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
  if (filter.tenant && !ofTenant(stored.payment, filter.tenant)) return false;
  return true;
}

/** Whether a payment belongs to the tenant (streams, GetPayment and the memory store ask). */
export function ofTenant(payment: Payment, tenant: TenantFilter): boolean {
  return Object.hasOwn(payment.metadata, tenant.key) && payment.metadata[tenant.key] === tenant.value;
}
