// A bounded in-process PaymentStore: fast, and gone on restart. Tests and benchmarks of the stream
// path use it; the oldest payments are dropped beyond maxPayments.
import {
  InvalidCursorError,
  isNewerState,
  type ListPage,
  type ListQuery,
  matchesFilter,
  type PaymentFilter,
  type PaymentStore,
  type StoredPayment,
} from "./payment-store.js";

interface PageCursor {
  createdAt: string;
  id: string;
}

function encodeCursor(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

function decodeCursor(text: string): PageCursor {
  try {
    const value = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as PageCursor;
    if (typeof value.createdAt === "string" && typeof value.id === "string") return value;
  } catch {}
  throw new InvalidCursorError("cursor is not one this server issued; pass a next_cursor unchanged");
}

// Newest first: by created_at descending, then id descending, so pages have a total order.
function newestFirst(a: StoredPayment, b: StoredPayment): number {
  if (a.payment.createdAt !== b.payment.createdAt) return a.payment.createdAt > b.payment.createdAt ? -1 : 1;
  return a.payment.id < b.payment.id ? 1 : a.payment.id > b.payment.id ? -1 : 0;
}

function isAfter(stored: StoredPayment, cursor: PageCursor): boolean {
  const createdAt = BigInt(cursor.createdAt);
  if (stored.payment.createdAt !== createdAt) return stored.payment.createdAt < createdAt;
  return stored.payment.id < cursor.id;
}

export class MemoryPaymentStore implements PaymentStore {
  // Insertion order is recency order: an update moves the payment to the end.
  private readonly payments = new Map<string, StoredPayment>();

  constructor(private readonly maxPayments: number) {}

  async upsert(batch: readonly StoredPayment[]): Promise<void> {
    for (const record of batch) {
      const current = this.payments.get(record.payment.id);
      if (current && !isNewerState(record, current)) continue;
      this.payments.delete(record.payment.id);
      this.payments.set(record.payment.id, record);
    }
    while (this.payments.size > this.maxPayments) {
      const oldest = this.payments.keys().next();
      if (oldest.done) break;
      this.payments.delete(oldest.value);
    }
  }

  async get(id: string): Promise<StoredPayment | undefined> {
    return this.payments.get(id);
  }

  async list(query: ListQuery): Promise<ListPage> {
    const cursor = query.cursor ? decodeCursor(query.cursor) : undefined;
    const matching = [...this.payments.values()].filter((p) => matchesFilter(p, query)).sort(newestFirst);
    const remaining = cursor ? matching.filter((p) => isAfter(p, cursor)) : matching;
    const page = remaining.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor =
      last && remaining.length > page.length
        ? encodeCursor({ createdAt: String(last.payment.createdAt), id: last.payment.id })
        : "";
    return { payments: page, nextCursor, totalCount: matching.length };
  }

  async recent(filter: PaymentFilter & { topic: string }, limit: number): Promise<StoredPayment[]> {
    if (limit <= 0) return [];
    const found: StoredPayment[] = [];
    const all = [...this.payments.values()];
    for (let i = all.length - 1; i >= 0 && found.length < limit; i--) {
      const stored = all[i] as StoredPayment;
      if (matchesFilter(stored, filter)) found.push(stored);
    }
    return found.reverse();
  }

  async close(): Promise<void> {}
}
