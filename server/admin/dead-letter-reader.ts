// Reads a `{topic}.dlq` topic from its beginning up to the high watermarks it had when the read
// began, through a dead-letter source (server/kafka/dead-letter-source.ts: a short-lived reader
// outside any group), so listing or redriving never moves anyone's position.
import { deadLetterTopic } from "../kafka/dead-letter-producer.js";
import type { DeadLetterSource, OpenDeadLetterSource, SourceBatch } from "../kafka/dead-letter-source.js";
import { type PartitionOffsets, type TopicAdmin, TopicNotFoundError } from "../kafka/topic-admin.js";
import { type DeadLetterRecord, readDeadLetterRecord } from "./dead-letter-record.js";

/** The DLQ could not be read to its end in time (broker unreachable or too slow). */
export class DeadLetterReadError extends Error {
  override readonly name = "DeadLetterReadError";
}

export interface DeadLetterReaderOptions {
  /** Opens the reader of the DLQ's partitions: kafkaDeadLetterSource(settings) outside tests. */
  open: OpenDeadLetterSource;
  /** Where the DLQ's partitions start and end. */
  admin: Pick<TopicAdmin, "offsets">;
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

  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let source: DeadLetterSource;
  try {
    source = await options.open(
      topic,
      [...remaining.keys()].map((partition) => ({ partition, offset: start[partition] ?? 0 })),
      timeoutMs,
    );
  } catch (error) {
    throw new DeadLetterReadError(`cannot read ${topic}: ${messageOf(error)}`);
  }
  try {
    const deadline = Date.now() + timeoutMs;
    const letters: DeadLetterRecord[] = [];
    while (remaining.size > 0) {
      if (Date.now() > deadline) {
        throw new DeadLetterReadError(
          `reading ${topic} did not reach its end within ${timeoutMs} ms (${read} of about ${expected} records read, partitions ${[...remaining.keys()].join(", ")} unfinished): the broker is unreachable or slow, or the DLQ is too large to list at once`,
        );
      }
      let batch: SourceBatch;
      try {
        batch = await source.read(BATCH);
      } catch (error) {
        throw new DeadLetterReadError(`reading ${topic} failed: ${messageOf(error)}`);
      }
      for (const record of batch.records) {
        const high = remaining.get(record.partition);
        // Records written after the read began belong to the next read.
        if (high === undefined || record.offset >= high) continue;
        read += 1;
        const letter = readDeadLetterRecord(topic, record);
        if (letter) letters.push(letter);
        if (record.offset + 1 >= high) remaining.delete(record.partition);
      }
      // A partition at its end says so even when its last offsets hold no record for us (a record
      // deleted by retention mid-read, or a transaction marker).
      for (const end of batch.ends) {
        const high = remaining.get(end.partition);
        if (high !== undefined && end.offset >= high) remaining.delete(end.partition);
      }
    }
    return { letters, low, high };
  } finally {
    await source.close();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
