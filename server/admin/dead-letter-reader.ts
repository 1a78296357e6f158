// Reads a `{topic}.dlq` topic from its beginning up to the high watermarks it had when the read
// began, with a short-lived consumer of its own: assigned partitions, no group membership, no
// commits, so listing or redriving never moves anyone's position and needs no clean-up.
import kafka, { type KafkaConsumer, type Message } from "@confluentinc/kafka-javascript";
import type { LibrdkafkaConfig } from "../kafka/client-config.js";
import { deadLetterTopic } from "../kafka/dead-letter-producer.js";
import { type PartitionOffsets, type TopicAdmin, TopicNotFoundError } from "../kafka/topic-admin.js";
import { type DeadLetterRecord, readDeadLetterRecord } from "./dead-letter-record.js";

/** The DLQ could not be read to its end in time (broker unreachable or too slow). */
export class DeadLetterReadError extends Error {
  override readonly name = "DeadLetterReadError";
}

export interface DeadLetterReaderOptions {
  settings: LibrdkafkaConfig;
  admin: TopicAdmin;
  /** Gives up (DeadLetterReadError) when the end is not reached within this. */
  timeoutMs?: number;
}

const BATCH = 1000;
const DEFAULT_TIMEOUT_MS = 30_000;

/** Every envelope in the source topic's DLQ, in no particular order; [] when there is no DLQ. */
export async function readDeadLetters(
  sourceTopic: string,
  options: DeadLetterReaderOptions,
): Promise<DeadLetterRecord[]> {
  return (await readDeadLetterRange(sourceTopic, options)).letters;
}

/** What one read of a DLQ found, and where it stopped. */
export interface DeadLetterRange {
  letters: DeadLetterRecord[];
  /** Per DLQ partition, the oldest offset Kafka still keeps (retention deletes below it). */
  low: number[];
  /** Per DLQ partition, where this read stopped: the next read starts there. */
  high: number[];
}

/**
 * The envelopes of the source topic's DLQ from `from` (per partition; from the oldest kept where
 * absent or already deleted) up to the high watermarks at the start of the read.
 */
export async function readDeadLetterRange(
  sourceTopic: string,
  options: DeadLetterReaderOptions,
  from: readonly number[] = [],
): Promise<DeadLetterRange> {
  const topic = deadLetterTopic(sourceTopic);
  let watermarks: PartitionOffsets[];
  try {
    watermarks = await options.admin.offsets(topic);
  } catch (error) {
    // No DLQ topic: nothing was ever dead-lettered.
    if (error instanceof TopicNotFoundError) return { letters: [], low: [], high: [] };
    throw new DeadLetterReadError(`cannot read the offsets of ${topic}: ${String(error)}`);
  }
  const low = Array.from(watermarks, (marks) => marks?.low ?? 0);
  const high = Array.from(watermarks, (marks) => marks?.high ?? 0);
  const start = low.map((oldest, partition) => Math.max(oldest, from[partition] ?? oldest));
  // partition -> the offset the read must reach (the high watermark at the start).
  const remaining = new Map<number, number>();
  high.forEach((end, partition) => {
    if (end > (start[partition] ?? 0)) remaining.set(partition, end);
  });
  if (remaining.size === 0) return { letters: [], low, high };
  const expected = [...remaining].reduce((sum, [partition, end]) => sum + end - (start[partition] ?? 0), 0);
  let read = 0;

  const consumer = new kafka.KafkaConsumer(
    {
      ...options.settings,
      // librdkafka wants a group id even when nothing joins a group or commits.
      "group.id": "pa-dead-letter-reader",
      "enable.auto.commit": false,
      "enable.auto.offset.store": false,
      "enable.partition.eof": true,
      "auto.offset.reset": "earliest",
      "fetch.wait.max.ms": 100,
    } as never,
    {},
  ) as KafkaConsumer & {
    assign(assignments: { topic: string; partition: number; offset: number }[]): void;
  };
  // A partition at its end reports so even when its last offsets hold no record for us (a record
  // deleted by retention mid-read, or a transaction marker). The report can come before the batch
  // holding the partition's last records is handed over, so it is applied after each batch.
  const atEnd = new Set<number>();
  consumer.on("partition.eof", (eof) => {
    const high = remaining.get(eof.partition);
    if (high !== undefined && (eof.offset ?? 0) >= high) atEnd.add(eof.partition);
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: timeoutMs }, (error) =>
      error ? reject(new DeadLetterReadError(`cannot read ${topic}: ${error.message}`)) : resolve(),
    ),
  );
  try {
    consumer.setDefaultConsumeTimeout(200);
    consumer.assign(
      [...remaining.keys()].map((partition) => ({
        topic,
        partition,
        offset: start[partition] ?? 0,
      })),
    );
    const deadline = Date.now() + timeoutMs;
    const letters: DeadLetterRecord[] = [];
    while (remaining.size > 0) {
      if (Date.now() > deadline) {
        throw new DeadLetterReadError(
          `reading ${topic} did not reach its end within ${timeoutMs} ms (${read} of about ${expected} records read, partitions ${[...remaining.keys()].join(", ")} unfinished): the broker is unreachable or slow, or the DLQ is too large to list at once`,
        );
      }
      const records = await new Promise<Message[]>((resolve, reject) =>
        consumer.consume(BATCH, (error, batch) =>
          error
            ? reject(new DeadLetterReadError(`reading ${topic} failed: ${error.message}`))
            : resolve(batch),
        ),
      );
      for (const record of records) {
        const high = remaining.get(record.partition);
        // Records written after the read began belong to the next read.
        if (high === undefined || record.offset >= high) continue;
        read += 1;
        const letter = readDeadLetterRecord(topic, record);
        if (letter) letters.push(letter);
        if (record.offset + 1 >= high) remaining.delete(record.partition);
      }
      for (const partition of atEnd) remaining.delete(partition);
    }
    return { letters, low, high };
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
