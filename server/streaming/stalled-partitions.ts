// Which partitions of a shared topic nobody in the group processes: records wait (the partition's
// end lies beyond the group's committed offset) and the committed offset has not moved for a
// while. Every owner commits its view's position every half second while it stores, so a commit
// that stands still with records waiting means the owner stopped (SIGKILL, SIGSTOP, a lost host:
// the group still counts it until its session times out) or cannot store (its view is paused).
// Pure bookkeeping over samples, with no Kafka in it.

/**
 * One sample of a partition: the group's committed offset (where nothing is committed yet, the
 * partition's start) and its end.
 */
export interface PartitionProgress {
  partition: number;
  committed: number;
  end: number;
}

/** A partition whose commits stand still while records wait. */
export interface StalledPartition {
  partition: number;
  committed: number;
  end: number;
  /** Since when (epoch ms) the committed offset has not moved with records waiting. */
  sinceMs: number;
}

export class StalledPartitions {
  // partition -> the last sample where records waited, and since when its commit stands still
  private readonly waiting = new Map<number, StalledPartition>();

  /** `afterMs`: how long a commit may stand still with records waiting before it counts. */
  constructor(private readonly afterMs: number) {}

  observe(nowMs: number, samples: readonly PartitionProgress[]): void {
    for (const { partition, committed, end } of samples) {
      if (end <= committed) {
        this.waiting.delete(partition);
        continue;
      }
      const before = this.waiting.get(partition);
      const sinceMs = before && before.committed === committed ? before.sinceMs : nowMs;
      this.waiting.set(partition, { partition, committed, end, sinceMs });
    }
  }

  /** The partitions whose commit has stood still with records waiting for `afterMs` or more. */
  stalled(nowMs: number): StalledPartition[] {
    return [...this.waiting.values()]
      .filter(({ sinceMs }) => nowMs - sinceMs >= this.afterMs)
      .sort((a, b) => a.partition - b.partition);
  }
}
