// What pa asks the cluster about topics: do they exist, how many partitions, where do their
// offsets start and end, which offset a time corresponds to; and creating dead-letter topics.
import { KafkaJS } from "@confluentinc/kafka-javascript";
import type { LibrdkafkaConfig } from "./client-config.js";

export class TopicNotFoundError extends Error {
  override readonly name = "TopicNotFoundError";
  constructor(readonly topic: string) {
    super(`topic "${topic}" does not exist`);
  }
}

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

  /** Low and high watermarks of every partition, indexed by partition. */
  async offsets(topic: string): Promise<PartitionOffsets[]> {
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
}
