// One active topic: the per-message path of pa, top to bottom. A batch of Kafka records is parsed
// and normalized, then made durable as the topic's processing policy says (processed: valid
// payments stored and invalid records dead-lettered, both acknowledged; read-only: nothing
// written), then each payment is fanned out, in partition order, to the subscribers attached to
// the live feed, and finally the group's offsets move past the batch (processed topics only). One
// read of the topic serves every subscriber, whatever their filters.
//
// A processed topic's store and dead-letter producer are guarded (server/resilience): a write
// that still fails after its retries, or whose breaker is open, pauses the topic. Nothing of the
// batch is dead-lettered for that and no offset moves; the partitions are read again from the
// first unprocessed record once the dependency may be back.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Message } from "@confluentinc/kafka-javascript";
import type { Context } from "@opentelemetry/api";
import { type PaymentEvent, PaymentEventSchema, Provider } from "../../gen/payment/payment_pb.js";
import type { DeadLetter } from "../kafka/dead-letter-producer.js";
import type { GroupMembership } from "../kafka/group-membership.js";
import type { PooledConsumer } from "../kafka/pooled-consumer.js";
import { traceHeaders } from "../kafka/record-headers.js";
import type { Logger } from "../observability/logger.js";
import type { TopicMetrics } from "../observability/metrics.js";
import { BatchTraces } from "../observability/record-traces.js";
import type { Tracing } from "../observability/tracing.js";
import { currencyExponent } from "../payment/currencies.js";
import type { InvalidPayment } from "../payment/invalid-payment.js";
import { formatMinor } from "../payment/money.js";
import { type PaymentRules, parsePayment } from "../payment/parse-payment.js";
import type { BreakerState } from "../resilience/dependency-breaker.js";
import { DependencyUnavailableError } from "../resilience/dependency-unavailable-error.js";
import type { StoredPayment } from "../store/payment-store.js";
import type { ProcessingPolicy } from "./processing-policy.js";
import { encodeStreamCursor } from "./stream-cursor.js";
import type { Subscription } from "./subscription.js";

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
  membership?: GroupMembership;
}

const COMMIT_INTERVAL_MS = 500;
// Batches parsed and waiting for (or in) their store write before reading waits.
const MAX_BATCHES_IN_FLIGHT = 4;
// A failure that is not a guarded dependency's (a bug): paused like one, tried again after this.
const UNEXPECTED_FAILURE_RETRY_MS = 5_000;

/** Why a topic's partitions are paused, for GetTopics and logs. */
export interface FeedPause {
  dependency: string;
  reason: string;
  since: Date;
  /** The paused-for dependency's breaker state now. */
  breakerState: () => BreakerState;
}

export class TopicFeed {
  /** partition -> the offset after the last record processed: the feed's position. */
  readonly next: number[];
  readonly subscribers = new Set<Subscription>();
  readonly activeSince = new Date();
  consumed = 0;
  deadLettered = 0;
  /** Records read that are not valid payments, and why the last one was not. */
  invalid = 0;
  lastInvalidReason = "";
  lingerTimer: NodeJS.Timeout | undefined;

  private committed: number[];
  // partition -> the offset after the last record processed (stored or dead-lettered) here. Equal
  // to `next` except just after this instance took over a partition that the previous owner had
  // processed less far than this feed had read: those records are read again, processed only.
  private readonly processedNext: number[];
  private readonly startOffsets: number[];
  // Partitions processed here; undefined: all of them (no group shares this topic).
  private readonly owned: Set<number> | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private pause: FeedPause | undefined;
  private resumeTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  // The tail of the chain of batch writes, and how many batches are on it.
  private writes: Promise<void> = Promise.resolve();
  private batchesInFlight = 0;

  constructor(
    readonly topic: string,
    readonly partitions: number,
    startOffsets: number[],
    private isPinned: boolean,
    private readonly consumer: PooledConsumer,
    private readonly deps: TopicFeedDependencies,
  ) {
    this.startOffsets = [...startOffsets];
    this.next = [...startOffsets];
    this.committed = [...startOffsets];
    this.processedNext = [...startOffsets];
    const membership = deps.membership;
    if (membership?.isMember(topic)) {
      this.owned = new Set();
      membership.listen(topic, {
        assigned: (partitions) => this.takeOver(partitions),
        revoked: (partitions) => this.handOver(partitions),
        released: (partitions) => {
          for (const partition of partitions) this.owned?.delete(partition);
        },
      });
    }
  }

  private owns(partition: number): boolean {
    return this.owned ? this.owned.has(partition) : true;
  }

  // The group gave this instance partitions: process them from the group's committed offset. Where
  // that lies behind what this feed already read (and sent to streams), read again from there and
  // process without sending anything twice.
  private takeOver(partitions: { partition: number; committed: number }[]): void {
    if (this.stopped) return;
    let rewind = false;
    for (const { partition, committed } of partitions) {
      this.owned?.add(partition);
      const next = this.next[partition] ?? 0;
      // Nothing committed: from where this feed began (KAFKA_AUTO_OFFSET_RESET decided it).
      const from = Math.min(committed >= 0 ? committed : (this.startOffsets[partition] ?? next), next);
      this.processedNext[partition] = from;
      this.committed[partition] = committed;
      if (from < next) rewind = true;
    }
    // Re-assigned rather than sought: a seek on a partition whose first fetch has not started yet
    // fails. Records of the old assignment still in flight are filtered out as already handled.
    if (rewind && this.started && !this.pause) {
      this.consumer.removeTopic(this.topic, this.partitions);
      this.consumer.addTopic(this.topic, this.readPositions(), this.handle);
    }
  }

  // Partitions move to another instance: record how far they were processed here, while still ours.
  private handOver(partitions: number[]): void {
    const offsets = partitions
      .filter((partition) => this.owned?.has(partition))
      .map((partition) => ({ topic: this.topic, partition, offset: this.processedNext[partition] ?? 0 }));
    try {
      this.deps.membership?.commitSync(offsets.filter((offset) => offset.offset >= 0));
    } catch (error) {
      this.deps.logger.warn(
        { err: error, topic: this.topic },
        `[CONSUMER:${this.topic}] hand-over commit failed`,
      );
    }
    for (const partition of partitions) this.owned?.delete(partition);
  }

  /** Where reading resumes per partition: the first record not yet processed or not yet sent. */
  private readPositions(): number[] {
    return this.next.map((next, partition) =>
      this.owns(partition) ? Math.min(next, this.processedNext[partition] ?? next) : next,
    );
  }

  private started = false;

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

  /** Makes an on-demand feed pinned (KAFKA_TOPIC names a topic someone already watches). */
  pin(): void {
    this.isPinned = true;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
  }

  /** Starts reading (once); until then `next` holds where reading will begin. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.consumer.addTopic(this.topic, this.readPositions(), this.handle);
    if (!this.deps.policy.committer) return;
    this.commitTimer = setInterval(() => this.commit(), COMMIT_INTERVAL_MS);
    this.commitTimer.unref();
  }

  /** Stops reading and records the final position. */
  stop(): void {
    clearInterval(this.commitTimer);
    clearTimeout(this.lingerTimer);
    clearTimeout(this.resumeTimer);
    if (!this.started || this.stopped) return;
    this.stopped = true;
    this.deps.membership?.unlisten(this.topic);
    // A paused topic has no partitions assigned.
    if (!this.pause) this.consumer.removeTopic(this.topic, this.partitions);
    this.commit(true);
  }

  /** Why the topic is paused; undefined while it is processing. */
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

  /** The cursor of a subscriber's position: its own offsets where it lags or starts ahead. */
  cursorFor(subscription: Subscription): string {
    if (subscription.isSimple) return encodeStreamCursor(this.topic, this.next);
    const positions = this.next.map(
      (next, partition) =>
        subscription.lagging.get(partition) ?? Math.max(subscription.from.get(partition) ?? 0, next),
    );
    return encodeStreamCursor(this.topic, positions);
  }

  event(stored: StoredPayment, record: Pick<Message, "partition" | "offset" | "timestamp">, cursor: string) {
    return create(PaymentEventSchema, {
      payment: stored.payment,
      eventType: "new",
      topic: this.topic,
      partition: record.partition,
      offset: BigInt(record.offset),
      kafkaTimestamp: timestampFromMs(record.timestamp ?? 0),
      cursor,
    });
  }

  private readonly handle = async (batch: Message[]): Promise<void> => {
    // Records fetched before a pause can still arrive; the resumed read delivers them again.
    if (this.pause || this.stopped) return;
    // Already processed (a re-delivery around a pause): never stored, sent or counted twice.
    // Records read again after a take-over are kept for processing only.
    const records = batch.filter(
      (record) =>
        record.offset >= (this.next[record.partition] ?? 0) ||
        (this.owns(record.partition) && record.offset >= (this.processedNext[record.partition] ?? 0)),
    );
    const nowMs = Date.now();
    const payments: (StoredPayment | undefined)[] = new Array(records.length);
    const rejected: (InvalidPayment | undefined)[] = new Array(records.length);
    const valid: StoredPayment[] = [];
    const letters: DeadLetter[] = [];
    const { tracing } = this.deps;
    const traces = tracing.enabled
      ? BatchTraces.of(tracing, this.topic, records, records.map(traceHeaders))
      : undefined;
    const writes = !this.deps.policy.readOnly;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as Message;
      const kafkaTimestampMs = record.timestamp ?? nowMs;
      const parseSpan = traces?.parse(i);
      const outcome = parsePayment(record.value, { kafkaTimestampMs, nowMs }, this.deps.rules);
      parseSpan?.end();
      if (outcome.ok) {
        const stored: StoredPayment = {
          payment: outcome.payment,
          source: { topic: this.topic, partition: record.partition, offset: record.offset, kafkaTimestampMs },
        };
        payments[i] = stored;
        // Another instance stores (and dead-letters) the partitions the group gave it.
        if (this.owns(record.partition)) {
          valid.push(stored);
          if (writes) traces?.willWrite(i, "store");
        }
        continue;
      }
      rejected[i] = outcome.invalid;
      if (this.owns(record.partition)) {
        if (writes) traces?.willWrite(i, "dead-letter");
        letters.push({
          topic: this.topic,
          partition: record.partition,
          offset: record.offset,
          key: record.key as Buffer | null | undefined,
          value: record.value,
          error: outcome.invalid.code,
          reason: outcome.invalid.reason,
          retryCount: 0,
          sourceHeaders: record.headers,
        });
      }
    }

    // Pipelined: this batch's writes queue behind the previous batch's and the handler returns, so
    // the next batch is fetched and parsed while the store writes (in its own thread) instead of
    // after. Writes, fan-out and offsets still follow batch order: each step waits for the one
    // before it, and nothing after a failed write is written, sent or committed. `written` is how
    // many records were dead-lettered, undefined when the batch was not written.
    const written = this.writes.then(async (): Promise<number | undefined> => {
      if (this.pause || this.stopped) {
        traces?.written();
        return undefined;
      }
      traces?.writing(this.topic);
      try {
        // Stored and dead-lettered, as the topic's policy says: a read-only topic writes nothing.
        const deadLettered = await this.deps.policy.persist(valid, letters);
        traces?.written();
        return deadLettered;
      } catch (error) {
        traces?.written(error);
        // Transient by definition: a poison record never gets here, it is a letter above.
        this.pauseFor(error);
        return undefined;
      }
    });
    this.writes = written.then(
      (deadLettered) => {
        if (deadLettered !== undefined && !this.stopped)
          this.deliver(records, payments, rejected, deadLettered, traces);
        traces?.end();
      },
      (error: unknown) =>
        this.deps.logger.error({ err: error, topic: this.topic }, `[CONSUMER:${this.topic}] batch failed`),
    );
    // Bounded: with this many batches waiting for the store, reading waits too.
    this.batchesInFlight++;
    void this.writes.finally(() => this.batchesInFlight--);
    if (this.batchesInFlight >= MAX_BATCHES_IN_FLIGHT) await this.writes;
  };

  /** After a batch is persisted (stored and dead-lettered, or not at all): its position, its events, its counts. */
  private deliver(
    records: Message[],
    payments: (StoredPayment | undefined)[],
    rejected: (InvalidPayment | undefined)[],
    deadLettered: number,
    traces: BatchTraces | undefined,
  ): void {
    const debug = this.deps.logger.isLevelEnabled("debug");
    let fresh = 0;
    let freshPayments = 0;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as Message;
      const { partition, offset } = record;
      if (this.owns(partition) && offset >= (this.processedNext[partition] ?? 0))
        this.processedNext[partition] = offset + 1;
      // Read again after a take-over: processed above, already sent and counted before.
      if (offset < (this.next[partition] ?? 0)) continue;
      this.next[partition] = offset + 1;
      fresh++;
      const stored = payments[i];
      if (!stored) {
        this.invalid++;
        // A read-only topic may hold anything (a users topic): its reasons quote record text, so
        // only the error code is shown to whoever may stream the topic.
        const why = rejected[i];
        this.lastInvalidReason = (this.deps.policy.readOnly ? why?.code : why?.reason) ?? "";
        if (this.deps.policy.readOnly) this.deps.metrics.invalidReadOnly(why?.code ?? "unknown");
        continue;
      }
      freshPayments++;
      if (debug) this.logPayment(stored);
      if (this.subscribers.size > 0) this.fanOut(stored, record, traces?.contextOf(i));
    }
    this.consumed += fresh;
    this.deadLettered += deadLettered;
    this.deps.metrics.recordsConsumed.inc(fresh);
    this.deps.metrics.paymentsProcessed.inc(freshPayments);
    if (this.subscribers.size > 0) this.settleStartOffsets();
  }

  // Stops fetching the topic (librdkafka drops what it pre-fetched) and schedules the resume.
  private pauseFor(error: unknown): void {
    const unavailable = error instanceof DependencyUnavailableError ? error : undefined;
    const retryAfterMs = unavailable?.retryAfterMs ?? UNEXPECTED_FAILURE_RETRY_MS;
    this.pause = {
      dependency: unavailable?.dependency ?? "unknown",
      reason: error instanceof Error ? error.message : String(error),
      since: new Date(),
      breakerState: unavailable?.breakerState ?? (() => "open"),
    };
    this.consumer.removeTopic(this.topic, this.partitions);
    const message = `[CONSUMER:${this.topic}] Paused at offsets [${this.next.join(",")}]: ${this.pause.reason}; trying again in ${retryAfterMs}ms`;
    const fields = { topic: this.topic, offsets: this.next, retryAfterMs };
    if (unavailable) this.deps.logger.warn(fields, message);
    else this.deps.logger.error({ ...fields, err: error }, message);
    this.resumeTimer = setTimeout(() => this.resume(), retryAfterMs);
    this.resumeTimer.unref();
  }

  // Reads again from the first unprocessed record of each partition; the first batch is the probe.
  private resume(): void {
    if (this.stopped || !this.pause) return;
    const { dependency } = this.pause;
    this.pause = undefined;
    this.consumer.addTopic(this.topic, this.readPositions(), this.handle);
    this.deps.logger.info(
      { topic: this.topic, offsets: this.next, dependency },
      `[CONSUMER:${this.topic}] Resumed from offsets [${this.next.join(",")}] (was paused for ${dependency})`,
    );
  }

  private fanOut(stored: StoredPayment, record: Message, traced: Context | undefined): void {
    const { partition, offset } = record;
    let shared: PaymentEvent | undefined;
    for (const subscription of this.subscribers) {
      if (subscription.lagging.has(partition)) continue;
      if (subscription.from.size > 0) {
        const from = subscription.from.get(partition);
        if (from !== undefined) {
          if (offset < from) continue;
          subscription.from.delete(partition);
        }
      }
      if (!subscription.accepts(stored.payment)) continue;
      if (!subscription.hasRoom(stored.payment.id)) {
        // Not dropped: this partition is read again from this offset for this subscriber alone.
        subscription.lagging.set(partition, offset);
        this.deps.onLagging(subscription, this);
        continue;
      }
      if (subscription.isSimple) {
        if (!shared) {
          shared = this.event(stored, record, encodeStreamCursor(this.topic, this.next));
          if (traced) this.deps.tracing.linkEvent(shared, traced);
        }
        subscription.push(shared);
      } else {
        const event = this.event(stored, record, this.cursorFor(subscription));
        if (traced) this.deps.tracing.linkEvent(event, traced);
        subscription.push(event);
      }
    }
  }

  // A subscriber that started ahead of the feed needs no start offset once the feed passed it.
  private settleStartOffsets(): void {
    for (const subscription of this.subscribers) {
      if (subscription.from.size === 0) continue;
      for (const [partition, from] of subscription.from) {
        if ((this.next[partition] ?? 0) >= from) subscription.from.delete(partition);
      }
    }
  }

  // The group's position moves to what was processed here, on the partitions processed here, through
  // the policy's committer; a read-only topic has none and commits nothing.
  private commit(sync = false): void {
    const committer = this.deps.policy.committer;
    if (!committer) return;
    const offsets = [];
    for (let partition = 0; partition < this.partitions; partition++) {
      if (!this.owns(partition)) continue;
      const offset = this.processedNext[partition] ?? 0;
      if (offset >= 0 && offset !== this.committed[partition])
        offsets.push({ topic: this.topic, partition, offset });
    }
    if (offsets.length === 0) return;
    if (sync) {
      try {
        committer.commitSync(offsets);
      } catch (error) {
        this.deps.logger.warn(
          { err: error, topic: this.topic },
          `[CONSUMER:${this.topic}] final commit failed`,
        );
        return;
      }
    } else {
      committer.commit(offsets);
    }
    for (const { partition, offset } of offsets) this.committed[partition] = offset;
  }

  private logPayment(stored: StoredPayment): void {
    const p = stored.payment;
    const amount = formatMinor(p.amountMinor, currencyExponent(p.currency) ?? 2);
    this.deps.logger.debug(
      `[CONSUMER:${this.topic}] ${p.id} | ${Provider[p.provider]} | ${amount} ${p.currency}`,
    );
  }
}
