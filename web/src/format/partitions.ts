// TopicStatus' partition lists as the health panel shows them: the partitions this instance
// processes as ranges, and the partitions nobody in the group processes with what waits on each.
import type { UnprocessedPartition } from "../../../gen/payment/payment_pb.js";

/** Partition numbers as ascending ranges, "0-2, 5"; "none" for an empty list. */
export function partitionRanges(partitions: readonly number[]): string {
  if (partitions.length === 0) return "none";
  const sorted = [...new Set(partitions)].sort((a, b) => a - b);
  const ranges: string[] = [];
  let start = sorted[0] as number;
  let end = start;
  for (const partition of sorted.slice(1)) {
    if (partition === end + 1) {
      end = partition;
      continue;
    }
    ranges.push(start === end ? `${start}` : `${start}-${end}`);
    start = end = partition;
  }
  ranges.push(start === end ? `${start}` : `${start}-${end}`);
  return ranges.join(", ");
}

/** One unprocessed partition: how many records wait, since when, and whose it is. */
export function unprocessedPartition(partition: UnprocessedPartition): string {
  const waiting = partition.endOffset - partition.committedOffset;
  const since = partition.stalledSince
    ? ` since ${new Date(Number(partition.stalledSince.seconds) * 1000).toISOString().slice(11, 19)} UTC`
    : "";
  const owner = partition.assignedTo ? `assigned to ${partition.assignedTo}` : "unassigned (rebalancing)";
  return `p${partition.partition}: ${waiting.toLocaleString()} waiting${since}, ${owner}`;
}

/** Every unprocessed partition of a topic, in partition order; undefined when there is none. */
export function unprocessedPartitions(partitions: readonly UnprocessedPartition[]): string | undefined {
  if (partitions.length === 0) return undefined;
  return [...partitions]
    .sort((a, b) => a.partition - b.partition)
    .map(unprocessedPartition)
    .join(" · ");
}
