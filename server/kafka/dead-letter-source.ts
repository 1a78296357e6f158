// Reading a dead-letter topic from chosen offsets, outside any group: the one way the admin side
// (listing and redriving dead letters) reads Kafka. A short-lived librdkafka consumer with
// assigned partitions, no group membership and no commits, so reading never moves anyone's
// position and needs no clean-up. The admin code sees only the DeadLetterSource interface.
import type { Message } from "@confluentinc/kafka-javascript";
import type { LibrdkafkaConfig } from "./client-config.js";
import { ConsumerFactory, connectConsumer, disconnectConsumer } from "./consumer-factory.js";
import type { RecordHeader } from "./record-headers.js";

/** A record as read from Kafka, with what the admin side uses of it. */
export interface ReadRecord {
  partition: number;
  offset: number;
  key?: Buffer | string | null;
  value: Buffer | null;
  /** Milliseconds since the epoch, when the record has one. */
  timestamp?: number;
  headers?: RecordHeader[];
}

/** Where a read starts in one partition. */
export interface PartitionStart {
  partition: number;
  offset: number;
}

export interface SourceBatch {
  records: ReadRecord[];
  /**
   * Partitions that reported reaching their end since the previous read, with the offset of that
   * end. The report may come before the batch holding the partition's last records, so a reader
   * applies it after the batch's records.
   */
  ends: PartitionStart[];
}

export interface DeadLetterSource {
  /** Up to `max` records, waiting at most about 200 ms for them. */
  read(max: number): Promise<SourceBatch>;
  close(): Promise<void>;
}

/** Opens a source on partitions of `topic`, each from its offset; rejects when it cannot connect in time. */
export type OpenDeadLetterSource = (
  topic: string,
  starts: readonly PartitionStart[],
  timeoutMs: number,
) => Promise<DeadLetterSource>;

/** The factory of sources reading the real cluster. */
export function kafkaDeadLetterSource(settings: LibrdkafkaConfig): OpenDeadLetterSource {
  const consumers = new ConsumerFactory(settings);
  return async (topic, starts, timeoutMs) => {
    const consumer = consumers.consumer("deadLetters");
    let ends: PartitionStart[] = [];
    consumer.on("partition.eof", (eof) => {
      ends.push({ partition: eof.partition, offset: eof.offset ?? 0 });
    });
    await connectConsumer(consumer, timeoutMs);
    consumer.setDefaultConsumeTimeout(200);
    consumer.assign(starts.map(({ partition, offset }) => ({ topic, partition, offset })));
    return {
      read: (max) =>
        new Promise((resolve, reject) =>
          consumer.consume(max, (error, records: Message[]) => {
            if (error) return reject(error);
            const ended = ends;
            ends = [];
            resolve({ records: records.map(readRecord), ends: ended });
          }),
        ),
      close: () => disconnectConsumer(consumer),
    };
  };
}

function readRecord(message: Message): ReadRecord {
  return {
    partition: message.partition,
    offset: message.offset,
    key: message.key ?? null,
    value: message.value,
    ...(message.timestamp !== undefined ? { timestamp: message.timestamp } : {}),
    ...(message.headers ? { headers: message.headers } : {}),
  };
}
