// An in-process PaymentStore: fast, and gone on restart. Tests and benchmarks of the stream path
// use it. It follows the same contract as the SQLite store (test/server/store/).
import { decodePageCursor, encodePageCursor } from "./page-cursor.js";
import {
  isNewerState,
  type ListPage,
  type ListQuery,
  matchesFilter,
  ofTenant,
  type PaymentFilter,
  type PaymentQuery,
  type PaymentStore,
  type Retention,
  type StoredPayment,
} from "./payment-store.js";

interface Entry {
  /** First-seen order; an update keeps it, so list cursors stay valid. */
  sequence: number;
  stored: StoredPayment & { firstSeenMs: number; lastSeenMs: number };
}

function matchesQuery(stored: StoredPayment, query: PaymentQuery, email: string | undefined): boolean {
  const { payment, source } = stored;
  if (query.topic && source.topic !== query.topic) return false;
  if (query.topics && !query.topics.includes(source.topic)) return false;
  if (query.tenant && !ofTenant(payment, query.tenant)) return false;
  if (query.providers?.length && !query.providers.includes(payment.provider)) return false;
  if (query.statuses?.length && !query.statuses.includes(payment.status)) return false;
  if (query.currency && payment.currency !== query.currency) return false;
  if (email !== undefined && payment.customerEmail.toLowerCase() !== email) return false;
  if (query.createdFrom !== undefined && payment.createdAt < query.createdFrom) return false;
  if (query.createdTo !== undefined && payment.createdAt >= query.createdTo) return false;
  if (query.minAmountMinor !== undefined && payment.amountMinor < query.minAmountMinor) return false;
  if (query.maxAmountMinor !== undefined && payment.amountMinor > query.maxAmountMinor) return false;
  return true;
}

export class MemoryPaymentStore implements PaymentStore {
  // A Map iterates in insertion order and `set` on an existing key keeps its place: iteration
  // order is first-seen order.
  private readonly entries = new Map<string, Entry>();
  private nextSequence = 1;
  private closed = false;

  /** `now` is when a write happens (ms since epoch); tests may pin it. */
  constructor(
    private readonly retention: Retention,
    private readonly now: () => number = Date.now,
  ) {}

  async upsert(batch: readonly StoredPayment[]): Promise<void> {
    const nowMs = this.now();
    for (const record of batch) {
      const current = this.entries.get(record.payment.id);
      if (current && !isNewerState(record, current.stored)) continue;
      const stored = {
        payment: record.payment,
        source: { ...record.source },
        firstSeenMs: current?.stored.firstSeenMs ?? nowMs,
        lastSeenMs: nowMs,
      };
      if (current) current.stored = stored;
      else this.entries.set(record.payment.id, { sequence: this.nextSequence++, stored });
    }
  }

  async get(id: string): Promise<StoredPayment | undefined> {
    return this.entries.get(id)?.stored;
  }

  async list(query: ListQuery): Promise<ListPage> {
    const before = query.cursor ? decodePageCursor(query.cursor) : Number.POSITIVE_INFINITY;
    const email = query.customerEmail ? query.customerEmail.toLowerCase() : undefined;
    const all = [...this.entries.values()];
    const page: Entry[] = [];
    let totalCount = 0;
    let more = false;
    for (let i = all.length - 1; i >= 0; i--) {
      const entry = all[i] as Entry;
      if (!matchesQuery(entry.stored, query, email)) continue;
      totalCount++;
      if (entry.sequence >= before) continue;
      if (page.length < query.limit) page.push(entry);
      else more = true;
    }
    const last = page.at(-1);
    return {
      payments: page.map((entry) => entry.stored),
      nextCursor: more && last ? encodePageCursor(last.sequence) : "",
      totalCount,
    };
  }

  async recent(filter: PaymentFilter & { topic: string }, limit: number): Promise<StoredPayment[]> {
    const found: StoredPayment[] = [];
    if (limit <= 0) return found;
    const all = [...this.entries.values()];
    for (let i = all.length - 1; i >= 0 && found.length < limit; i--) {
      const { stored } = all[i] as Entry;
      if (matchesFilter(stored, filter)) found.push(stored);
    }
    return found.reverse();
  }

  async topics(): Promise<string[]> {
    const topics = new Set<string>();
    for (const { stored } of this.entries.values()) topics.add(stored.source.topic);
    return [...topics];
  }

  async enforceRetention(nowMs: number): Promise<number> {
    const cutoff = nowMs - this.retention.maxAgeMs;
    let deleted = 0;
    for (const [id, entry] of this.entries) {
      if (entry.stored.lastSeenMs < cutoff) {
        this.entries.delete(id);
        deleted++;
      }
    }
    for (const id of this.entries.keys()) {
      if (this.entries.size <= this.retention.maxPayments) break;
      this.entries.delete(id);
      deleted++;
    }
    return deleted;
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error("payment store is closed");
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
