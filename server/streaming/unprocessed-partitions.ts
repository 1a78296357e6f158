// Under SHARE_PROCESSING: the partitions of the shared topics that nobody in the group processes
// right now, as this instance sees them from the group's commits. An instance that was SIGKILLed or
// frozen (SIGSTOP, a stalled VM) stays a member, with its partitions, until its session times out
// (KAFKA_SESSION_TIMEOUT), and an instance whose view is paused keeps its partitions; either way
// their records wait while every /readyz and GetTopics elsewhere looks fine. Sampled once a second
// (the group's committed offsets and the partitions' ends), off the message path; the group is
// described only when something stalled, to say whom the partition is assigned to.
import type { Logger } from "../observability/logger.js";
import { StalledPartitions } from "./stalled-partitions.js";

/** A partition whose committed offset stands still while records wait. */
export interface UnprocessedPartition {
  partition: number;
  /** The group's committed offset (the next record to process; the partition's start when none). */
  committed: number;
  /** The partition's end (high watermark) at the last sample. */
  end: number;
  /** Since when (epoch ms) the committed offset has not moved with records waiting. */
  sinceMs: number;
  /** The member the group assigned it to ("pa-host-1234 at 10.0.0.7"); empty when it does not say. */
  assignedTo: string;
}

/**
 * What the watch asks Kafka. The sample every second goes through a pooled client of pa's group
 * and the live feed's cached partition ends, never the admin API: librdkafka aborts the process
 * when an admin group request times out after its broker went away (librdkafka issue 4605). Only
 * naming the holder of a stalled partition describes the group, and only while Kafka is reachable.
 */
export interface GroupProgressSource {
  /** The group's committed offset per partition (-1001 where none). */
  committedOffsets(topic: string, partitions: number): Promise<number[]>;
  /** Each partition's end as the topic's live feed last saw it; undefined while unknown. */
  ends(topic: string): number[] | undefined;
  /** partition -> the member the group assigned it to (the admin API's DescribeGroups). */
  assignments(topic: string): Promise<Map<number, string>>;
  /** Whether the broker answered the last readiness probe. */
  reachable(): boolean;
}

export interface UnprocessedPartitionsOptions {
  topics: readonly string[];
  /** How long a commit may stand still with records waiting before the partition counts. */
  stalledAfterMs: number;
  /** How often the group's commits are sampled. */
  intervalMs: number;
}

export class UnprocessedPartitions {
  private readonly trackers = new Map<string, StalledPartitions>();
  private readonly found = new Map<string, UnprocessedPartition[]>();
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  constructor(
    private readonly source: GroupProgressSource,
    private readonly options: UnprocessedPartitionsOptions,
    private readonly logger: Logger,
  ) {
    for (const topic of options.topics)
      this.trackers.set(topic, new StalledPartitions(options.stalledAfterMs));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sample(), this.options.intervalMs);
    this.timer.unref();
  }

  /**
   * Stops sampling. A sample in flight is not waited for: its calls wait at most a second each,
   * and a shutdown that waited for a group description after a freeze ran past its deadline.
   */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The topic's partitions nobody processes, as of the last sample (none for a topic not shared). */
  of(topic: string): UnprocessedPartition[] {
    return this.found.get(topic) ?? [];
  }

  /** Samples every shared topic once (the timer calls it; tests may too). */
  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      for (const [topic, tracker] of this.trackers) await this.sampleTopic(topic, tracker);
    } finally {
      this.sampling = false;
    }
  }

  private async sampleTopic(topic: string, tracker: StalledPartitions): Promise<void> {
    // Kafka unreachable: /readyz says so already; the last sample stands until the next one.
    if (!this.source.reachable()) return;
    const ends = this.source.ends(topic);
    if (!ends) return;
    try {
      const committed = await this.source.committedOffsets(topic, ends.length);
      const nowMs = Date.now();
      tracker.observe(
        nowMs,
        // No commit at all: counted from offset 0 (the records a partition ever held).
        ends.map((end, partition) => ({
          partition,
          committed: Math.max(0, committed[partition] ?? -1),
          end,
        })),
      );
      const stalled = tracker.stalled(nowMs);
      const holders =
        stalled.length > 0 && this.source.reachable() ? await this.source.assignments(topic) : new Map();
      const now = stalled.map((s) => ({ ...s, assignedTo: holders.get(s.partition) ?? "" }));
      this.report(topic, this.of(topic), now);
      this.found.set(topic, now);
    } catch (error) {
      this.logger.debug({ err: error, topic }, "[GROUP] could not sample the group's progress");
    }
  }

  // One line when a partition stops being processed, one when it is processed again.
  private report(topic: string, before: UnprocessedPartition[], now: UnprocessedPartition[]): void {
    const was = new Set(before.map(({ partition }) => partition));
    const is = new Set(now.map(({ partition }) => partition));
    for (const p of now) {
      if (was.has(p.partition)) continue;
      const seconds = Math.round((Date.now() - p.sinceMs) / 1000);
      this.logger.warn(
        { topic, ...p },
        `[GROUP] Nobody processes ${topic} partition ${p.partition}: ${p.end - p.committed} records wait and the group's commit has stood at ${p.committed} for ${seconds} s; assigned to ${p.assignedTo || "no member the group names"}`,
      );
    }
    for (const p of before) {
      if (!is.has(p.partition))
        this.logger.info(
          { topic, partition: p.partition },
          `[GROUP] ${topic} partition ${p.partition} is processed again`,
        );
    }
  }
}
