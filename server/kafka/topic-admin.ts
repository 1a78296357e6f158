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
 * A partition whose offsets the broker could not say yet: a topic created a moment ago whose
 * partition leaders are still being elected. librdkafka reports such a partition as offset -1,
 * which as a start offset would mean "the end, whenever it is resolved" and skip what is produced
 * meanwhile, so it is never handed on as an offset.
 */
export class PartitionOffsetsUnknownError extends Error {
  override readonly name = "PartitionOffsetsUnknownError";
  constructor(
    readonly topic: string,
    readonly partitions: number[],
  ) {
    super(
      `topic "${topic}" partition ${partitions.join(", ")} has no leader yet (just created?); retry in a moment`,
    );
  }
}

// A new topic's leaders are usually elected within a second; this waits for up to about 10 s.
const unknownOffsetsRetry = retry(handleType(PartitionOffsetsUnknownError), {
  maxAttempts: 12,
  backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1_000 }),
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
   * Low and high watermarks of every partition, indexed by partition; waits a few seconds for the
   * leaders of a topic just created (PartitionOffsetsUnknownError after that).
   */
  offsets(topic: string): Promise<PartitionOffsets[]> {
    return unknownOffsetsRetry.execute(() => this.knownOffsets(topic));
  }

  private async knownOffsets(topic: string): Promise<PartitionOffsets[]> {
    let result: Awaited<ReturnType<KafkaJS.Admin["fetchTopicOffsets"]>>;
    try {
      result = await this.admin.fetchTopicOffsets(topic);
    } catch (error) {
      if (isUnknownTopic(error)) throw new TopicNotFoundError(topic);
      throw error;
    }
    const offsets: PartitionOffsets[] = [];
    for (const p of result) offsets[p.partition] = { low: Number(p.low), high: Number(p.high) };
    const unknown = [...offsets.keys()].filter((partition) => {
      const marks = offsets[partition];
      return !marks || marks.low < 0 || marks.high < 0;
    });
    if (unknown.length > 0) throw new PartitionOffsetsUnknownError(topic, unknown);
    return offsets;
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
