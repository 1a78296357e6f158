// Owns the active topics. The first subscriber to a topic starts its feed on a pooled consumer,
// later ones share it, and when the last one leaves the feed lingers a while before it stops (a
// reconnecting client causes no churn). KAFKA_TOPIC's topics are fed from start-up, always.
// A subscriber's start position is resolved against what Kafka holds before any feed starts, so
// a request that cannot be served (a cursor out of range, a missing topic) consumes nothing.
import { setTimeout as sleep } from "node:timers/promises";
import { type BulkheadPolicy, bulkhead } from "cockatiel";
import type { PaymentEvent } from "../../gen/payment/payment_pb.js";
import type { Config } from "../config/config.js";
import type { DeadLetterProducer } from "../kafka/dead-letter-producer.js";
import type { GroupMembership } from "../kafka/group-membership.js";
import type { PooledRecordSource, RecordSource } from "../kafka/record-source.js";
import { type TopicAdmin, TopicNotFoundError } from "../kafka/topic-admin.js";
import type { Logger } from "../observability/logger.js";
import type { PaMetrics, TopicMetrics } from "../observability/metrics.js";
import type { Tracing } from "../observability/tracing.js";
import type { PaymentRules } from "../payment/parse-payment.js";
import type { PaymentStore } from "../store/payment-store.js";
import { catchUp } from "./catch-up-reader.js";
import { PaymentEventEncoder } from "./payment-event-encoder.js";
import { type ProcessingPolicy, processedTopic, processesTopic, READ_ONLY } from "./processing-policy.js";
import { QueueBudget } from "./queue-budget.js";
import { resumeOffsets } from "./stream-cursor.js";
import { type SubscriberSummary, subscriberStats, summarize } from "./subscriber-stats.js";
import { type StreamFilter, type SubscriberInfo, Subscription, UNKNOWN_SUBSCRIBER } from "./subscription.js";
import { TopicFeed } from "./topic-feed.js";
import type { UnprocessedPartition, UnprocessedPartitions } from "./unprocessed-partitions.js";

/**
 * How a stream's queue holds its events: "frames" (encoded once at fan-out, bounded in bytes by
 * STREAM_BUFFER_BYTES) for a caller that writes them as they are, "events" (bounded in events by
 * STREAM_BUFFER_EVENTS) for one that serializes them itself (Connect's handler).
 */
export type StreamEncoding = "events" | "frames";

export type StartPosition =
  | { kind: "latest" }
  | { kind: "earliest" }
  | { kind: "time"; timestampMs: number }
  /** A decoded cursor of the topic: the next offset per partition. */
  | { kind: "cursor"; positions: number[]; allowFallback: boolean };

/** A stream pa ended before the client did; `cursor` resumes it exactly. */
export class StreamInterruptedError extends Error {
  override readonly name = "StreamInterruptedError";
  constructor(
    message: string,
    readonly cursor: string,
  ) {
    super(message);
  }
}

export interface TopicStatusView {
  topic: string;
  subscribers: number;
  partitions: number;
  messagesConsumed: number;
  messagesDeadLettered: number;
  consumerLag: number | undefined;
  activeSince: Date;
  pinned: boolean;
  /** closed while processing; else the state of the breaker the paused topic waits for. */
  breakerState: string;
  /** Why the topic's view (store writes, dead letters) is paused; empty while it follows the log. */
  pausedReason: string;
  /** Streamed only (not in PROCESS_TOPICS): nothing stored, dead-lettered or committed. */
  readOnly: boolean;
  /** Records read that are not valid payments, and why the last one was not. */
  messagesInvalid: number;
  lastInvalidReason: string;
  /** Records streamed that the view has not stored yet; undefined for a read-only topic. */
  viewLag: number | undefined;
  /** The partitions this instance processes (none for a read-only topic). */
  processedPartitions: number[];
  /** Records stored whose commit the broker has not confirmed; undefined for a read-only topic. */
  commitLag: number | undefined;
  /** Under SHARE_PROCESSING: partitions nobody in the group processes now (commits stand still). */
  unprocessedPartitions: UnprocessedPartition[];
  /** Lag and latency over the subscribers; undefined without subscribers (or heads not known yet). */
  subscribersSummary: SubscriberSummary | undefined;
}

/**
 * What a consistent_with wait could promise: "complete" when this instance keeps the view of every
 * partition of the cursor and it reached the cursor; "partial" when some partitions are kept
 * elsewhere (another instance's, SHARE_PROCESSING) or nowhere right now (no active feed), so the
 * store may still lack records before the cursor there.
 */
export type ViewWait = "complete" | "partial";

/** consistent_with on a topic pa streams read-only: nothing of it is ever stored. FAILED_PRECONDITION. */
export class ViewNotKeptError extends Error {
  override readonly name = "ViewNotKeptError";
}

export interface StreamHubDependencies {
  config: Config;
  /** Where the live feeds, the catch-up readers and the views read Kafka. */
  source: RecordSource;
  admin: TopicAdmin;
  store: PaymentStore;
  deadLetters: DeadLetterProducer;
  rules: PaymentRules;
  logger: Logger;
  metrics: PaMetrics;
  tracing: Tracing;
  /** pa's seat in the consumer group for the pinned topics, when there are any. */
  membership?: GroupMembership;
  /** With the membership: the shared topics' partitions that nobody in the group processes. */
  unprocessed?: UnprocessedPartitions;
}

const PINNED_RETRY_MS = 30_000;
// consistent_with on a partition another instance processes: how often its commit is asked for.
// Owners commit every 500 ms, so a wait costs up to about 600 ms beyond the owner's store write.
const COMMIT_POLL_MS = 100;

export class StreamHub {
  private readonly feeds = new Map<string, TopicFeed>();
  private readonly starting = new Map<string, Promise<TopicFeed>>();
  private readonly catchUpReaders: BulkheadPolicy;
  private readonly pinnedRetry = new Map<string, NodeJS.Timeout>();
  private readonly processes: (topic: string) => boolean;
  // STREAM_QUEUE_EVENTS_TOTAL, shared by the queues of events; STREAM_QUEUE_BYTES_TOTAL, by the
  // queues of frames.
  private readonly queueBudget: QueueBudget;
  private readonly frameBudget: QueueBudget;
  // Encodes the frames fan-out did not (a stream's own cursor, caught-up and folded events).
  private readonly encoder = new PaymentEventEncoder();
  private stopping = false;
  // A traced event is kept beside its frame, for the span of its send.
  private readonly traced = (event: PaymentEvent) =>
    this.deps.tracing.enabled && this.deps.tracing.contextOfEvent(event) !== undefined;

  constructor(private readonly deps: StreamHubDependencies) {
    const { maxCatchUpReaders, queueEventsTotal, queueBytesTotal } = deps.config.streams;
    this.catchUpReaders = bulkhead(maxCatchUpReaders, deps.config.server.maxStreams);
    this.processes = processesTopic(deps.config);
    this.queueBudget = new QueueBudget(queueEventsTotal);
    this.frameBudget = new QueueBudget(queueBytesTotal);
  }

  /** Open StreamPayments subscriptions over every topic. */
  get streamCount(): number {
    let count = 0;
    for (const feed of this.feeds.values()) count += feed.subscribers.size;
    return count;
  }

  /** Starts feeding the pinned topics; one that does not exist yet is tried again periodically. */
  startPinnedTopics(): void {
    for (const topic of this.deps.config.kafka.pinnedTopics) this.startPinned(topic);
  }

  async subscribe(
    topic: string,
    filter: StreamFilter,
    start: StartPosition,
    subscriber: SubscriberInfo = UNKNOWN_SUBSCRIBER,
    encoding: StreamEncoding = "events",
  ): Promise<Subscription> {
    if (this.stopping)
      throw new StreamInterruptedError("pa is shutting down; reconnect to another instance", "");
    let feed: TopicFeed | undefined;
    try {
      const offsets = await this.startOffsets(topic, start);
      // A read-only topic's new feed starts where its first subscriber does.
      feed = await this.feedFor(topic, offsets);
      const active = feed;
      const { bufferEvents, bufferBytes } = this.deps.config.streams;
      const subscription = new Subscription(
        topic,
        filter,
        bufferEvents,
        (s) => this.release(s, active),
        this.queueBudget,
        subscriber,
        encoding === "frames"
          ? { bytes: bufferBytes, budget: this.frameBudget, encoder: this.encoder, keepsEvent: this.traced }
          : undefined,
      );
      // Decided synchronously with adding the subscriber, so no record slips in between.
      for (let partition = 0; partition < feed.partitions; partition++) {
        const next = feed.next[partition] ?? 0;
        // "latest" is never behind the live feed: a subscriber that asked for it never lags.
        const wanted =
          start.kind === "latest" ? Math.max(offsets[partition] ?? 0, next) : (offsets[partition] ?? 0);
        subscription.startAt(partition, wanted, next);
      }
      feed.attach(subscription);
      // An on-demand feed reads from here on: its first subscriber's start offsets were decided
      // against a feed that had not moved yet.
      feed.start();
      this.deps.logger.debug(
        `[MANAGER] Subscriber joined topic: ${topic} (${feed.subscribers.size} subscribers)`,
      );
      if (subscription.lagging.size > 0) this.scheduleCatchUp(subscription, feed);
      return subscription;
    } catch (error) {
      if (feed) this.lingerIfUnused(feed);
      throw error;
    }
  }

  topicStatuses(): TopicStatusView[] {
    return [...this.feeds.values()]
      .sort((a, b) => a.topic.localeCompare(b.topic))
      .map((feed) => ({
        topic: feed.topic,
        subscribers: feed.subscribers.size,
        partitions: feed.partitions,
        messagesConsumed: feed.consumed,
        messagesDeadLettered: feed.deadLettered,
        consumerLag: feed.lag(),
        activeSince: feed.activeSince,
        pinned: feed.pinned,
        breakerState: feed.breakerState,
        pausedReason: feed.paused?.reason ?? "",
        readOnly: feed.readOnly,
        messagesInvalid: feed.invalid,
        lastInvalidReason: feed.lastInvalidReason,
        viewLag: feed.viewLag(),
        processedPartitions: feed.processedPartitions(),
        commitLag: feed.commitLag(),
        unprocessedPartitions: this.deps.unprocessed?.of(feed.topic) ?? [],
        subscribersSummary: summarize(subscriberStats(feed)),
      }));
  }

  /** An active topic's counters (for the RPC writers); undefined once its feed stopped. */
  topicMetrics(topic: string): TopicMetrics | undefined {
    return this.feeds.get(topic)?.metrics;
  }

  /** The active topics' feeds, for the metrics read at scrape time (do not mutate). */
  activeFeeds(): Iterable<TopicFeed> {
    return this.feeds.values();
  }

  /**
   * Waits until the topic's view stored up to `positions` (see ViewWait): on the partitions this
   * instance keeps, its own view; under SHARE_PROCESSING, on the others, the group's committed
   * offset, which their owner moves only past what it stored in the shared store.
   */
  async awaitView(topic: string, positions: readonly number[], signal: AbortSignal): Promise<ViewWait> {
    if (!this.processes(topic)) {
      throw new ViewNotKeptError(
        `topic "${topic}" is streamed read-only (not in PROCESS_TOPICS): pa stores nothing of it, so consistent_with cannot be met; leave it out`,
      );
    }
    const feed = this.feeds.get(topic);
    if (!feed) return "partial";
    await feed.waitForView(positions, signal);
    const partitions = Math.min(positions.length, feed.partitions);
    const elsewhere = Array.from({ length: partitions }, (_, partition) => partition).filter(
      (partition) => !feed.keepsView(partition) && (positions[partition] ?? 0) > 0,
    );
    if (elsewhere.length === 0) return "complete";
    if (!this.deps.membership?.isMember(topic)) return "partial";
    await this.awaitGroupCommits(topic, positions, elsewhere, signal);
    return "complete";
  }

  // Another instance keeps these partitions' view (or will, once the group moved them from a
  // stopped one): asked again every COMMIT_POLL_MS until the group's commit reaches `positions`,
  // or the signal ends the wait.
  private async awaitGroupCommits(
    topic: string,
    positions: readonly number[],
    partitions: number[],
    signal: AbortSignal,
  ): Promise<void> {
    let waiting = partitions;
    for (;;) {
      signal.throwIfAborted();
      const committed = await this.groupCommits(topic, positions.length);
      waiting = waiting.filter((partition) => (committed[partition] ?? -1) < (positions[partition] ?? 0));
      if (waiting.length === 0) return;
      await sleep(COMMIT_POLL_MS, undefined, { signal });
    }
  }

  /**
   * Runs a store read at a known view position of a processed topic and returns that position
   * beside it (see TopicFeed.viewPositions). Without an active feed the position is the group's
   * committed offsets (a feed commits only what its view stored, and stops after it drained);
   * undefined for a read-only topic or when Kafka cannot say.
   */
  async readAtViewPosition<T>(
    topic: string,
    read: () => Promise<T>,
  ): Promise<{ value: T; positions?: number[] }> {
    const feed = this.feeds.get(topic);
    if (feed && !feed.readOnly) return feed.atViewPosition(read);
    if (feed || !this.processes(topic)) return { value: await read() };
    const positions = await this.committedPositions(topic).catch(() => undefined);
    const value = await read();
    return positions ? { value, positions } : { value };
  }

  /**
   * The "existing" snapshot of a live stream read at the topic's view position, with the start of
   * its live part at exactly that position: undefined where this instance keeps no view of the
   * topic (read-only), the caller then reads the snapshot as before.
   */
  async snapshotAtView<T>(
    topic: string,
    read: () => Promise<T>,
  ): Promise<{ value: T; positions: number[] } | undefined> {
    if (!this.processes(topic)) return undefined;
    const feed = await this.feedFor(topic);
    if (feed.readOnly) return undefined;
    try {
      return await feed.atViewPosition(read);
    } catch (error) {
      this.lingerIfUnused(feed);
      throw error;
    }
  }

  private async committedPositions(topic: string): Promise<number[]> {
    const partitions = await this.deps.admin.partitionCount(topic);
    return this.groupOffsets(topic, partitions, this.deps.source.leastLoaded());
  }

  /**
   * The group's committed offset per partition (-1001 where none), asked through a pooled client:
   * outside the group's membership (no rebalance in its way) and not through the admin API, whose
   * group requests abort the process when they time out after their broker went away (librdkafka
   * issue 4605).
   */
  groupCommits(topic: string, partitions: number, timeoutMs?: number): Promise<number[]> {
    return this.deps.source.leastLoaded().committed(topic, partitions, timeoutMs);
  }

  /** Each partition's end as an active topic's live feed last saw it; undefined while unknown. */
  partitionEnds(topic: string): number[] | undefined {
    return this.feeds.get(topic)?.cachedHighWatermarks();
  }

  /** The open subscriptions of an active topic (for status views and tests; do not mutate). */
  subscriptionsOf(topic: string): readonly Subscription[] {
    return [...(this.feeds.get(topic)?.subscribers ?? [])];
  }

  /** The partitions of a topic this instance processes: all, unless a group shares the topic. */
  processedPartitions(topic: string): number[] {
    const { membership } = this.deps;
    if (membership?.isMember(topic)) return membership.ownedPartitions(topic);
    const feed = this.feeds.get(topic);
    return feed ? Array.from({ length: feed.partitions }, (_, partition) => partition) : [];
  }

  /** How many records the topic's feed has read since it became active (one read, however many subscribers). */
  consumedCount(topic: string): number | undefined {
    return this.feeds.get(topic)?.consumed;
  }

  /** Ends every stream with a resumable cursor; feeds keep running until stopFeeds. */
  endStreams(reason: string): void {
    this.stopping = true;
    for (const feed of this.feeds.values()) {
      for (const subscription of feed.subscribers) {
        subscription.end(new StreamInterruptedError(reason, feed.cursorFor(subscription)));
      }
    }
  }

  /** Ends one stream, with an error made from the cursor that resumes it exactly. */
  interrupt(subscription: Subscription, error: (cursor: string) => Error): void {
    const feed = this.feeds.get(subscription.topic);
    subscription.end(error(feed ? feed.cursorFor(subscription) : subscription.lastCursor));
  }

  /** Stops every feed; resolves once each view stored what its streams had and committed it. */
  async stopFeeds(): Promise<void> {
    for (const timer of this.pinnedRetry.values()) clearTimeout(timer);
    const stopped = [...this.feeds.values()].map((feed) => feed.stop());
    this.feeds.clear();
    await Promise.all(stopped);
  }

  /** The topic's feed, started if needed; `firstOffsets` are its first subscriber's start offsets. */
  private feedFor(topic: string, firstOffsets?: number[]): Promise<TopicFeed> {
    const feed = this.feeds.get(topic);
    if (feed) return Promise.resolve(feed);
    let starting = this.starting.get(topic);
    if (!starting) {
      starting = this.startFeed(topic, firstOffsets).finally(() => this.starting.delete(topic));
      this.starting.set(topic, starting);
    }
    return starting;
  }

  // A processed topic resumes from pa's group's committed offsets (KAFKA_AUTO_OFFSET_RESET where
  // there are none); a read-only one neither reads nor writes the group: it starts at its first
  // subscriber's offsets (a pinned feed has no subscriber, but is always processed).
  private async startFeed(topic: string, firstOffsets: number[] | undefined): Promise<TopicFeed> {
    const { config, logger } = this.deps;
    const member = this.deps.source.leastLoaded();
    const processed = this.processes(topic) || !firstOffsets;
    const partitions = processed ? await this.deps.admin.partitionCount(topic) : firstOffsets.length;
    const offsets = processed ? await this.groupOffsets(topic, partitions, member) : [...firstOffsets];
    const metrics = this.deps.metrics.forTopic(topic);
    const policy: ProcessingPolicy = processed
      ? processedTopic(topic, partitions, {
          store: this.deps.store,
          deadLetters: this.deps.deadLetters,
          // A group with live members refuses commits from a client outside it.
          committer: this.deps.membership ?? member,
          metrics,
          timeStoreWrite: () => this.deps.metrics.storeWriteDuration.startTimer(),
        })
      : READ_ONLY;
    const pinned = config.kafka.pinnedTopics.includes(topic);
    const feed = new TopicFeed(topic, partitions, offsets, pinned, member, {
      policy,
      rules: this.deps.rules,
      logger,
      metrics,
      tracing: this.deps.tracing,
      ...(this.deps.membership ? { membership: this.deps.membership } : {}),
      onLagging: (subscription, laggingFeed) => this.scheduleCatchUp(subscription, laggingFeed),
      openViewReader: () => this.deps.source.openViewReader(topic),
    });
    this.feeds.set(topic, feed);
    logger.info(
      { topic, partitions, pinned, readOnly: policy.readOnly },
      `[MANAGER] Created new consumer for topic: ${topic}${policy.readOnly ? " (read-only: not in PROCESS_TOPICS)" : ""}`,
    );
    return feed;
  }

  /** Where pa's group left off processing the topic, or KAFKA_AUTO_OFFSET_RESET where it never did. */
  private async groupOffsets(
    topic: string,
    partitions: number,
    member: PooledRecordSource,
  ): Promise<number[]> {
    const offsets = await member.committed(topic, partitions);
    if (offsets.every((offset) => offset >= 0)) return offsets;
    const watermarks = await this.deps.admin.offsets(topic);
    return offsets.map((offset, partition) => {
      if (offset >= 0) return offset;
      const marks = watermarks[partition] ?? { low: 0, high: 0 };
      return this.deps.config.kafka.autoOffsetReset === "earliest" ? marks.low : marks.high;
    });
  }

  // Through feedFor, like a subscription: a subscriber arriving while the pinned feed starts
  // shares it instead of starting a second feed of the same topic on the pool.
  private startPinned(topic: string): void {
    this.feedFor(topic).then(
      (feed) => {
        this.pinnedRetry.delete(topic);
        feed.pin();
        feed.start();
      },
      (error: unknown) => {
        const why =
          error instanceof TopicNotFoundError ? "does not exist yet" : `cannot start: ${String(error)}`;
        this.deps.logger.warn({ topic }, `[MANAGER] KAFKA_TOPIC ${topic} ${why}; trying again in 30s`);
        const timer = setTimeout(() => this.startPinned(topic), PINNED_RETRY_MS);
        timer.unref();
        this.pinnedRetry.set(topic, timer);
      },
    );
  }

  // Start offsets per partition, from what Kafka holds now (a missing topic is TopicNotFoundError,
  // a cursor it cannot resume a typed cursor error), asked before any feed starts. "latest" is the
  // end of the topic now; anything before the feed's position is brought by a catch-up reader,
  // anything after it waits for the feed.
  private async startOffsets(topic: string, start: StartPosition): Promise<number[]> {
    const { admin } = this.deps;
    switch (start.kind) {
      case "latest": {
        // The end of the topic as librdkafka last saw it; asked of the broker only for a new feed.
        const cached = this.feeds.get(topic)?.cachedHighWatermarks();
        if (cached) return cached;
        return (await admin.offsets(topic)).map((marks) => marks.high);
      }
      case "earliest":
        return (await admin.offsets(topic)).map((marks) => marks.low);
      case "time": {
        const [byTime, marks] = await Promise.all([
          admin.offsetsForTime(topic, start.timestampMs),
          admin.offsets(topic),
        ]);
        return marks.map((m, partition) => {
          const offset = byTime[partition] ?? -1;
          return offset < 0 ? m.high : Math.max(offset, m.low);
        });
      }
      case "cursor":
        return resumeOffsets(topic, start.positions, await admin.offsets(topic), start.allowFallback);
    }
  }

  private scheduleCatchUp(subscription: Subscription, feed: TopicFeed): void {
    if (!subscription.beginCatchUp()) return;
    const { source, rules, logger } = this.deps;
    this.catchUpReaders
      .execute(async () => {
        await subscription.drained();
        if (!subscription.isOpen) return;
        feed.metrics.catchUpReads.inc();
        // A reader kept open for a subscriber that caught up would hold a slot others queue for.
        const othersWaiting = () => this.catchUpReaders.queueSlots < this.deps.config.server.maxStreams;
        await catchUp((topic) => source.openCatchUpReader(topic), feed, subscription, rules, logger, {
          othersWaiting,
        });
      })
      .catch((error: unknown) => {
        subscription.end(
          new StreamInterruptedError(
            `could not read the topic for this stream: ${String(error)}`,
            feed.cursorFor(subscription),
          ),
        );
      })
      .finally(() => {
        subscription.endCatchUp();
        if (subscription.isOpen && subscription.lagging.size > 0) this.scheduleCatchUp(subscription, feed);
      });
  }

  private release(subscription: Subscription, feed: TopicFeed): void {
    feed.detach(subscription);
    this.lingerIfUnused(feed);
  }

  /** A feed nobody uses stops after the linger time, unless someone subscribes meanwhile. */
  private lingerIfUnused(feed: TopicFeed): void {
    if (feed.subscribers.size > 0 || feed.pinned || this.feeds.get(feed.topic) !== feed) return;
    const { lingerMs } = this.deps.config.streams;
    feed.lingerThen(lingerMs, () => {
      if (this.feeds.get(feed.topic) !== feed) return;
      // Removed from the hub in the same tick it stops: a subscriber arriving after this gets a
      // new feed. Its view still stores what was streamed, then commits; the new feed replays the
      // rest from the committed offsets, idempotently.
      void feed.stop();
      this.feeds.delete(feed.topic);
      this.deps.logger.info(
        `[MANAGER] Removed consumer for topic: ${feed.topic} (no subscribers for ${lingerMs} ms)`,
      );
    });
  }
}
