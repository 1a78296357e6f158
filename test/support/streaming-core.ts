// A topic's live feed over the in-memory record source, with subscribers and catch-up readers
// wired as StreamHub wires them, for unit tests of the streaming core without a broker.
import type { PaymentEvent } from "../../gen/payment/payment_pb.js";
import { createPaymentGenerator } from "../../server/demo/payment-generator.js";
import { createLogger } from "../../server/observability/logger.js";
import { PaMetrics } from "../../server/observability/metrics.js";
import { Tracing } from "../../server/observability/tracing.js";
import { DEFAULT_AMOUNT_UNITS, parseAmountUnits } from "../../server/payment/amount-units.js";
import type { PaymentRules } from "../../server/payment/parse-payment.js";
import { type CatchUpOptions, catchUp } from "../../server/streaming/catch-up-reader.js";
import { type ProcessingPolicy, READ_ONLY } from "../../server/streaming/processing-policy.js";
import { QueueBudget } from "../../server/streaming/queue-budget.js";
import { type StreamFilter, Subscription } from "../../server/streaming/subscription.js";
import { TopicFeed } from "../../server/streaming/topic-feed.js";
import type { AppendedRecord, FakeRecordSource } from "./fake-record-source.js";

export const silentLogger = createLogger({ level: "silent", format: "json" });
export const rules: PaymentRules = { amountUnits: parseAmountUnits(DEFAULT_AMOUNT_UNITS) };

/** `count` valid payments, record i on partition i % partitions. */
export function payments(count: number, partitions: number, seed = 1): AppendedRecord[] {
  const generator = createPaymentGenerator({ seed });
  return Array.from({ length: count }, (_, i) => {
    const { key, value } = generator.valid();
    return { partition: i % partitions, key, value };
  });
}

export interface CoreOptions {
  partitions: number;
  /** Where the feed starts reading each partition (default: 0). */
  startOffsets?: number[];
  policy?: ProcessingPolicy;
  /** Whether other subscribers wait for a catch-up reader (then one closes as soon as it is done). */
  othersWaiting?: CatchUpOptions["othersWaiting"];
  /** How long an idle view waits for more records before it writes (the feed's default if unset). */
  viewGatherMs?: number;
}

/** One feed, its subscribers, and the catch-up readers it starts, as the hub runs them. */
export class StreamingCore {
  readonly feed: TopicFeed;
  readonly budget = new QueueBudget(1_000_000);
  /** Catch-up runs started, and the ones running. */
  catchUps = 0;
  private readonly running = new Set<Promise<void>>();
  readonly failures: unknown[] = [];

  constructor(
    readonly source: FakeRecordSource,
    readonly topic: string,
    private readonly options: CoreOptions,
  ) {
    this.feed = new TopicFeed(
      topic,
      options.partitions,
      options.startOffsets ?? new Array<number>(options.partitions).fill(0),
      false,
      source.leastLoaded(),
      {
        policy: options.policy ?? READ_ONLY,
        rules,
        logger: silentLogger,
        metrics: new PaMetrics().forTopic(topic),
        tracing: Tracing.off(),
        onLagging: (subscription) => this.scheduleCatchUp(subscription),
        openViewReader: () => source.openViewReader(topic),
        ...(options.viewGatherMs === undefined ? {} : { viewGatherMs: options.viewGatherMs }),
      },
    );
  }

  /** A subscriber starting at `wanted[partition]` (default: where the feed is), attached like StreamHub.subscribe. */
  subscribe(capacity: number, wanted?: number[], filter: StreamFilter = {}): Subscription {
    const subscription = new Subscription(
      this.topic,
      filter,
      capacity,
      (s) => this.feed.detach(s),
      this.budget,
    );
    for (let partition = 0; partition < this.feed.partitions; partition++) {
      const next = this.feed.next[partition] ?? 0;
      subscription.startAt(partition, wanted?.[partition] ?? next, next);
    }
    this.feed.attach(subscription);
    this.feed.start();
    if (subscription.lagging.size > 0) this.scheduleCatchUp(subscription);
    return subscription;
  }

  /** Resolves once no catch-up reader runs. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  // As StreamHub.scheduleCatchUp, without the bulkhead.
  private scheduleCatchUp(subscription: Subscription): void {
    if (!subscription.beginCatchUp()) return;
    this.catchUps++;
    const work = async () => {
      try {
        await subscription.drained();
        if (!subscription.isOpen) return;
        await catchUp(
          (topic) => this.source.openCatchUpReader(topic),
          this.feed,
          subscription,
          rules,
          silentLogger,
          {
            othersWaiting: this.options.othersWaiting ?? (() => true),
          },
        );
      } catch (error) {
        this.failures.push(error);
      }
    };
    const run: Promise<void> = work().finally(() => {
      subscription.endCatchUp();
      this.running.delete(run);
      if (subscription.isOpen && subscription.lagging.size > 0) this.scheduleCatchUp(subscription);
    });
    this.running.add(run);
  }
}

/** Takes a subscription's events as a client would, until closed. */
export function drain(subscription: Subscription): { events: PaymentEvent[]; done: Promise<void> } {
  const events: PaymentEvent[] = [];
  const done = (async () => {
    for await (const event of subscription.events()) events.push(event);
  })();
  return { events, done };
}

/** "partition:offset" of each event, in the order received. */
export function positions(events: readonly PaymentEvent[]): string[] {
  return events.map((event) => `${event.partition}:${event.offset}`);
}

/** The offsets received on one partition, in the order received. */
export function offsetsOn(events: readonly PaymentEvent[], partition: number): number[] {
  return events.filter((event) => event.partition === partition).map((event) => Number(event.offset));
}

/** from, from + 1, ..., to - 1 */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
