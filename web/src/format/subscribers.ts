// GetTopics' view of a topic's subscribers as the health panel shows it: how far behind they are
// (records and latency, median / p99) and which one is the slowest.
import type { TopicStatus } from "../../../gen/payment/payment_pb.js";

const ms = (value: number | undefined) => (value === undefined ? "?" : `${value.toLocaleString()} ms`);

/** Lag (records) and latency over the topic's subscribers: median / 99th percentile. */
export function subscribersBehind(status: TopicStatus): string | undefined {
  if (status.subscriberLagP50 === undefined) return undefined;
  const lag = `${status.subscriberLagP50.toLocaleString()} / ${(status.subscriberLagP99 ?? 0n).toLocaleString()} records`;
  return `${lag} · ${ms(status.deliveryLatencyP50Ms)} / ${ms(status.deliveryLatencyP99Ms)}`;
}

/** The subscriber most records behind: who, from where, how far and how late. */
export function slowestSubscriber(status: TopicStatus): string | undefined {
  if (!status.slowestSubscriberPeer && !status.slowestSubscriberIdentity) return undefined;
  const who = `${status.slowestSubscriberIdentity || "?"} at ${status.slowestSubscriberPeer || "?"}`;
  return `${who} · ${(status.slowestSubscriberLag ?? 0n).toLocaleString()} behind · ${ms(status.slowestSubscriberLatencyMs)}`;
}
