// One StreamPayments call: its filter, a bounded queue of events waiting to be written, and its
// position in every partition. A stream whose encoding is known when it subscribes (native gRPC)
// queues each event with its encoded frame, made once at fan-out for every stream given the same
// event, and its queue is bounded in those bytes (STREAM_BUFFER_BYTES): a client that falls a little
// behind is written from there, and what it reads costs nothing more. Other streams (Connect,
// gRPC-Web) are bounded in events (STREAM_BUFFER_EVENTS). Per partition it is either attached to the topic's shared live feed
// or lagging: then `lagging` holds the next offset it needs, and a catch-up reader brings it from
// Kafka until it meets the feed again. So a slow client never slows the others, never grows memory
// past its queue, and never loses an event. In LATEST delivery the queue holds at most one event per
// payment: a newer state replaces the queued one, leaving a hole that take() skips.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Payment, PaymentEvent, PaymentStatus, Provider } from "../../gen/payment/payment_pb.js";
import type { PaymentFilterExpression } from "../filtering/payment-filter.js";
import { ofTenant, type TenantFilter } from "../store/payment-store.js";
import type { PaymentEventEncoder } from "./payment-event-encoder.js";
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
  /** StreamRequest.filter, compiled. */
  expression?: PaymentFilterExpression;
  /**
   * What the expression sees of a payment: the caller's masked view when it has no `pii` grant, so
   * that filtering reveals nothing the events would not (absent: the payment as it is).
   */
  expressionView?: (payment: Payment) => Payment;
  /**
   * DELIVERY_LATEST: a queued event is replaced by a newer one of the same payment (which goes to
   * the back, so cursors stay in order) and counts the updates it folded.
   */
  latest?: boolean;
}

/** Who holds a stream, for GetTopics' slowest subscriber: never a metric label. */
export interface SubscriberInfo {
  /** The client's address and port as pa's socket sees it (a proxy's, behind one). */
  peer: string;
  /** The caller's identity name ("anonymous" without authentication). */
  identity: string;
}

export const UNKNOWN_SUBSCRIBER: SubscriberInfo = Object.freeze({ peer: "", identity: "" });

/** A queue of encoded frames, bounded in bytes rather than events. */
export interface FrameQueueing {
  /** STREAM_BUFFER_BYTES: the frame bytes this subscriber may have queued. */
  bytes: number;
  /** STREAM_QUEUE_BYTES_TOTAL: the frame bytes queued over all such subscribers. */
  budget: QueueBudget;
  /** Encodes what no fan-out encoded for it (its own cursor, a caught-up or folded event). */
  encoder: PaymentEventEncoder;
  /** Whether an event must be kept beside its frame (a traced one, for its send span). */
  keepsEvent?: (event: PaymentEvent) => boolean;
}

// A queued frame and what the writer needs of its event: the event object itself is not kept
// (unless traced), so the queue's memory is its frames' bytes and a few fields per frame.
interface FrameEntry {
  frame: Buffer;
  cursor: string;
  timestamp: Timestamp | undefined;
  /** LATEST delivery: its payment id, and the updates its event folded. */
  id: string | undefined;
  folds: number;
  event: PaymentEvent | undefined;
}

type Queued = PaymentEvent | FrameEntry;

/** The frames of the events one record became, shared by every stream given the same object. */
export interface SharedFrames {
  frameOf(event: PaymentEvent): Buffer;
}

/** What takeFrames() hands to the native gRPC path: frames as one buffer, and what was sent. */
export interface TakenFrames {
  chunk: Buffer;
  /** Events in the chunk. */
  count: number;
  /** The Kafka timestamp of the last one, for its delivery latency. */
  lastTimestamp: Timestamp | undefined;
  /** Those kept beside their frames (traced ones). */
  events: PaymentEvent[];
}

// Until frames were queued: what one is taken to weigh when a catch-up reader sizes its batch.
const TYPICAL_FRAME_BYTES = 256;
// LATEST delivery on frames: holes compacted once they outnumber the events and this many.
const MIN_COMPACT_HOLES = 1024;

export class Subscription {
  // partition -> next offset this subscriber needs, for partitions detached from the live feed.
  private readonly laggingAt = new Map<number, number>();
  // partition -> first offset wanted from the live feed, where that is ahead of the feed.
  private readonly fromAt = new Map<number, number>();
  private catchUpRunning = false;
  /** The cursor of the last event handed to the client. */
  lastCursor = "";
  delivered = 0;
  /** Payments left out because the filter expression failed on them (e.g. a missing map key). */
  filterErrors = 0;
  /** The most events ever queued at once: what its queue cost at worst (tests, status views). */
  peakQueued = 0;
  /**
   * From the Kafka timestamp of the last event written to the client to the moment it was written;
   * undefined until one was.
   */
  deliveryLatencyMs: number | undefined;

  // PaymentEvents, or FrameEntries for a subscription that queues frames; undefined: folded away.
  private queue: (Queued | undefined)[] = [];
  private head = 0;
  /** Events in the queue (holes left by folding excluded). */
  private count = 0;
  // What the queue holds in its bound's unit (events, or frame bytes), and the bound.
  private used = 0;
  private readonly limit: number;
  private readonly shared: QueueBudget;
  // Frame bytes and frames ever queued: their average sizes a catch-up reader's batch.
  private framedBytes = 0;
  private framedCount = 0;
  /** LATEST delivery: payment id -> its queued event's index in `queue`. */
  private readonly queuedIndex = new Map<string, number>();
  private wake: (() => void) | undefined;
  private endedWith: { error?: Error } | undefined;
  private closed = false;
  private readonly drainListeners = new Set<() => void>();
  private readonly lagListeners = new Set<() => void>();

  constructor(
    readonly topic: string,
    readonly filter: StreamFilter,
    readonly capacity: number,
    private readonly onClose: (subscription: Subscription) => void,
    /** Shared by every subscription that queues events: STREAM_QUEUE_EVENTS_TOTAL. */
    budget: QueueBudget,
    readonly subscriber: SubscriberInfo = UNKNOWN_SUBSCRIBER,
    /** Given: it queues frames, bounded in bytes (`capacity` and `budget` do not apply). */
    private readonly frames?: FrameQueueing,
  ) {
    this.limit = frames ? frames.bytes : capacity;
    this.shared = frames ? frames.budget : budget;
  }

  /** Whether it queues encoded frames (take them with takeFrames). */
  get framed(): boolean {
    return this.frames !== undefined;
  }

  /** Frame bytes queued (0 for a subscription that queues events). */
  get queuedBytes(): number {
    return this.frames ? this.used : 0;
  }

  /** partition -> next offset this subscriber needs, for partitions detached from the live feed. */
  get lagging(): ReadonlyMap<number, number> {
    return this.laggingAt;
  }

  /** partition -> first offset wanted from the live feed, where that is ahead of the feed. */
  get from(): ReadonlyMap<number, number> {
    return this.fromAt;
  }

  /** Where this subscriber starts on a partition, given the live feed's position there. */
  startAt(partition: number, wanted: number, feedNext: number): void {
    if (wanted < feedNext) this.laggingAt.set(partition, wanted);
    else if (wanted > feedNext) this.fromAt.set(partition, wanted);
  }

  /** The live feed reached the offset this subscriber starts at on a partition. */
  reachedStart(partition: number): void {
    this.fromAt.delete(partition);
  }

  /** Its catch-up reader brought it up to (not including) `next` on a lagging partition. */
  caughtUpTo(partition: number, next: number): void {
    this.laggingAt.set(partition, next);
  }

  /** Back on the live feed on a partition, from `wanted` (ahead of the feed: it waits for it). */
  rejoin(partition: number, wanted: number, feedNext: number): void {
    this.laggingAt.delete(partition);
    if (wanted > feedNext) this.fromAt.set(partition, wanted);
  }

  /**
   * The live feed could not queue the event at `offset` (no room): this partition is read again
   * from there for this subscriber alone, by its catch-up reader.
   */
  fellBehind(partition: number, offset: number): void {
    this.laggingAt.set(partition, offset);
    for (const listener of [...this.lagListeners]) listener();
  }

  /**
   * Resolves true as soon as it lags on some partition (at once if it does), false after
   * `waitMs` or once it closed or ended: a catch-up reader that just attached it to the live feed
   * stays open this long for a subscriber that keeps falling behind.
   */
  lagsAgain(waitMs: number): Promise<boolean> {
    if (this.laggingAt.size > 0) return Promise.resolve(this.isOpen);
    if (!this.isOpen) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.lagListeners.delete(done);
        resolve(this.laggingAt.size > 0 && this.isOpen);
      };
      const timer = setTimeout(done, waitMs);
      this.lagListeners.add(done);
    });
  }

  /** Whether a catch-up reader works (or waits to work) for this subscriber. */
  get catchingUp(): boolean {
    return this.catchUpRunning;
  }

  /** Claims the subscriber for a catch-up reader; false when one already has it or it is closed. */
  beginCatchUp(): boolean {
    if (this.catchUpRunning || !this.isOpen) return false;
    this.catchUpRunning = true;
    return true;
  }

  endCatchUp(): void {
    this.catchUpRunning = false;
  }

  /** Attached to the live feed on every partition with no pending start offset: shares its events. */
  get isSimple(): boolean {
    return this.laggingAt.size === 0 && this.fromAt.size === 0;
  }

  get queued(): number {
    return this.count;
  }

  get isOpen(): boolean {
    return !this.closed && !this.endedWith;
  }

  /** Whether an event fits; in LATEST delivery one that folds into a queued event always does. */
  hasRoom(paymentId?: string): boolean {
    if (this.room() > 0) return true;
    return this.filter.latest === true && paymentId !== undefined && this.queuedIndex.has(paymentId);
  }

  /**
   * Events this queue may take now: its own bound, and what is left of all queues' together. In
   * bytes, estimated from the frames queued so far (a frame may pass the bound by its own size).
   */
  room(): number {
    const units = Math.max(0, Math.min(this.limit - this.used, this.shared.available));
    if (!this.frames || units === 0) return units;
    const average = this.framedCount > 0 ? this.framedBytes / this.framedCount : TYPICAL_FRAME_BYTES;
    return Math.max(1, Math.floor(units / average));
  }

  /** Resolves when the queue has room again, by its own bound and the shared one (or it closed). */
  async roomAvailable(): Promise<void> {
    await this.drained();
    if (!this.closed) await this.shared.whenAvailable();
  }

  accepts(payment: Payment): boolean {
    if (this.filter.provider !== undefined && payment.provider !== this.filter.provider) return false;
    if (this.filter.status !== undefined && payment.status !== this.filter.status) return false;
    if (this.filter.tenant && !ofTenant(payment, this.filter.tenant)) return false;
    const { expression, expressionView } = this.filter;
    if (!expression) return true;
    const outcome = expression.evaluate(expressionView ? expressionView(payment) : payment);
    if (outcome === "error") this.filterErrors++;
    return outcome === "match";
  }

  /**
   * Queues an event (as this subscriber sees it). `frames`: the frames fan-out made of this record
   * for every stream, used by one that queues frames; without them it encodes its own.
   */
  push(event: PaymentEvent, frames?: SharedFrames): void {
    const shown = this.filter.view ? this.filter.view(event) : event;
    const before = this.used;
    if (this.filter.latest) this.pushLatest(shown, frames);
    else this.enqueue(shown, this.frameFor(shown, frames), 0);
    // A folded event takes the place of the one it replaced: only the difference is added.
    if (this.used > before) this.shared.add(this.used - before);
    else this.shared.release(before - this.used);
    if (this.count > this.peakQueued) this.peakQueued = this.count;
    const wake = this.wake;
    if (wake) {
      this.wake = undefined;
      wake();
    }
  }

  private frameFor(event: PaymentEvent, frames: SharedFrames | undefined): Buffer | undefined {
    if (!this.frames) return undefined;
    return frames ? frames.frameOf(event) : this.frames.encoder.frame(event);
  }

  private enqueue(event: PaymentEvent, frame: Buffer | undefined, folds: number): void {
    this.count++;
    if (!frame) {
      this.queue.push(event);
      this.used++;
      return;
    }
    this.queue.push({
      frame,
      cursor: event.cursor,
      timestamp: event.kafkaTimestamp,
      id: this.filter.latest ? event.payment?.id : undefined,
      folds,
      event: this.frames?.keepsEvent?.(event) ? event : undefined,
    });
    this.used += frame.byteLength;
    this.framedBytes += frame.byteLength;
    this.framedCount++;
  }

  private idOf(queued: Queued): string | undefined {
    return this.frames ? (queued as FrameEntry).id : (queued as PaymentEvent).payment?.id;
  }

  private pushLatest(event: PaymentEvent, frames: SharedFrames | undefined): void {
    const id = event.payment?.id;
    const previous = id === undefined ? undefined : this.queuedIndex.get(id);
    if (previous === undefined) {
      if (id !== undefined) this.queuedIndex.set(id, this.queue.length);
      this.enqueue(event, this.frameFor(event, frames), 0);
      return;
    }
    const folded = this.queue[previous];
    this.queue[previous] = undefined;
    this.count--;
    let folds = 1;
    if (this.frames) {
      const entry = folded as FrameEntry | undefined;
      this.used -= entry?.frame.byteLength ?? 0;
      folds += entry?.folds ?? 0;
    } else {
      this.used--;
      folds += (folded as PaymentEvent | undefined)?.foldedUpdates ?? 0;
    }
    // A copy: the event itself (and its frame) is shared with every other subscriber.
    const added = { ...event, foldedUpdates: folds };
    this.queuedIndex.set(id as string, this.queue.length);
    this.enqueue(added, this.frameFor(added, undefined), folds);
    // Holes from folding: compact once they outnumber the events, so memory follows the bound.
    const bound = this.frames ? MIN_COMPACT_HOLES : this.capacity;
    if (this.queue.length - this.head > 2 * Math.max(this.count, bound)) this.compact();
  }

  private compact(): void {
    const kept: Queued[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const queued = this.queue[i];
      if (queued) kept.push(queued);
    }
    this.queue = kept;
    this.head = 0;
    this.queuedIndex.clear();
    for (const [i, queued] of kept.entries()) {
      const id = this.idOf(queued);
      if (id !== undefined) this.queuedIndex.set(id, i);
    }
  }

  /** Ends the stream after the queued events; with an error, the client receives it last. */
  end(error?: Error): void {
    if (this.endedWith) return;
    this.endedWith = error ? { error } : {};
    this.wake?.();
    for (const listener of [...this.lagListeners]) listener();
  }

  /** Releases the subscription at once (client gone, or stream finished). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.shared.release(this.used);
    this.queue = [];
    this.head = 0;
    this.count = 0;
    this.used = 0;
    this.queuedIndex.clear();
    this.wake?.();
    for (const listener of this.drainListeners) listener();
    this.drainListeners.clear();
    for (const listener of [...this.lagListeners]) listener();
    this.onClose(this);
  }

  /** Resolves when the queue is at most half full again (or the subscription closed). */
  drained(): Promise<void> {
    if (this.closed || this.used <= this.limit / 2) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = () => {
        this.drainListeners.delete(listener);
        resolve();
      };
      this.drainListeners.add(listener);
    });
  }

  /**
   * Takes up to `max` queued events, in order, and counts them as delivered. Empty when nothing is
   * queued. Not for a subscription that queues frames (takeFrames).
   */
  take(max: number): PaymentEvent[] {
    if (this.frames) throw new Error("a subscription that queues frames is read with takeFrames()");
    return this.takeQueued(max) as PaymentEvent[];
  }

  /**
   * Takes up to `max` queued frames as one buffer, for one write to a native gRPC stream, and
   * counts them as delivered; undefined when nothing is queued.
   */
  takeFrames(max: number): TakenFrames | undefined {
    if (!this.frames) throw new Error("a subscription that queues events is read with take()");
    const taken = this.takeQueued(max) as FrameEntry[];
    const last = taken[taken.length - 1];
    if (!last) return undefined;
    const events: PaymentEvent[] = [];
    for (const entry of taken) if (entry.event) events.push(entry.event);
    const chunk =
      taken.length === 1
        ? last.frame
        : Buffer.concat(
            taken.map((entry) => entry.frame),
            taken.reduce((bytes, entry) => bytes + entry.frame.byteLength, 0),
          );
    return { chunk, count: taken.length, lastTimestamp: last.timestamp, events };
  }

  private takeQueued(max: number): Queued[] {
    if (this.count === 0 || this.closed || max <= 0) return [];
    const taken: Queued[] = [];
    let units = 0;
    while (taken.length < max && this.head < this.queue.length) {
      const queued = this.queue[this.head++];
      if (!queued) continue;
      taken.push(queued);
      units += this.frames ? (queued as FrameEntry).frame.byteLength : 1;
      if (this.filter.latest) {
        const id = this.idOf(queued);
        if (id !== undefined) this.queuedIndex.delete(id);
      }
    }
    this.count -= taken.length;
    this.used -= units;
    this.shared.release(units);
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      if (this.filter.latest) this.compact();
      else {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    }
    if (this.drainListeners.size > 0 && this.used <= this.limit / 2) {
      for (const listener of [...this.drainListeners]) listener();
    }
    for (let i = taken.length - 1; i >= 0; i--) {
      const cursor = (taken[i] as Queued).cursor;
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
    if (this.closed || this.endedWith || this.count > 0) return Promise.resolve();
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
    return this.count > 0 ? undefined : this.endedWith;
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
