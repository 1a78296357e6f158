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

/** What the watch asks Kafka (TopicAdmin). */
export interface GroupProgressSource {
  committedOffsets(groupId: string, topic: string): Promise<number[]>;
  offsets(topic: string): Promise<{ low: number; high: number }[]>;
  assignments(groupId: string, topic: string): Promise<Map<number, string>>;
}

export interface UnprocessedPartitionsOptions {
  groupId: string;
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
    const { groupId } = this.options;
    try {
      const [ends, committed] = await Promise.all([
        this.source.offsets(topic),
        this.source.committedOffsets(groupId, topic),
      ]);
      const nowMs = Date.now();
      tracker.observe(
        nowMs,
        ends.map((marks, partition) => ({
          partition,
          committed: (committed[partition] ?? -1) >= 0 ? (committed[partition] as number) : marks.low,
          end: marks.high,
        })),
      );
      const stalled = tracker.stalled(nowMs);
      const holders = stalled.length > 0 ? await this.source.assignments(groupId, topic) : new Map();
      const now = stalled.map((s) => ({ ...s, assignedTo: holders.get(s.partition) ?? "" }));
      this.report(topic, this.of(topic), now);
      this.found.set(topic, now);
    } catch (error) {
      // Kafka unreachable: /readyz says so already; the last sample stands until the next one.
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
