// The real store with its writes held back, passed to startPa's `viewStore` option: what clients
// see while pa's view (the store following the log) lags behind the stream. Reads go straight to
// the store; every write reaches it, only later.
import type { PaymentStore, StoredPayment } from "../../server/store/payment-store.js";

/** A store whose writes wait while the gate is shut, and all go through once it opens. */
export class ViewGate {
  private opened: Promise<void> = Promise.resolve();
  private openNow: (() => void) | undefined;
  /** Writes reaching the store while the gate is shut wait at it. */
  writesHeld = 0;

  shut(): void {
    if (this.openNow) return;
    this.opened = new Promise((resolve) => {
      this.openNow = resolve;
    });
  }

  open(): void {
    this.openNow?.();
    this.openNow = undefined;
  }

  /** Wraps a store: its upserts pass the gate first, and take at least `delayMs` each. */
  wrap(store: PaymentStore, delayMs = 0): PaymentStore {
    const pass = async () => {
      if (this.openNow) {
        this.writesHeld++;
        await this.opened;
      }
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    };
    return new Proxy(store, {
      get(target, property) {
        if (property === "upsert")
          return async (batch: readonly StoredPayment[]) => {
            await pass();
            await target.upsert(batch);
          };
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }
}
