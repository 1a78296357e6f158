// One StreamPayments call: its filter, a bounded queue of events waiting to be written, and its
// position in every partition. Per partition it is either attached to the topic's shared live feed
// or lagging: then `lagging` holds the next offset it needs, and a catch-up reader brings it from
// Kafka until it meets the feed again. So a slow client never slows the others, never grows memory
// past its queue, and never loses an event.
import type { Payment, PaymentEvent, PaymentStatus, Provider } from "../../gen/payment/payment_pb.js";
import { ofTenant, type TenantFilter } from "../store/payment-store.js";
import type { QueueBudget } from "./queue-budget.js";

export interface StreamFilter {
  provider?: Provider;
  status?: PaymentStatus;
  /** A tenant-bound caller: only payments whose metadata names its tenant. */
  tenant?: TenantFilter;
  /**
   * What the caller sees of each event (PII masking); absent: the event as it is. It must return
   * the same object for the same event, so that one encoding serves every stream that shares it.
   */
  view?: (event: PaymentEvent) => PaymentEvent;
}

/** Who holds a stream, for GetTopics' slowest subscriber: never a metric label. */
export interface SubscriberInfo {
  /** The client's address and port as pa's socket sees it (a proxy's, behind one). */
  peer: string;
  /** The caller's identity name ("anonymous" without authentication). */
  identity: string;
}

export const UNKNOWN_SUBSCRIBER: SubscriberInfo = Object.freeze({ peer: "", identity: "" });

export class Subscription {
  /** partition -> next offset this subscriber needs, for partitions detached from the live feed. */
  readonly lagging = new Map<number, number>();
  /** partition -> first offset wanted from the live feed, where that is ahead of the feed. */
  readonly from = new Map<number, number>();
  /** Set while a catch-up reader works for this subscriber. */
  catchingUp = false;
  /** The cursor of the last event handed to the client. */
  lastCursor = "";
  delivered = 0;
  /**
   * From the Kafka timestamp of the last event written to the client to the moment it was written;
   * undefined until one was.
   */
  deliveryLatencyMs: number | undefined;

  private queue: PaymentEvent[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private endedWith: { error?: Error } | undefined;
  private closed = false;
  private readonly drainListeners = new Set<() => void>();

  constructor(
    readonly topic: string,
    readonly filter: StreamFilter,
    readonly capacity: number,
    private readonly onClose: (subscription: Subscription) => void,
    /** Shared by every subscription: STREAM_QUEUE_EVENTS_TOTAL. */
    private readonly budget: QueueBudget,
    readonly subscriber: SubscriberInfo = UNKNOWN_SUBSCRIBER,
  ) {}

  /** Attached to the live feed on every partition with no pending start offset: shares its events. */
  get isSimple(): boolean {
    return this.lagging.size === 0 && this.from.size === 0;
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  get isOpen(): boolean {
    return !this.closed && !this.endedWith;
  }

  hasRoom(): boolean {
    return this.room() > 0;
  }

  /** Events this queue may take now: its own bound, and what is left of all queues' together. */
  room(): number {
    return Math.max(0, Math.min(this.capacity - this.queued, this.budget.available));
  }

  /** Resolves when the queue has room again, by its own bound and the shared one (or it closed). */
  async roomAvailable(): Promise<void> {
    await this.drained();
    if (!this.closed) await this.budget.whenAvailable();
  }

  accepts(payment: Payment): boolean {
    if (this.filter.provider !== undefined && payment.provider !== this.filter.provider) return false;
    if (this.filter.status !== undefined && payment.status !== this.filter.status) return false;
    if (this.filter.tenant && !ofTenant(payment, this.filter.tenant)) return false;
    return true;
  }

  push(event: PaymentEvent): void {
    this.queue.push(this.filter.view ? this.filter.view(event) : event);
    this.budget.add(1);
    const wake = this.wake;
    if (wake) {
      this.wake = undefined;
      wake();
    }
  }

  /** Ends the stream after the queued events; with an error, the client receives it last. */
  end(error?: Error): void {
    if (this.endedWith) return;
    this.endedWith = error ? { error } : {};
    this.wake?.();
  }

  /** Releases the subscription at once (client gone, or stream finished). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.budget.release(this.queued);
    this.queue = [];
    this.head = 0;
    this.wake?.();
    for (const listener of this.drainListeners) listener();
    this.drainListeners.clear();
    this.onClose(this);
  }

  /** Resolves when the queue is at most half full again (or the subscription closed). */
  drained(): Promise<void> {
    if (this.closed || this.queued <= this.capacity / 2) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = () => {
        this.drainListeners.delete(listener);
        resolve();
      };
      this.drainListeners.add(listener);
    });
  }

  /**
   * Takes up to `max` queued events, in order, and counts them as delivered: the native gRPC path
   * writes them to the client as one chunk. Empty when nothing is queued.
   */
  take(max: number): PaymentEvent[] {
    const count = Math.min(max, this.queue.length - this.head);
    if (count <= 0 || this.closed) return [];
    const taken = this.queue.slice(this.head, this.head + count);
    this.head += count;
    this.budget.release(count);
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.drainListeners.size > 0 && this.queued <= this.capacity / 2) {
      for (const listener of [...this.drainListeners]) listener();
    }
    for (let i = taken.length - 1; i >= 0; i--) {
      const cursor = (taken[i] as PaymentEvent).cursor;
      if (cursor) {
        this.lastCursor = cursor;
        break;
      }
    }
    this.delivered += taken.length;
    return taken;
  }

  /** Called where an event is written to the client (see PaymentStream.sent). */
  recordDeliveryLatency(latencyMs: number): void {
    this.deliveryLatencyMs = latencyMs;
  }

  /** Resolves when events are queued, or the subscription ended or closed. */
  waitForEvents(): Promise<void> {
    if (this.closed || this.endedWith || this.head < this.queue.length) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  /**
   * After the queue ran dry: undefined while the stream goes on, else how it ends (`error`
   * undefined for a normal end). A closed subscription ends without error: its client is gone.
   */
  get ending(): { error?: Error } | undefined {
    if (this.closed) return {};
    return this.head < this.queue.length ? undefined : this.endedWith;
  }

  /** The events in order, for the RPC handler to yield; ends when the subscription ends or closes. */
  async *events(): AsyncGenerator<PaymentEvent> {
    for (;;) {
      const [event] = this.take(1);
      if (event) {
        yield event;
        continue;
      }
      const ending = this.ending;
      if (ending) {
        if (ending.error) throw ending.error;
        return;
      }
      await this.waitForEvents();
    }
  }
}
