// Reads, for one subscriber that fell behind (or asked to start in the past), the partitions it
// lags on, from its own offsets, until it meets the topic's live feed; then it attaches the
// subscriber to the feed again. Its own reader (a librdkafka client behind RecordSource), opened for
// the job and kept while the subscriber keeps falling behind (a client slower than a busy topic
// overflows again soon after each attach): connecting a new client per overflow cost more than the
// reading itself.
import type { PartitionRecordReader } from "../kafka/record-source.js";
import type { Logger } from "../observability/logger.js";
import { type PaymentRules, parsePayment } from "../payment/parse-payment.js";
import type { Subscription } from "./subscription.js";
import type { TopicFeed } from "./topic-feed.js";

/** Records fetched at once; also how far past its bound a subscriber's queue can grow. */
export const MAX_CATCH_UP_BATCH = 500;
/** How long a reader whose subscriber caught up stays open in case it falls behind again. */
export const CATCH_UP_KEEP_OPEN_MS = 2_000;

export interface CatchUpOptions {
  /** Whether other subscribers wait for a reader: then one whose subscriber caught up closes at once. */
  othersWaiting: () => boolean;
}

export async function catchUp(
  openReader: (topic: string) => Promise<PartitionRecordReader>,
  feed: TopicFeed,
  subscription: Subscription,
  rules: PaymentRules,
  logger: Logger,
  options: CatchUpOptions = { othersWaiting: () => false },
): Promise<void> {
  attachWhereCaughtUp(feed, subscription);
  if (subscription.lagging.size === 0 || !subscription.isOpen) return;

  const reader = await openReader(feed.topic);
  try {
    // Partitions this reader reads, at the offsets the subscriber needs. Others may start lagging
    // while it runs (the live queue overflowed again): they are added as they appear.
    const assigned = new Set<number>();
    const assignLagging = () => {
      const added = [...subscription.lagging].filter(([partition]) => !assigned.has(partition));
      if (added.length === 0) return;
      for (const [partition] of added) assigned.add(partition);
      reader.assign(added.map(([partition, offset]) => ({ partition, offset })));
    };
    const detach = (partition: number) => {
      assigned.delete(partition);
      reader.unassign([partition]);
    };

    const lagsAgain = async () =>
      subscription.isOpen &&
      !options.othersWaiting() &&
      (await subscription.lagsAgain(CATCH_UP_KEEP_OPEN_MS));
    while (subscription.isOpen && (subscription.lagging.size > 0 || (await lagsAgain()))) {
      assignLagging();
      const room = subscription.room();
      if (room <= 0) {
        await subscription.roomAvailable();
        continue;
      }
      const records = await reader.read(Math.min(room, MAX_CATCH_UP_BATCH));
      const nowMs = Date.now();
      let served = 0;
      for (const record of records) {
        const { partition, offset } = record;
        const wanted = subscription.lagging.get(partition);
        if (wanted === undefined || !assigned.has(partition) || offset < wanted) continue;
        if (offset >= (feed.next[partition] ?? 0)) {
          // Read in order from `wanted`: nothing between it and this record exists, and the feed
          // has not passed this record yet, so the feed delivers it.
          attach(feed, subscription, partition, wanted);
          detach(partition);
          continue;
        }
        const outcome = parsePayment(
          record.value,
          { kafkaTimestampMs: record.timestamp ?? nowMs, nowMs },
          rules,
        );
        subscription.caughtUpTo(partition, offset + 1);
        if (outcome.ok && subscription.accepts(outcome.payment)) {
          // Pushed even when live partitions filled the queue while this batch was fetched: the
          // batch was sized to the room there was, so the queue exceeds its bound by one batch at most.
          const stored = {
            payment: outcome.payment,
            source: { topic: feed.topic, partition, offset, kafkaTimestampMs: record.timestamp ?? nowMs },
          };
          subscription.push(feed.event(stored, record, feed.cursorFor(subscription)));
          served++;
        }
        if (offset + 1 >= (feed.next[partition] ?? 0)) {
          attach(feed, subscription, partition, offset + 1);
          detach(partition);
        }
      }
      feed.metrics.catchUpEvents.inc(served);
      for (const partition of attachWhereCaughtUp(feed, subscription)) {
        if (assigned.has(partition)) detach(partition);
      }
    }
  } catch (error) {
    logger.warn({ err: error, topic: feed.topic }, `[CONSUMER:${feed.topic}] catch-up read failed`);
    throw error;
  } finally {
    await reader.close();
  }
}

function attach(feed: TopicFeed, subscription: Subscription, partition: number, wanted: number): void {
  feed.rejoin(subscription, partition, wanted);
}

/** Attaches every lagging partition whose next wanted offset the feed has not yet passed. */
function attachWhereCaughtUp(feed: TopicFeed, subscription: Subscription): number[] {
  const attached: number[] = [];
  for (const [partition, wanted] of subscription.lagging) {
    if (wanted >= (feed.next[partition] ?? 0)) {
      attach(feed, subscription, partition, wanted);
      attached.push(partition);
    }
  }
  return attached;
}
