// The store as the processing path sees it: writes go through the store's guard (retry, breaker,
// timeout), reads go straight through. Queries from clients use the plain store.
import type {
  ListPage,
  ListQuery,
  PaymentFilter,
  PaymentStore,
  StoredPayment,
} from "../store/payment-store.js";
import type { DependencyGuard } from "./dependency-guard.js";

export class GuardedPaymentStore implements PaymentStore {
  constructor(
    private readonly store: PaymentStore,
    private readonly guard: DependencyGuard,
  ) {}

  upsert(batch: readonly StoredPayment[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    return this.guard.run(() => this.store.upsert(batch));
  }

  get(id: string): Promise<StoredPayment | undefined> {
    return this.store.get(id);
  }

  list(query: ListQuery): Promise<ListPage> {
    return this.store.list(query);
  }

  recent(filter: PaymentFilter & { topic: string }, limit: number): Promise<StoredPayment[]> {
    return this.store.recent(filter, limit);
  }

  topics(): Promise<string[]> {
    return this.store.topics();
  }

  enforceRetention(nowMs: number): Promise<number> {
    return this.store.enforceRetention(nowMs);
  }

  ping(): Promise<void> {
    return this.store.ping();
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
