// What the live table and charts show, kept outside the UI framework: events are queued as they
// arrive and applied once per animation frame, so 5,000 events/s cost one render per frame, not
// 5,000. At most `maxRows` rows are kept (the oldest drop off); while paused, arrivals wait in a
// buffer of the same bound and are counted.
import type { PaymentEvent } from "../../../gen/payment/payment_pb.js";
import { providerName, statusName } from "../format/labels.js";
import { majorUnits } from "../format/money.js";
import type { Filters } from "../state/url-state.js";
import { RingBuffer } from "./ring-buffer.js";

export interface LiveRow {
  /** Arrival order in this view, unique: the row's key. */
  seq: number;
  event: PaymentEvent;
  existing: boolean;
  arrivedAt: number;
}

/** Rows to show, newest first, read by index (the table reads only the ones in view). */
export interface RowsView {
  readonly length: number;
  at(index: number): LiveRow | undefined;
}

export interface SecondBucket {
  second: number;
  events: number;
  /** Sum of amounts in major units, per currency. */
  amounts: Map<string, number>;
}

const SECONDS_KEPT = 120;

export class LiveModel {
  readonly rows: RingBuffer<LiveRow>;
  private readonly waiting: RingBuffer<LiveRow>;
  private incoming: PaymentEvent[] = [];
  private frameRequested = false;
  private lastApply = Number.NEGATIVE_INFINITY;
  private seq = 0;
  private listeners = new Set<() => void>();
  private filtered: { version: number; key: string; view: RowsView } | undefined;
  private readonly seconds: SecondBucket[] = [];
  /** Bumped on every change the UI should show. */
  version = 0;
  paused = false;
  /** Events that arrived while paused (more than the buffer keeps, when it overflowed). */
  waitingCount = 0;
  received = 0;
  /** Updates pa folded into newer ones while this browser was behind (DELIVERY_LATEST). */
  folded = 0;
  /** Every currency seen on this stream, for the currency filter's suggestions. */
  readonly currencies = new Set<string>();

  constructor(
    readonly maxRows: number,
    /** When to apply queued events: the browser's next animation frame. */
    private readonly schedule: (callback: () => void) => unknown,
    /**
     * At least this long between two applies: at thousands of events a second nobody reads the
     * rows faster, and every apply costs a render. A lone event still shows on the next frame.
     */
    private readonly minApplyGapMs = 0,
    private readonly now: () => number = Date.now,
  ) {
    this.rows = new RingBuffer(maxRows);
    this.waiting = new RingBuffer(maxRows);
  }

  add(event: PaymentEvent): void {
    this.incoming.push(event);
    if (!this.frameRequested) {
      this.frameRequested = true;
      this.schedule(() => this.flush());
    }
  }

  /** Applies everything queued since the last frame. */
  flush(): void {
    this.frameRequested = false;
    const batch = this.incoming;
    if (batch.length === 0) return;
    const now = this.now();
    if (now - this.lastApply < this.minApplyGapMs) {
      this.frameRequested = true;
      this.schedule(() => this.flush());
      return;
    }
    this.lastApply = now;
    this.incoming = [];
    const bucket = this.bucketFor(Math.floor(now / 1000));
    for (const event of batch) {
      const row: LiveRow = {
        seq: ++this.seq,
        event,
        existing: event.eventType === "existing",
        arrivedAt: now,
      };
      this.received++;
      this.folded += event.foldedUpdates;
      if (event.payment) this.currencies.add(event.payment.currency);
      if (!row.existing) {
        bucket.events++;
        const payment = event.payment;
        if (payment) {
          const amount = majorUnits(payment.amountMinor, payment.amount);
          bucket.amounts.set(payment.currency, (bucket.amounts.get(payment.currency) ?? 0) + amount);
        }
      }
      if (this.paused) {
        this.waiting.push(row);
        this.waitingCount++;
      } else {
        this.rows.push(row);
      }
    }
    this.changed();
  }

  pause(): void {
    this.paused = true;
    this.changed();
  }

  resume(): void {
    // Oldest first, so the newest waiting row ends up on top.
    const waiting = [...this.waiting].reverse();
    for (const row of waiting) this.rows.push(row);
    this.waiting.clear();
    this.waitingCount = 0;
    this.paused = false;
    this.changed();
  }

  /**
   * Rows matching the filters, newest first. Without filters it reads the ring buffer in place
   * (nothing copied per frame); with filters the matches are collected at most once per change.
   */
  view(filters: Filters): RowsView {
    if (!filters.provider && !filters.status && !filters.currency.trim() && !filters.text.trim()) {
      const rows = this.rows;
      return { length: rows.length, at: (index) => rows.newest(index) };
    }
    const key = JSON.stringify(filters);
    if (this.filtered && this.filtered.version === this.version && this.filtered.key === key) {
      return this.filtered.view;
    }
    const match = rowFilter(filters);
    const rows: LiveRow[] = [];
    for (const row of this.rows) if (match(row)) rows.push(row);
    const view: RowsView = { length: rows.length, at: (index) => rows[index] };
    this.filtered = { version: this.version, key, view };
    return view;
  }

  /** Per-second figures of the last two minutes, oldest first. */
  recentSeconds(): readonly SecondBucket[] {
    return this.seconds;
  }

  /** Every row kept for one payment id, newest first: its history on this stream. */
  historyOf(paymentId: string): LiveRow[] {
    const found: LiveRow[] = [];
    for (const row of this.rows) if (row.event.payment?.id === paymentId) found.push(row);
    return found;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.version++;
    for (const listener of this.listeners) listener();
  }

  private bucketFor(second: number): SecondBucket {
    const last = this.seconds.at(-1);
    if (last?.second === second) return last;
    const bucket: SecondBucket = { second, events: 0, amounts: new Map() };
    this.seconds.push(bucket);
    if (this.seconds.length > SECONDS_KEPT) this.seconds.shift();
    return bucket;
  }
}

export function rowFilter(filters: Filters): (row: LiveRow) => boolean {
  const text = filters.text.trim().toLowerCase();
  const currency = filters.currency.trim().toUpperCase();
  return (row) => {
    const payment = row.event.payment;
    if (!payment) return false;
    if (filters.provider && providerName(payment.provider) !== filters.provider) return false;
    if (filters.status && statusName(payment.status) !== filters.status) return false;
    if (currency && payment.currency !== currency) return false;
    if (
      text &&
      !payment.id.toLowerCase().includes(text) &&
      !payment.customerEmail.toLowerCase().includes(text)
    ) {
      return false;
    }
    return true;
  };
}
