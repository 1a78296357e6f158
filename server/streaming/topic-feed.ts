// One active topic: the per-message path of pa, top to bottom. A batch of Kafka records is parsed
// and normalized, and each payment is fanned out at once, in partition order, to the subscribers
// attached to the live feed: streams never wait for the store. The store is a view that follows
// the log with its own position per partition (view-positions.ts): on a processed topic the same
// records are queued for it (valid payments stored, invalid records dead-lettered, both
// acknowledged) and only then do the group's offsets move past them, so a crash loses nothing: the
// view replays from the committed offsets, idempotently. A read-only topic has no view.
//
// The view is guarded (server/resilience): a write that still fails after its retries, or whose
// breaker is open, pauses the view, not the streams. Memory stays bounded: with MAX_VIEW_BACKLOG
// records queued for the view, the view stops taking records from the live feed. Whenever the view
// is behind the live feed (after a pause, a take-over, or a burst faster than the store), it reads
// what it missed from Kafka with a reader of its own, at its own pace, and rejoins the live feed
// where it has caught up: streams never wait for the store.
import type { Context } from "@opentelemetry/api";
import { type PaymentEvent, Provider } from "../../gen/payment/payment_pb.js";
import type { DeadLetter } from "../kafka/dead-letter-producer.js";
import type { OwnershipListener } from "../kafka/group-membership.js";
import { traceHeaders } from "../kafka/record-headers.js";
import type { KafkaRecord, LiveRecordSource, PartitionRecordReader } from "../kafka/record-source.js";
import type { Logger } from "../observability/logger.js";
import type { TopicMetrics } from "../observability/metrics.js";
import { BatchTraces } from "../observability/record-traces.js";
import type { Tracing } from "../observability/tracing.js";
import { currencyExponent } from "../payment/currencies.js";
import type { InvalidPayment } from "../payment/invalid-payment.js";
import { formatMinor } from "../payment/money.js";
import { type ParseOutcome, type PaymentRules, parsePayment } from "../payment/parse-payment.js";
import type { BreakerState } from "../resilience/dependency-breaker.js";
import { DependencyUnavailableError } from "../resilience/dependency-unavailable-error.js";
import type { StoredPayment } from "../store/payment-store.js";
import { RecordFrames } from "./event-frames.js";
import { liveEvent } from "./live-event.js";
import { PaymentEventEncoder } from "./payment-event-encoder.js";
import type { CommitOffset, ProcessingPolicy } from "./processing-policy.js";
import { StreamCursorEncoder } from "./stream-cursor.js";
import type { Subscription } from "./subscription.js";
import { type DueCommit, ViewPositions } from "./view-positions.js";

/**
 * What a feed uses of pa's seat in the consumer group (server/kafka/group-membership.ts, which
 * satisfies it): whether the group shares the topic, who owns which partition, and the hand-over
 * commit. The feed's other commits go through its policy's committer.
 */
export interface GroupMembershipView {
  isMember(topic: string): boolean;
  listen(topic: string, listener: OwnershipListener): void;
  unlisten(topic: string): void;
  /** Commits before the revoke completes; throws when the broker refused it. */
  commitSync(offsets: CommitOffset[]): void;
}

export interface TopicFeedDependencies {
  /** Processed (stored, dead-lettered, committed) or read-only. */
  policy: ProcessingPolicy;
  rules: PaymentRules;
  logger: Logger;
  /** This topic's counters, added to once per batch. */
  metrics: TopicMetrics;
  /** Spans for records that carry a traceparent, while tracing is on. */
  tracing: Tracing;
  /** Called when a subscriber's queue overflowed and it now lags on some partition. */
  onLagging: (subscription: Subscription, feed: TopicFeed) => void;
  /**
   * pa's seat in the consumer group, when it has one (pinned topics). A topic it is a member for is
   * processed only on the partitions the group gave this instance.
   */
  membership?: GroupMembershipView;
  /** A reader of this topic's partitions outside the group, for the view while it is behind. */
  openViewReader: () => Promise<PartitionRecordReader>;
  /** How long an idle view waits for more records before it writes (VIEW_GATHER_MS by default). */
  viewGatherMs?: number;
}

const COMMIT_INTERVAL_MS = 500;
// Records read, streamed and waiting for (or in) their view write: with this many, the view stops
// taking records from the live feed and reads them later with its own reader. About 1 KB of heap
// each. At 10,000, a stream faster than the store for a moment left the view behind in every
// burst, and its reader read 140,000 of 200,000 records again (bench: burst, throughput).
const MAX_VIEW_BACKLOG = 50_000;
// With fewer than this many queued, the view wants more records from a feed that stopped because
// its subscribers lag (about 150 ms of writing at the embedded store's pace).
const VIEW_BACKLOG_LOW = 5_000;
// How long an idle view waits for more records before it writes what it has, and how many make it
// write at once. A stream never waits for the view, and a consistent_with wait ends the gather at
// once (waitForView): only a plain GetPayment right after a stream may find the view this far behind.
const VIEW_GATHER_MS = 20;
const VIEW_WRITE_AT_ONCE = 1_000;
// Records the view's own reader takes at once.
const VIEW_READ_BATCH = 2_000;

interface WaitingForView {
  valid: StoredPayment[];
  letters: DeadLetter[];
  /** Per partition: the offset after the batch's last record, and the partition's epoch then. */
  viewed: Map<number, [number, number]>;
  traces: BatchTraces | undefined;
}
// After the view's reader failed (Kafka unreachable), it is tried again after this.
const VIEW_READER_RETRY_MS = 1_000;
// A failure that is not a guarded dependency's (a bug): paused like one, tried again after this.
const UNEXPECTED_FAILURE_RETRY_MS = 5_000;

/** Why a topic's view is paused, for GetTopics and logs. */
export interface FeedPause {
  dependency: string;
  reason: string;
  since: Date;
  /** The paused-for dependency's breaker state now. */
  breakerState: () => BreakerState;
}

/** A consistent_with wait that cannot be met while the view is paused for a dependency: UNAVAILABLE. */
export class ViewUnavailableError extends Error {
  override readonly name = "ViewUnavailableError";
}

interface ViewWaiter {
  positions: readonly number[];
  resolve: () => void;
  reject: (error: Error) => void;
}

export class TopicFeed {
  /** partition -> the offset after the last record streamed: the feed's (stream) position. */
  readonly next: number[];
  private readonly subscriberSet = new Set<Subscription>();
  readonly activeSince = new Date();
  consumed = 0;
  deadLettered = 0;
  /** Records read that are not valid payments, and why the last one was not. */
  invalid = 0;
  lastInvalidReason = "";
  private lingerTimer: NodeJS.Timeout | undefined;

  // The view's position per partition (what is committed and where processing resumes), what was
  // handed to it, what the broker confirmed as committed, and which partitions are processed here.
  private readonly positions: ViewPositions;
  // Partitions whose view is behind the live feed: the view's own reader brings them.
  private readonly viewBehind = new Set<number>();
  // Partitions the live feed stopped fetching because nobody took their records (every subscriber
  // lags there, and the view is behind or has work queued): fetched again from `next` once someone
  // takes them. Their ends meanwhile are the ones librdkafka last learned: lag() may under-count.
  private readonly parked = new Set<number>();
  private viewFollowing = false;
  private readonly startOffsets: number[];
  private commitTimer: NodeJS.Timeout | undefined;
  private pause: FeedPause | undefined;
  private resumeTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private started = false;
  // The tail of the chain of view writes, how many records are on it, and who waits for room on it.
  private writes: Promise<void> = Promise.resolve();
  /** Batches parsed for the view and not yet handed to the store: the next write takes them all. */
  private readonly waitingForView: WaitingForView[] = [];
  private viewBacklog = 0;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly viewWaiters = new Set<ViewWaiter>();
  /** Set while the idle view gathers records for its next write: writes them now. */
  private endGather: (() => void) | undefined;
  // The frames of the record being fanned out, made once for every stream that queues frames.
  private readonly frames = new RecordFrames(new PaymentEventEncoder());
  // The cursor of every event this feed makes, for its one topic.
  private readonly cursors: StreamCursorEncoder;

  constructor(
    readonly topic: string,
    readonly partitions: number,
    startOffsets: number[],
    private isPinned: boolean,
    private readonly consumer: LiveRecordSource,
    private readonly deps: TopicFeedDependencies,
  ) {
    this.cursors = new StreamCursorEncoder(topic);
    this.startOffsets = [...startOffsets];
    this.next = [...startOffsets];
    const membership = deps.membership;
    const shared = membership?.isMember(topic) ?? false;
    this.positions = new ViewPositions(startOffsets, shared);
    if (membership && shared) {
      membership.listen(topic, {
        assigned: (partitions) => this.takeOver(partitions),
        revoked: (partitions) => this.handOver(partitions),
        released: (partitions) => {
          for (const partition of partitions) this.positions.release(partition);
          this.resumeTaken();
        },
      });
    }
  }

  private owns(partition: number): boolean {
    return this.positions.owns(partition);
  }

  // Whether a record of this partition goes to the view now.
  private viewing(partition: number): boolean {
    return (
      !this.deps.policy.readOnly && !this.pause && this.owns(partition) && !this.viewBehind.has(partition)
    );
  }

  // The group gave this instance partitions: their view starts at the group's committed offset,
  // never where this feed's streams (or another reader) got to. Where that lies behind what this
  // feed already streamed, those records are read again for the view only; where it lies ahead,
  // the view takes the live feed from there.
  private takeOver(partitions: { partition: number; committed: number }[]): void {
    if (this.stopped) return;
    for (const { partition, committed } of partitions) {
      const next = this.next[partition] ?? 0;
      // Nothing committed: from where this feed began (KAFKA_AUTO_OFFSET_RESET decided it).
      this.positions.assign(partition, committed, Math.min(this.startOffsets[partition] ?? next, next));
    }
    this.catchUpView();
    this.resumeTaken();
  }

  // Partitions move to another instance: before the revoke completes, the group's offset moves to
  // how far the view stored them here. View writes still in flight for them land in the store
  // (idempotent) but move nothing here: the next owner starts at that commit, so nothing is skipped.
  private handOver(partitions: number[]): void {
    const finals = partitions.flatMap((partition) => this.positions.revoke(partition) ?? []);
    this.resumeTaken();
    if (finals.length === 0) return;
    try {
      this.deps.membership?.commitSync(this.offsetsOf(finals));
    } catch (error) {
      this.deps.logger.warn(
        {
          err: error,
          topic: this.topic,
          commits: finals.map(({ partition, offset }) => ({ partition, offset })),
        },
        `[CONSUMER:${this.topic}] Hand-over commit failed at ${describeCommits(finals)}; the next owner resumes from the group's last commit (records after it are processed again, idempotently)`,
      );
    }
  }

  private offsetsOf(commits: readonly DueCommit[]) {
    return commits.map(({ partition, offset }) => ({ topic: this.topic, partition, offset }));
  }

  // The view of every partition it is behind on is brought from Kafka by its own reader.
  private catchUpView(): void {
    if (!this.started || this.stopped || this.pause || this.deps.policy.readOnly) return;
    for (let partition = 0; partition < this.partitions; partition++) {
      if (this.owns(partition) && this.positions.queued(partition) < (this.next[partition] ?? 0))
        this.viewBehind.add(partition);
    }
    if (this.viewBehind.size > 0) void this.followView();
  }

  // The view's own read: from its queued position on each partition it is behind on, as fast as
  // the store takes it, until it meets the live feed there and rejoins it.
  private async followView(): Promise<void> {
    if (this.viewFollowing) return;
    this.viewFollowing = true;
    let reader: PartitionRecordReader | undefined;
    // partition -> the ownership epoch it was assigned at
    const assigned = new Map<number, number>();
    const drop = (partition: number) => {
      if (assigned.delete(partition)) reader?.unassign([partition]);
    };
    try {
      for (;;) {
        await this.roomForView();
        if (this.stopped || this.pause) break;
        for (const partition of [...this.viewBehind]) {
          const caughtUp = this.positions.queued(partition) >= (this.next[partition] ?? 0);
          if (!this.owns(partition) || caughtUp) {
            this.viewBehind.delete(partition);
            drop(partition);
          } else if (assigned.has(partition) && assigned.get(partition) !== this.positions.epoch(partition)) {
            drop(partition);
          }
        }
        this.resumeTaken();
        if (this.viewBehind.size === 0) break;
        reader ??= await this.deps.openViewReader();
        for (const partition of this.viewBehind) {
          if (assigned.has(partition)) continue;
          reader.assign([{ partition, offset: this.positions.queued(partition) }]);
          assigned.set(partition, this.positions.epoch(partition));
        }
        const batch = await reader.read(VIEW_READ_BATCH);
        if (this.stopped || this.pause) break;
        this.viewOnly(
          batch.filter((record) => assigned.get(record.partition) === this.positions.epoch(record.partition)),
        );
      }
    } catch (error) {
      this.deps.logger.warn(
        { err: error, topic: this.topic },
        `[CONSUMER:${this.topic}] view read failed; trying again in ${VIEW_READER_RETRY_MS}ms`,
      );
      const retry = setTimeout(() => this.catchUpView(), VIEW_READER_RETRY_MS);
      retry.unref();
    } finally {
      this.viewFollowing = false;
      await reader?.close();
    }
  }

  // Records the view's own reader brought: queued for the view only (the streams had them).
  private viewOnly(batch: KafkaRecord[]): void {
    const nowMs = Date.now();
    const valid: StoredPayment[] = [];
    const letters: DeadLetter[] = [];
    const viewed = new Map<number, [number, number]>();
    for (const record of batch) {
      const { partition, offset } = record;
      if (!this.viewBehind.has(partition) || offset < this.positions.queued(partition)) continue;
      const kafkaTimestampMs = record.timestamp ?? nowMs;
      const outcome = parsePayment(record.value, { kafkaTimestampMs, nowMs }, this.deps.rules);
      viewed.set(partition, [offset + 1, this.positions.queue(partition, offset + 1)]);
      if (outcome.ok) {
        valid.push({
          payment: outcome.payment,
          source: { topic: this.topic, partition, offset, kafkaTimestampMs },
        });
      } else {
        letters.push(this.deadLetter(record, outcome.invalid));
      }
    }
    if (viewed.size > 0) this.queueForView(valid, letters, viewed, undefined);
    this.deps.metrics.viewRereads.inc(valid.length + letters.length);
  }

  private deadLetter(record: KafkaRecord, invalid: InvalidPayment): DeadLetter {
    return {
      topic: this.topic,
      partition: record.partition,
      offset: record.offset,
      key: record.key as Buffer | null | undefined,
      value: record.value,
      error: invalid.code,
      reason: invalid.reason,
      retryCount: 0,
      sourceHeaders: record.headers,
    };
  }

  // Resolves once the view has room for more records (or it paused, or the feed stopped).
  private roomForView(): Promise<void> {
    if (this.viewBacklog < MAX_VIEW_BACKLOG || this.pause || this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  /** This topic's counters (the catch-up readers and the RPC writers add to them too). */
  get metrics(): TopicMetrics {
    return this.deps.metrics;
  }

  /** Streamed only: nothing of it stored, dead-lettered or committed. */
  get readOnly(): boolean {
    return this.deps.policy.readOnly;
  }

  /** Consumed from start-up (KAFKA_TOPIC) whether or not anyone subscribes. */
  get pinned(): boolean {
    return this.isPinned;
  }

  /** The open subscriptions attached to this feed (read-only: attach and detach change it). */
  get subscribers(): ReadonlySet<Subscription> {
    return this.subscriberSet;
  }

  /** Adds a subscriber; a feed lingering towards its stop stays. */
  attach(subscription: Subscription): void {
    this.stayActive();
    this.subscriberSet.add(subscription);
    this.resumeTaken();
  }

  /**
   * A lagging subscriber's catch-up reader brought it to the live feed on a partition: it takes
   * the feed's records there again, from `wanted` (ahead of the feed: it waits for it).
   */
  rejoin(subscription: Subscription, partition: number, wanted: number): void {
    subscription.rejoin(partition, wanted, this.next[partition] ?? 0);
    this.resumeTaken();
  }

  detach(subscription: Subscription): void {
    this.subscriberSet.delete(subscription);
  }

  /**
   * Calls `idle` after `lingerMs` unless a subscriber attaches meanwhile (or it is pinned): the
   * caller stops the feed there. Called again, it starts the wait over.
   */
  lingerThen(lingerMs: number, idle: () => void): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (this.subscriberSet.size === 0 && !this.isPinned) idle();
    }, lingerMs);
    this.lingerTimer.unref();
  }

  /** Cancels a pending lingerThen. */
  stayActive(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
  }

  /** Makes an on-demand feed pinned (KAFKA_TOPIC names a topic someone already watches). */
  pin(): void {
    this.isPinned = true;
    this.stayActive();
  }

  /** Starts reading (once); until then `next` holds where reading will begin. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.consumer.addTopic(this.topic, [...this.next], this.handle);
    this.catchUpView();
    if (!this.deps.policy.committer) return;
    this.commitTimer = setInterval(() => this.commit(), COMMIT_INTERVAL_MS);
    this.commitTimer.unref();
  }

  /** Stops reading; resolves once the view stored what the streams had and the final position is committed. */
  async stop(): Promise<void> {
    clearInterval(this.commitTimer);
    clearTimeout(this.lingerTimer);
    clearTimeout(this.resumeTimer);
    if (!this.started || this.stopped) return;
    this.stopped = true;
    this.deps.membership?.unlisten(this.topic);
    this.consumer.removeTopic(this.topic, this.partitions);
    for (const wake of this.roomWaiters.splice(0)) wake();
    for (const waiter of this.viewWaiters)
      waiter.reject(new ViewUnavailableError(`topic "${this.topic}" stopped being processed here`));
    this.viewWaiters.clear();
    this.endGather?.();
    await this.writes;
    this.commitFinal();
  }

  /** Why the view is paused; undefined while it follows the log. */
  get paused(): FeedPause | undefined {
    return this.pause;
  }

  /** closed while processing; while paused, the state of the breaker it waits for. */
  get breakerState(): BreakerState {
    return this.pause?.breakerState() ?? "closed";
  }

  /** High watermarks from the last fetch responses, if librdkafka has seen all partitions. */
  cachedHighWatermarks(): number[] | undefined {
    const marks: number[] = [];
    for (let partition = 0; partition < this.partitions; partition++) {
      const high = this.consumer.highWatermark(this.topic, partition);
      if (high === undefined || high < 0) return undefined;
      marks.push(high);
    }
    return marks;
  }

  lag(): number | undefined {
    const marks = this.cachedHighWatermarks();
    return marks?.reduce((sum, high, partition) => sum + Math.max(0, high - (this.next[partition] ?? 0)), 0);
  }

  /**
   * Records streamed that the view has not stored (or dead-lettered) yet, over the partitions
   * processed here; undefined for a read-only topic, which has no view.
   */
  viewLag(): number | undefined {
    if (this.deps.policy.readOnly) return undefined;
    let lag = 0;
    for (let partition = 0; partition < this.partitions; partition++) {
      if (this.owns(partition))
        lag += Math.max(0, (this.next[partition] ?? 0) - this.positions.stored(partition));
    }
    return lag;
  }

  /** The partitions whose view this instance keeps (stores, dead-letters, commits); none when read-only. */
  processedPartitions(): number[] {
    return this.deps.policy.readOnly ? [] : this.positions.ownedPartitions();
  }

  /**
   * Records the view stored whose commit the broker has not confirmed, over the partitions
   * processed here; undefined for a read-only topic, which commits nothing.
   */
  commitLag(): number | undefined {
    return this.deps.policy.readOnly ? undefined : this.positions.commitLag();
  }

  /**
   * The view's position per partition: what the store holds of this topic, up to (not including)
   * these offsets. Partitions this instance does not process (a read-only topic, another
   * instance's partitions) give the stream position instead: their view is not known here.
   */
  viewPositions(): number[] {
    return this.next.map((next, partition) =>
      this.deps.policy.readOnly || !this.owns(partition) ? next : this.positions.stored(partition),
    );
  }

  /** Whether this instance keeps the view of a partition (a processed topic, a partition it owns). */
  keepsView(partition: number): boolean {
    return !this.deps.policy.readOnly && this.owns(partition);
  }

  /**
   * Resolves once the view has stored every partition it keeps up to `positions`; rejects with
   * ViewUnavailableError while the view is paused for a dependency, or with the signal's reason.
   */
  waitForView(positions: readonly number[], signal: AbortSignal): Promise<void> {
    if (this.viewReached(positions)) return Promise.resolve();
    if (this.pause) return Promise.reject(this.unavailable());
    if (this.stopped)
      return Promise.reject(new ViewUnavailableError(`topic "${this.topic}" stopped being processed here`));
    signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const abort = () => {
        this.viewWaiters.delete(waiter);
        reject(signal.reason);
      };
      const waiter: ViewWaiter = {
        positions,
        resolve: () => {
          signal.removeEventListener("abort", abort);
          resolve();
        },
        reject: (error) => {
          signal.removeEventListener("abort", abort);
          reject(error);
        },
      };
      signal.addEventListener("abort", abort, { once: true });
      this.viewWaiters.add(waiter);
      // What it waits for was most likely streamed already and waits in the view's queue.
      this.endGather?.();
    });
  }

  /**
   * Runs `read` (a store query) between two view writes, so that what it reads is the view at
   * exactly the positions returned beside it.
   */
  atViewPosition<T>(read: () => Promise<T>): Promise<{ value: T; positions: number[] }> {
    const done = this.writes.then(async () => {
      const positions = this.viewPositions();
      return { value: await read(), positions };
    });
    this.writes = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  private viewReached(positions: readonly number[]): boolean {
    for (let partition = 0; partition < positions.length && partition < this.partitions; partition++) {
      if (this.keepsView(partition) && this.positions.stored(partition) < (positions[partition] ?? 0))
        return false;
    }
    return true;
  }

  private unavailable(): ViewUnavailableError {
    const pause = this.pause;
    return new ViewUnavailableError(
      `the payment view of topic "${this.topic}" is paused (${pause?.dependency ?? "a dependency"}: ${pause?.reason ?? ""}, breaker ${this.breakerState}); the payment is streamed but not stored yet: try again later`,
    );
  }

  /** The cursor of a subscriber's position: its own offsets where it lags or starts ahead. */
  cursorFor(subscription: Subscription): string {
    const positions = subscription.isSimple
      ? this.next
      : this.next.map(
          (next, partition) =>
            subscription.lagging.get(partition) ?? Math.max(subscription.from.get(partition) ?? 0, next),
        );
    if (positions.every((offset) => Number.isSafeInteger(offset) && offset >= 0)) {
      return this.cursors.encode(positions);
    }
    // A cursor pa's own decoder would refuse must never reach a client (once seen in CI: a stream
    // ended by a broker outage while catching up resumed with one). Until the cause is found, the
    // client resumes after the last event it was sent (or from its own start), and the log says
    // what the positions were.
    this.deps.logger.error(
      {
        topic: this.topic,
        positions: positions.map(String),
        next: this.next.map(String),
        lagging: [...subscription.lagging].map(String),
        from: [...subscription.from].map(String),
      },
      `[CONSUMER:${this.topic}] a stream position is not an offset; resuming from the last event sent instead`,
    );
    return subscription.lastCursor;
  }

  event(
    stored: StoredPayment,
    record: Pick<KafkaRecord, "partition" | "offset" | "timestamp">,
    cursor: string,
  ) {
    return liveEvent(stored.payment, this.topic, record, cursor);
  }

  // Each record is parsed once; one the streams have not had yet is fanned out at once, and one
  // the view has not had yet is queued for it. Records read again for the view alone (after a
  // pause or a take-over) are not sent twice: `next` is past them.
  private readonly handle = async (batch: KafkaRecord[]): Promise<void> => {
    if (this.stopped) return;
    const nowMs = Date.now();
    const debug = this.deps.logger.isLevelEnabled("debug");
    const { tracing, metrics } = this.deps;
    const traces = tracing.enabled
      ? BatchTraces.of(tracing, this.topic, batch, batch.map(traceHeaders))
      : undefined;
    const valid: StoredPayment[] = [];
    const letters: DeadLetter[] = [];
    // partition -> [the offset after the last record queued for the view, its ownership epoch]
    const viewed = new Map<number, [number, number]>();
    let fresh = 0;
    const taken = this.partitionsTaken();
    for (let i = 0; i < batch.length; i++) {
      const record = batch[i] as KafkaRecord;
      const { partition, offset } = record;
      const streams = offset >= (this.next[partition] ?? 0);
      const views = this.viewing(partition) && offset >= this.positions.queued(partition);
      if (!streams && !views) continue;
      const processedHere = this.processedHere(partition);
      const noSubscriber = taken[partition] !== true;
      // No subscriber takes this partition from the feed now (each lags there: its catch-up
      // reader brings it) and the view, if this instance keeps one, is behind (its own reader
      // brings it) or has work queued: the feed stops fetching the partition until someone wants
      // more. Reading on made a burst cost up to three reads and parses per record, and each
      // reader behind chased a feed that ran away from it; a subscriber that fell behind a parked
      // feed rejoins it at once, without reading anything, so this is its flow control too.
      if (noSubscriber && !this.viewWantsMore(partition) && !this.watchedForTheGroup(partition))
        this.park(partition);
      if (!views && noSubscriber && processedHere) {
        // The view counts it when it stores it: the feed moves past it without parsing it.
        this.next[partition] = offset + 1;
        fresh++;
        continue;
      }
      const kafkaTimestampMs = record.timestamp ?? nowMs;
      const parseSpan = traces?.parse(i);
      const outcome = parsePayment(record.value, { kafkaTimestampMs, nowMs }, this.deps.rules);
      parseSpan?.end();
      const stored: StoredPayment | undefined = outcome.ok
        ? {
            payment: outcome.payment,
            source: { topic: this.topic, partition, offset, kafkaTimestampMs },
          }
        : undefined;
      if (streams) {
        this.next[partition] = offset + 1;
        fresh++;
        if (stored) {
          if (debug) this.logPayment(stored);
          if (this.subscriberSet.size > 0) this.fanOut(stored, record, traces?.contextOf(i));
        }
        if (!processedHere) this.count(outcome);
      }
      if (!views) continue;
      viewed.set(partition, [offset + 1, this.positions.queue(partition, offset + 1)]);
      if (stored) {
        valid.push(stored);
        traces?.willWrite(i, "store");
      } else if (!outcome.ok) {
        traces?.willWrite(i, "dead-letter");
        letters.push(this.deadLetter(record, outcome.invalid));
      }
    }
    this.consumed += fresh;
    metrics.recordsConsumed.inc(fresh);
    if (fresh > 0 && this.subscriberSet.size > 0) this.settleStartOffsets();
    if (viewed.size > 0) this.queueForView(valid, letters, viewed, traces);
    else traces?.end();
    // Bounded: with this many records waiting for the view, it stops taking them from the live
    // feed and reads them from Kafka later, at its own pace; the streams go on.
    if (this.viewBacklog >= MAX_VIEW_BACKLOG && !this.pause) {
      for (let partition = 0; partition < this.partitions; partition++)
        if (this.owns(partition)) this.viewBehind.add(partition);
      void this.followView();
    }
  };

  // Writes follow batch order on one chain; nothing after a failed write is written or moves the
  // view's position, and the view reads those records again when it resumes. Batches that arrive
  // while a write is in flight wait for it together and go to the store as one write: under load
  // the view writes few large transactions (each commit costs the pages its rows touched, so
  // 5,000 rows at once cost the SQLite writer half the CPU per row of 500). When the chain is idle
  // a write waits VIEW_GATHER_MS for more batches (unless VIEW_WRITE_AT_ONCE records are already
  // there): at 1,000 records/s in batches of one, each record was its own transaction, message
  // to the writer thread and timeout guard, and those cost more than the rows.
  private queueForView(
    valid: StoredPayment[],
    letters: DeadLetter[],
    viewed: Map<number, [number, number]>,
    traces: BatchTraces | undefined,
  ): void {
    this.viewBacklog += valid.length + letters.length;
    this.waitingForView.push({ valid, letters, viewed, traces });
    if (this.waitingForView.length === 1)
      this.writes = this.writes.then(() => this.gatherForView()).then(() => this.writeWaiting());
  }

  // Resolves when the view's next write should take what is waiting: at once with enough records
  // (or while stopping or paused), else after VIEW_GATHER_MS, or once someone waits for the view
  // (endGather).
  private gatherForView(): Promise<void> {
    let waiting = 0;
    for (const batch of this.waitingForView) waiting += batch.valid.length + batch.letters.length;
    if (waiting >= VIEW_WRITE_AT_ONCE || this.stopped || this.pause) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.endGather?.(), this.deps.viewGatherMs ?? VIEW_GATHER_MS);
      this.endGather = () => {
        clearTimeout(timer);
        this.endGather = undefined;
        resolve();
      };
    });
  }

  private async writeWaiting(): Promise<void> {
    const batches = this.waitingForView.splice(0);
    const records = batches.reduce((sum, batch) => sum + batch.valid.length + batch.letters.length, 0);
    try {
      if (this.pause) {
        for (const { traces } of batches) traces?.written();
        return;
      }
      for (const { traces } of batches) traces?.writing(this.topic);
      const valid =
        batches.length === 1 ? (batches[0]?.valid ?? []) : batches.flatMap((batch) => batch.valid);
      const letters =
        batches.length === 1 ? (batches[0]?.letters ?? []) : batches.flatMap((batch) => batch.letters);
      let deadLettered: number;
      try {
        deadLettered = await this.deps.policy.persist(valid, letters);
      } catch (error) {
        for (const { traces } of batches) traces?.written(error);
        // Transient by definition: a poison record never gets here, it is a letter above.
        this.pauseView(error);
        return;
      }
      for (const { traces } of batches) traces?.written();
      this.countWritten(valid, letters);
      this.deadLettered += deadLettered;
      for (const { viewed } of batches)
        for (const [partition, [end, epoch]] of viewed) this.positions.markStored(partition, end, epoch);
      this.settleViewWaiters();
    } catch (error) {
      this.deps.logger.error({ err: error, topic: this.topic }, `[CONSUMER:${this.topic}] batch failed`);
    } finally {
      for (const { traces } of batches) traces?.end();
      this.viewBacklog -= records;
      if (this.viewBacklog < MAX_VIEW_BACKLOG) for (const wake of this.roomWaiters.splice(0)) wake();
      if (this.viewBacklog < VIEW_BACKLOG_LOW) this.resumeTaken();
    }
  }

  private settleViewWaiters(): void {
    for (const waiter of this.viewWaiters) {
      if (!this.viewReached(waiter.positions)) continue;
      this.viewWaiters.delete(waiter);
      waiter.resolve();
    }
  }

  // Stops giving records to the view (streams go on) and schedules its resume.
  private pauseView(error: unknown): void {
    if (this.pause) return;
    const unavailable = error instanceof DependencyUnavailableError ? error : undefined;
    const retryAfterMs = unavailable?.retryAfterMs ?? UNEXPECTED_FAILURE_RETRY_MS;
    this.pause = {
      dependency: unavailable?.dependency ?? "unknown",
      reason: error instanceof Error ? error.message : String(error),
      since: new Date(),
      breakerState: unavailable?.breakerState ?? (() => "open"),
    };
    for (const wake of this.roomWaiters.splice(0)) wake();
    const failed = this.unavailable();
    for (const waiter of this.viewWaiters) waiter.reject(failed);
    this.viewWaiters.clear();
    const offsets = this.positions.storedOffsets();
    const message = `[CONSUMER:${this.topic}] View paused at offsets [${offsets.join(",")}] (streams go on): ${this.pause.reason}; trying again in ${retryAfterMs}ms`;
    const fields = { topic: this.topic, offsets, retryAfterMs };
    if (unavailable) this.deps.logger.warn(fields, message);
    else this.deps.logger.error({ ...fields, err: error }, message);
    this.resumeTimer = setTimeout(() => this.resume(), retryAfterMs);
    this.resumeTimer.unref();
  }

  // Once the writes queued before the pause have settled, the view reads again from its own
  // position; the first batch is the probe.
  private resume(): void {
    if (this.stopped || !this.pause) return;
    void this.writes.then(() => {
      if (this.stopped || !this.pause) return;
      const { dependency } = this.pause;
      this.pause = undefined;
      this.positions.rewind();
      this.catchUpView();
      this.resumeTaken();
      const offsets = this.positions.storedOffsets();
      this.deps.logger.info(
        { topic: this.topic, offsets, dependency },
        `[CONSUMER:${this.topic}] View resumed from offsets [${offsets.join(",")}] (was paused for ${dependency})`,
      );
    });
  }

  // Whether this instance's view processes the partition (a processed topic, owned here).
  private processedHere(partition: number): boolean {
    return !this.deps.policy.readOnly && this.owns(partition);
  }

  // A record counts once, where it is processed: on a partition this instance's view processes,
  // once the view stored it or dead-lettered it (from the live feed or the view's own reader; a
  // write that failed is read and counted again later); elsewhere (a read-only topic, a partition
  // another instance processes) when the live feed reads it.
  private count(outcome: ParseOutcome): void {
    if (outcome.ok) {
      this.deps.metrics.paymentsProcessed.inc();
      return;
    }
    // A read-only topic may hold anything (a users topic): its reasons quote record text, so
    // only the error code is shown to whoever may stream the topic.
    this.countInvalid(1, this.deps.policy.readOnly ? outcome.invalid.code : outcome.invalid.reason);
    if (this.deps.policy.readOnly) this.deps.metrics.invalidReadOnly(outcome.invalid.code);
  }

  private countWritten(valid: readonly StoredPayment[], letters: readonly DeadLetter[]): void {
    this.deps.metrics.paymentsProcessed.inc(valid.length);
    const last = letters.at(-1);
    if (last) this.countInvalid(letters.length, last.reason);
  }

  private countInvalid(records: number, lastReason: string): void {
    this.invalid += records;
    this.lastInvalidReason = lastReason;
  }

  // A processed topic's partition that another instance of the group processes: the feed reads it
  // even for nobody, since the ends it sees are how the unprocessed-partition watchdog
  // (unprocessed-partitions.ts) tells a stalled owner.
  private watchedForTheGroup(partition: number): boolean {
    return !this.deps.policy.readOnly && !this.owns(partition);
  }

  // Whether the view takes this partition's next records from the feed and is short of work: with
  // VIEW_BACKLOG_LOW records queued it has enough to write meanwhile, and the feed may wait for a
  // subscriber to take its queue; it reads on for the view again once the backlog is below that.
  // (A view that follows the feed with its position ahead of a record takes the records after it.)
  private viewWantsMore(partition: number): boolean {
    return this.viewing(partition) && this.viewBacklog < VIEW_BACKLOG_LOW;
  }

  private park(partition: number): void {
    if (this.parked.has(partition) || this.stopped) return;
    this.parked.add(partition);
    this.consumer.pausePartitions(this.topic, [partition]);
  }

  // Parked partitions that someone takes again (a subscriber joined or rejoined, the view rejoined,
  // resumed or wants more, or the group moved the partition) are fetched again from `next`, the
  // record after the last one the feed was handed: nothing is skipped. Records librdkafka fetched
  // before the park and hands over late continue from `next` in order; their copies fetched again
  // are then behind `next` and passed over.
  private resumeTaken(): void {
    if (this.parked.size === 0 || this.stopped) return;
    const taken = this.partitionsTaken();
    const starts: { partition: number; offset: number }[] = [];
    for (const partition of this.parked) {
      if (taken[partition] || this.viewWantsMore(partition) || this.watchedForTheGroup(partition))
        starts.push({ partition, offset: this.next[partition] ?? 0 });
    }
    if (starts.length === 0) return;
    for (const { partition } of starts) this.parked.delete(partition);
    this.consumer.resumePartitions(this.topic, starts);
  }

  // Per partition, whether some subscriber takes it from the live feed (is not lagging on it).
  // Within a batch a subscriber can only fall behind, never rejoin (catch-up readers attach between
  // batches), so what is true at the batch's start covers every record a subscriber takes in it.
  private partitionsTaken(): boolean[] {
    const taken = new Array<boolean>(this.partitions).fill(false);
    let open = this.partitions;
    for (const subscription of this.subscriberSet) {
      for (let partition = 0; partition < this.partitions; partition++) {
        if (taken[partition] || subscription.lagging.has(partition)) continue;
        taken[partition] = true;
        if (--open === 0) return taken;
      }
    }
    return taken;
  }

  private fanOut(stored: StoredPayment, record: KafkaRecord, traced: Context | undefined): void {
    const { partition, offset } = record;
    let shared: PaymentEvent | undefined;
    for (const subscription of this.subscriberSet) {
      if (subscription.lagging.has(partition)) continue;
      if (subscription.from.size > 0) {
        const from = subscription.from.get(partition);
        if (from !== undefined) {
          if (offset < from) continue;
          subscription.reachedStart(partition);
        }
      }
      if (!subscription.accepts(stored.payment)) continue;
      if (!subscription.hasRoom(stored.payment.id)) {
        // Not dropped: this partition is read again from this offset for this subscriber alone.
        subscription.fellBehind(partition, offset);
        this.deps.onLagging(subscription, this);
        continue;
      }
      if (subscription.isSimple) {
        if (!shared) {
          shared = this.event(stored, record, this.cursors.encode(this.next));
          if (traced) this.deps.tracing.linkEvent(shared, traced);
        }
        subscription.push(shared, this.frames);
      } else {
        const event = this.event(stored, record, this.cursorFor(subscription));
        if (traced) this.deps.tracing.linkEvent(event, traced);
        subscription.push(event);
      }
    }
    this.frames.clear();
  }

  // A subscriber that started ahead of the feed needs no start offset once the feed passed it.
  private settleStartOffsets(): void {
    for (const subscription of this.subscriberSet) {
      if (subscription.from.size === 0) continue;
      for (const [partition, from] of subscription.from) {
        if ((this.next[partition] ?? 0) >= from) subscription.reachedStart(partition);
      }
    }
  }

  // The group's position moves to the view's, on the partitions processed here, through the
  // policy's committer; a read-only topic has none and commits nothing. A commit counts as done
  // once the broker confirmed it; one that failed is due again next time, idle partition or not.
  private commit(): void {
    const committer = this.deps.policy.committer;
    if (!committer) return;
    const due = this.positions.takeDueCommits();
    if (due.length === 0) return;
    committer.commit(this.offsetsOf(due)).then(
      () => this.recovered(this.positions.acknowledge(due)),
      (error: unknown) => {
        const first = this.positions.failed(due);
        if (first.length === 0) return;
        this.deps.logger.warn(
          { err: error, topic: this.topic, commits: first },
          `[CONSUMER:${this.topic}] Commit failed at ${describeCommits(first)}; retrying while this instance processes the partition`,
        );
      },
    );
  }

  private recovered(commits: { partition: number; offset: number }[]): void {
    if (commits.length === 0) return;
    this.deps.logger.info(
      { topic: this.topic, commits },
      `[CONSUMER:${this.topic}] Commit succeeded again at ${describeCommits(commits)}`,
    );
  }

  // Stopping: the view's final position, committed before the feed is gone.
  private commitFinal(): void {
    const committer = this.deps.policy.committer;
    if (!committer) return;
    const finals = this.positions.finalCommits();
    if (finals.length === 0) return;
    try {
      committer.commitSync(this.offsetsOf(finals));
      this.positions.acknowledge(finals);
    } catch (error) {
      this.deps.logger.warn(
        {
          err: error,
          topic: this.topic,
          commits: finals.map(({ partition, offset }) => ({ partition, offset })),
        },
        `[CONSUMER:${this.topic}] Final commit failed at ${describeCommits(finals)}; the next start replays from the group's last commit (idempotently)`,
      );
    }
  }

  private logPayment(stored: StoredPayment): void {
    const p = stored.payment;
    const amount = formatMinor(p.amountMinor, currencyExponent(p.currency) ?? 2);
    this.deps.logger.debug(
      `[CONSUMER:${this.topic}] ${p.id} | ${Provider[p.provider]} | ${amount} ${p.currency}`,
    );
  }
}

function describeCommits(commits: readonly { partition: number; offset: number }[]): string {
  return commits.map(({ partition, offset }) => `partition ${partition} offset ${offset}`).join(", ");
}
