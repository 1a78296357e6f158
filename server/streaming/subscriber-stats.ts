// How far each subscriber of a topic is behind: its lag behind the topic's head in records and the
// latency of its last written event. Computed when asked (GetTopics, a /metrics scrape) from state
// the feed and subscriptions keep anyway, so the per-message path does no extra work for it.
import type { Subscription } from "./subscription.js";
import type { TopicFeed } from "./topic-feed.js";

export interface SubscriberStat {
  peer: string;
  identity: string;
  /** Records between what the client was last handed and the topic's head, over all partitions. */
  lagRecords: number;
  /** Kafka timestamp to write of the last event written to it; undefined before the first. */
  latencyMs: number | undefined;
}

export interface SubscriberSummary {
  lagP50: number;
  lagP99: number;
  latencyP50Ms: number | undefined;
  latencyP99Ms: number | undefined;
  /** The most records behind (the longest latency among equals). */
  slowest: SubscriberStat;
}

/**
 * A subscriber's lag: per partition, the head minus where it stands (its own catch-up position
 * where it lags, the feed's where it is attached), plus what waits in its queue. Undefined while
 * librdkafka has not reported the head of every partition yet.
 */
export function subscriberLag(feed: TopicFeed, subscription: Subscription): number | undefined {
  const heads = feed.cachedHighWatermarks();
  if (!heads) return undefined;
  let lag = subscription.queued;
  for (let partition = 0; partition < heads.length; partition++) {
    const next = feed.next[partition] ?? 0;
    const position =
      subscription.lagging.get(partition) ?? Math.max(subscription.from.get(partition) ?? 0, next);
    lag += Math.max(0, (heads[partition] ?? 0) - position);
  }
  return lag;
}

export function subscriberStats(feed: TopicFeed): SubscriberStat[] {
  const stats: SubscriberStat[] = [];
  for (const subscription of feed.subscribers) {
    const lagRecords = subscriberLag(feed, subscription);
    if (lagRecords === undefined) return [];
    stats.push({
      peer: subscription.subscriber.peer,
      identity: subscription.subscriber.identity,
      lagRecords,
      latencyMs: subscription.deliveryLatencyMs,
    });
  }
  return stats;
}

/** Nearest-rank percentile of ascending values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export function summarize(stats: SubscriberStat[]): SubscriberSummary | undefined {
  if (stats.length === 0) return undefined;
  const lags = stats.map((s) => s.lagRecords).sort((a, b) => a - b);
  const latencies = stats
    .map((s) => s.latencyMs)
    .filter((l): l is number => l !== undefined)
    .sort((a, b) => a - b);
  const slowest = stats.reduce((worst, s) =>
    s.lagRecords > worst.lagRecords ||
    (s.lagRecords === worst.lagRecords && (s.latencyMs ?? -1) > (worst.latencyMs ?? -1))
      ? s
      : worst,
  );
  return {
    lagP50: percentile(lags, 50),
    lagP99: percentile(lags, 99),
    latencyP50Ms: latencies.length > 0 ? percentile(latencies, 50) : undefined,
    latencyP99Ms: latencies.length > 0 ? percentile(latencies, 99) : undefined,
    slowest,
  };
}
