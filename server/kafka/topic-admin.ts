// What pa asks the cluster about topics: do they exist, how many partitions, where do their
// offsets start and end, which offset a time corresponds to; and creating dead-letter topics.
import { KafkaJS } from "@confluentinc/kafka-javascript";
import { ExponentialBackoff, handleType, retry } from "cockatiel";
import type { LibrdkafkaConfig } from "./client-config.js";

export class TopicNotFoundError extends Error {
  override readonly name = "TopicNotFoundError";
  constructor(readonly topic: string) {
    super(`topic "${topic}" does not exist`);
  }
}

/**
 * Kafka answered without real offsets for some partition (librdkafka's -1001, "unknown", while a
 * broker is down or a leader is being elected): UNAVAILABLE, never a position to start from.
 */
export class OffsetsUnavailableError extends Error {
  override readonly name = "OffsetsUnavailableError";
}

// Asked again for about 3 s: a new topic's leaders are usually elected well within a second.
const unknownOffsetsRetry = retry(handleType(OffsetsUnavailableError), {
  maxAttempts: 5,
  backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_600, exponent: 2 }),
});

export interface PartitionOffsets {
  low: number;
  high: number;
}

function isUnknownTopic(error: unknown): boolean {
  const e = error as { type?: string; code?: number; message?: string };
  return (
    e?.type === "UNKNOWN_TOPIC_OR_PARTITION" ||
    e?.code === 3 ||
    /unknown topic/i.test(String(e?.message ?? ""))
  );
}

export class TopicAdmin {
  private readonly admin: KafkaJS.Admin;

  constructor(settings: LibrdkafkaConfig) {
    this.admin = new KafkaJS.Kafka({
      ...settings,
      kafkaJS: { logLevel: KafkaJS.logLevel.NOTHING },
    } as never).admin();
  }

  connect(): Promise<void> {
    return this.admin.connect();
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }

  /** Partition count of a topic; TopicNotFoundError when it does not exist. */
  async partitionCount(topic: string): Promise<number> {
    try {
      const [metadata] = await this.admin.fetchTopicMetadata({ topics: [topic] });
      if (!metadata || metadata.partitions.length === 0) throw new TopicNotFoundError(topic);
      return metadata.partitions.length;
    } catch (error) {
      if (error instanceof TopicNotFoundError || isUnknownTopic(error)) throw new TopicNotFoundError(topic);
      throw error;
    }
  }

  /**
   * Low and high watermarks of every partition, indexed by partition. Kafka answers "unknown"
   * (-1001) for a partition without a leader: right after a topic is created, for a moment, and
   * throughout a broker outage. Asked again a few times, then OffsetsUnavailableError: such an
   * answer is never a position to start from (a stream started from it would hand out cursors pa
   * itself refuses, and a catch-up reader asked for -1001 reads from the end).
   */
  offsets(topic: string): Promise<PartitionOffsets[]> {
    return unknownOffsetsRetry.execute(() => this.knownWatermarks(topic));
  }

  private async knownWatermarks(topic: string): Promise<PartitionOffsets[]> {
    const offsets = await this.watermarks(topic);
    const unknown = Array.from(offsets, (marks, partition) =>
      marks && marks.low >= 0 && marks.high >= marks.low ? -1 : partition,
    ).filter((partition) => partition >= 0);
    if (unknown.length === 0 && offsets.length > 0) return offsets;
    throw new OffsetsUnavailableError(
      `Kafka cannot say where topic "${topic}" starts and ends right now (partition ${unknown.join(", ") || "all"}: no offsets from its leader); try again shortly`,
    );
  }

  private async watermarks(topic: string): Promise<PartitionOffsets[]> {
    try {
      const result = await this.admin.fetchTopicOffsets(topic);
      const offsets: PartitionOffsets[] = [];
      for (const p of result) offsets[p.partition] = { low: Number(p.low), high: Number(p.high) };
      return offsets;
    } catch (error) {
      if (isUnknownTopic(error)) throw new TopicNotFoundError(topic);
      throw error;
    }
  }

  /** For each partition, the first offset whose record time is at or after timestampMs. */
  async offsetsForTime(topic: string, timestampMs: number): Promise<number[]> {
    try {
      const result = await this.admin.fetchTopicOffsetsByTimestamp(topic, timestampMs);
      const offsets: number[] = [];
      for (const p of result) offsets[p.partition] = Number(p.offset);
      return offsets;
    } catch (error) {
      if (isUnknownTopic(error)) throw new TopicNotFoundError(topic);
      throw error;
    }
  }

  async createTopicIfMissing(topic: string, partitions: number): Promise<void> {
    await this.admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
  }

  async listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  /**
   * Who the group gave each partition of `topic` to: partition -> the member's client.id and host
   * (what pa's GroupMembership names itself). Empty while the group rebalances.
   */
  async assignments(groupId: string, topic: string): Promise<Map<number, string>> {
    const { groups } = await this.admin.describeGroups([groupId]);
    const holders = new Map<number, string>();
    for (const member of groups[0]?.members ?? []) {
      const name = `${member.clientId} at ${member.clientHost.replace(/^\//, "")}`;
      for (const assigned of member.assignment?.topicPartitions ?? [])
        if (assigned.topic === topic) holders.set(assigned.partition, name);
    }
    return holders;
  }
}
