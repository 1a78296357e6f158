// Owns the active topics. The first subscriber to a topic starts its feed on a pooled consumer,
// later ones share it, and when the last one leaves the feed lingers a while before it stops (a
// reconnecting client causes no churn). KAFKA_TOPIC's topics are fed from start-up, always.
import { type BulkheadPolicy, bulkhead } from "cockatiel";
import type { Config } from "../config/config.js";
import type { LibrdkafkaConfig } from "../kafka/client-config.js";
import type { ConsumerPool } from "../kafka/consumer-pool.js";
import type { DeadLetterProducer } from "../kafka/dead-letter-producer.js";
import type { GroupMembership } from "../kafka/group-membership.js";
import { type TopicAdmin, TopicNotFoundError } from "../kafka/topic-admin.js";
import type { Logger } from "../observability/logger.js";
import type { PaymentRules } from "../payment/parse-payment.js";
import type { PaymentStore } from "../store/payment-store.js";
import { catchUp } from "./catch-up-reader.js";
import { QueueBudget } from "./queue-budget.js";
import { decodeStreamCursor } from "./stream-cursor.js";
import { type StreamFilter, Subscription } from "./subscription.js";
import { TopicFeed } from "./topic-feed.js";

export type StartPosition =
  | { kind: "latest" }
  | { kind: "earliest" }
  | { kind: "time"; timestampMs: number }
  | { kind: "cursor"; cursor: string };

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
  /** Why the topic's processing is paused; empty while it runs. */
  pausedReason: string;
}

export interface StreamHubDependencies {
  config: Config;
  pool: ConsumerPool;
  admin: TopicAdmin;
  store: PaymentStore;
  deadLetters: DeadLetterProducer;
  rules: PaymentRules;
  consumerSettings: LibrdkafkaConfig;
  logger: Logger;
  /** pa's seat in the consumer group for the pinned topics, when there are any. */
  membership?: GroupMembership;
}

const PINNED_RETRY_MS = 30_000;

export class StreamHub {
  private readonly feeds = new Map<string, TopicFeed>();
  private readonly starting = new Map<string, Promise<TopicFeed>>();
  private readonly catchUpReaders: BulkheadPolicy;
  private readonly pinnedRetry = new Map<string, NodeJS.Timeout>();
  // STREAM_QUEUE_EVENTS_TOTAL, shared by every subscription's queue.
  private readonly queueBudget: QueueBudget;
  private stopping = false;

  constructor(private readonly deps: StreamHubDependencies) {
    const { maxCatchUpReaders, queueEventsTotal } = deps.config.streams;
    this.catchUpReaders = bulkhead(maxCatchUpReaders, deps.config.server.maxStreams);
    this.queueBudget = new QueueBudget(queueEventsTotal);
  }

  /** Starts feeding the pinned topics; one that does not exist yet is tried again periodically. */
  startPinnedTopics(): void {
    for (const topic of this.deps.config.kafka.pinnedTopics) this.startPinned(topic);
  }

  async subscribe(topic: string, filter: StreamFilter, start: StartPosition): Promise<Subscription> {
    if (this.stopping)
      throw new StreamInterruptedError("pa is shutting down; reconnect to another instance", "");
    let feed: TopicFeed | undefined;
    try {
      feed = await this.feedFor(topic);
      const active = feed;
      const offsets = await this.startOffsets(feed, start);
      const subscription = new Subscription(
        topic,
        filter,
        this.deps.config.streams.bufferEvents,
        (s) => this.release(s, active),
        this.queueBudget,
      );
      // Decided synchronously with adding the subscriber, so no record slips in between.
      for (let partition = 0; partition < feed.partitions; partition++) {
        const next = feed.next[partition] ?? 0;
        // "latest" is never behind the live feed: a subscriber that asked for it never lags.
        const wanted =
          start.kind === "latest" ? Math.max(offsets[partition] ?? 0, next) : (offsets[partition] ?? 0);
        if (wanted < next) subscription.lagging.set(partition, wanted);
        else if (wanted > next) subscription.from.set(partition, wanted);
      }
      clearTimeout(feed.lingerTimer);
      feed.lingerTimer = undefined;
      feed.subscribers.add(subscription);
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
      }));
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

  /** Stops every feed and commits where each stopped. */
  stopFeeds(): void {
    for (const timer of this.pinnedRetry.values()) clearTimeout(timer);
    for (const feed of this.feeds.values()) feed.stop();
    this.feeds.clear();
  }

  private feedFor(topic: string): Promise<TopicFeed> {
    const feed = this.feeds.get(topic);
    if (feed) return Promise.resolve(feed);
    let starting = this.starting.get(topic);
    if (!starting) {
      starting = this.startFeed(topic).finally(() => this.starting.delete(topic));
      this.starting.set(topic, starting);
    }
    return starting;
  }

  private async startFeed(topic: string): Promise<TopicFeed> {
    const { admin, pool, config, logger } = this.deps;
    const partitions = await admin.partitionCount(topic);
    const member = pool.leastLoaded();
    const offsets = await member.committed(topic, partitions);
    if (offsets.some((offset) => offset < 0)) {
      const watermarks = await admin.offsets(topic);
      for (let partition = 0; partition < partitions; partition++) {
        if ((offsets[partition] ?? -1) >= 0) continue;
        const marks = watermarks[partition] ?? { low: 0, high: 0 };
        offsets[partition] = config.kafka.autoOffsetReset === "earliest" ? marks.low : marks.high;
      }
    }
    const pinned = config.kafka.pinnedTopics.includes(topic);
    const feed = new TopicFeed(topic, partitions, offsets, pinned, member, {
      store: this.deps.store,
      deadLetters: this.deps.deadLetters,
      rules: this.deps.rules,
      logger,
      ...(this.deps.membership ? { membership: this.deps.membership } : {}),
      onLagging: (subscription, laggingFeed) => this.scheduleCatchUp(subscription, laggingFeed),
    });
    this.feeds.set(topic, feed);
    logger.info({ topic, partitions, pinned }, `[MANAGER] Created new consumer for topic: ${topic}`);
    return feed;
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

  // Start offsets per partition. "latest" is the end of the topic now; anything before the feed's
  // position is brought by a catch-up reader, anything after it waits for the feed.
  private async startOffsets(feed: TopicFeed, start: StartPosition): Promise<number[]> {
    const { admin } = this.deps;
    switch (start.kind) {
      case "latest": {
        // The end of the topic as librdkafka last saw it; asked of the broker only for a new feed.
        const cached = feed.cachedHighWatermarks();
        if (cached) return cached;
        return (await admin.offsets(feed.topic)).map((marks) => marks.high);
      }
      case "earliest":
        return (await admin.offsets(feed.topic)).map((marks) => marks.low);
      case "time": {
        const [byTime, marks] = await Promise.all([
          admin.offsetsForTime(feed.topic, start.timestampMs),
          admin.offsets(feed.topic),
        ]);
        return marks.map((m, partition) => {
          const offset = byTime[partition] ?? -1;
          return offset < 0 ? m.high : Math.max(offset, m.low);
        });
      }
      case "cursor": {
        const positions = decodeStreamCursor(start.cursor, feed.topic);
        const marks = await admin.offsets(feed.topic);
        // Partitions added since the cursor was issued start at their beginning; offsets Kafka
        // no longer holds start at the oldest it has.
        return marks.map((m, partition) => Math.max(positions[partition] ?? m.low, m.low));
      }
    }
  }

  private scheduleCatchUp(subscription: Subscription, feed: TopicFeed): void {
    if (subscription.catchingUp || !subscription.isOpen) return;
    subscription.catchingUp = true;
    const { consumerSettings, rules, logger } = this.deps;
    this.catchUpReaders
      .execute(async () => {
        await subscription.drained();
        if (subscription.isOpen) await catchUp(consumerSettings, feed, subscription, rules, logger);
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
        subscription.catchingUp = false;
        if (subscription.isOpen && subscription.lagging.size > 0) this.scheduleCatchUp(subscription, feed);
      });
  }

  private release(subscription: Subscription, feed: TopicFeed): void {
    feed.subscribers.delete(subscription);
    this.lingerIfUnused(feed);
  }

  /** A feed nobody uses stops after the linger time, unless someone subscribes meanwhile. */
  private lingerIfUnused(feed: TopicFeed): void {
    if (feed.subscribers.size > 0 || feed.pinned || this.feeds.get(feed.topic) !== feed) return;
    clearTimeout(feed.lingerTimer);
    const { lingerMs } = this.deps.config.streams;
    feed.lingerTimer = setTimeout(() => {
      if (feed.subscribers.size > 0 || this.feeds.get(feed.topic) !== feed) return;
      feed.stop();
      this.feeds.delete(feed.topic);
      this.deps.logger.info(
        `[MANAGER] Removed consumer for topic: ${feed.topic} (no subscribers for ${lingerMs} ms)`,
      );
    }, lingerMs);
    feed.lingerTimer.unref();
  }
}
