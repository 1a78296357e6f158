// One record of a `{topic}.dlq` topic read back: the envelope pa's DLQ producer wrote (the PoC's
// fields plus reason and redrive_count), with where the record sits in the DLQ and what it carries
// for a redrive (its exact key bytes and headers).
import {
  DEAD_LETTER_ID_HEADER,
  deadLetterId,
  headerText,
  REDRIVEN_FROM_HEADER,
  redriveCountOf,
} from "../kafka/dead-letter-producer.js";
import type { ReadRecord } from "../kafka/dead-letter-source.js";
import type { RecordHeader } from "../kafka/record-headers.js";

/** A record's place in a topic. */
export interface RecordPosition {
  partition: number;
  offset: number;
}

export interface DeadLetterRecord {
  /**
   * The letter's stable id, the same on every copy of it: its `pa-dlq-id` header, or (on letters
   * written before pa set it, and the PoC's) the same id derived from the source position.
   */
  id: string;
  /** Where the source record was: what the id is derived from. */
  source: RecordPosition & { topic: string };
  /** Where this copy sits in the DLQ topic. */
  dlq: RecordPosition;
  key: string;
  value: string;
  error: string;
  reason: string;
  retryCount: number;
  redriveCount: number;
  deadLetteredAtMs: number;
  /** The DLQ record's own key, byte for byte (the source's key). */
  rawKey: Buffer | null;
  headers: RecordHeader[];
  /** For a redriven record that failed again: the DLQ position of the letter it was redriven from. */
  redrivenFrom?: RecordPosition;
  /**
   * Set on a redrive receipt: a copy of the letter the redrive appends to the DLQ once the
   * republished record was acknowledged, saying where it landed (and, by its time, when).
   */
  redrivenTo?: RecordPosition;
}

/** On a redrive receipt: where the republished record landed, as `{topic}/{partition}/{offset}`. */
export const REDRIVEN_TO_HEADER = "pa-redriven-to";

/** What the DLQ reader hands over: a Kafka record of the DLQ topic. */
export type DlqKafkaRecord = ReadRecord;

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Reads a DLQ record; undefined when it is not one of pa's (or the PoC's) envelopes, which a list
 * cannot name by source position and a redrive cannot restore.
 */
export function readDeadLetterRecord(dlqTopic: string, record: DlqKafkaRecord): DeadLetterRecord | undefined {
  let envelope: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(record.value?.toString("utf8") ?? "");
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
    envelope = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const { original_topic, partition, offset } = envelope;
  if (typeof original_topic !== "string" || !isCount(partition) || !isCount(offset)) return undefined;
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  const timestampSeconds = isCount(envelope.timestamp) ? envelope.timestamp : 0;
  const rawKey =
    record.key === undefined || record.key === null
      ? null
      : Buffer.isBuffer(record.key)
        ? record.key
        : Buffer.from(record.key);
  const headers = record.headers ?? [];
  const redrivenFrom = parsePosition(dlqTopic, headerText(headers, REDRIVEN_FROM_HEADER));
  const redrivenTo = parsePosition(original_topic, headerText(headers, REDRIVEN_TO_HEADER));
  return {
    id: headerText(headers, DEAD_LETTER_ID_HEADER) ?? deadLetterId(original_topic, partition, offset),
    source: { topic: original_topic, partition, offset },
    dlq: { partition: record.partition, offset: record.offset },
    key: text(envelope.key),
    value: text(envelope.value),
    error: text(envelope.error),
    reason: text(envelope.reason),
    retryCount: isCount(envelope.retry_count) ? envelope.retry_count : 0,
    // The envelope's field, or (for letters written before it existed) the header.
    redriveCount: isCount(envelope.redrive_count) ? envelope.redrive_count : redriveCountOf(headers),
    deadLetteredAtMs: record.timestamp && record.timestamp > 0 ? record.timestamp : timestampSeconds * 1000,
    rawKey,
    headers,
    ...(redrivenFrom ? { redrivenFrom } : {}),
    ...(redrivenTo ? { redrivenTo } : {}),
  };
}

/** A record's position as the redrive headers write it: `{topic}/{partition}/{offset}`. */
export function positionValue(topic: string, position: RecordPosition): string {
  return `${topic}/${position.partition}/${position.offset}`;
}

function parsePosition(topic: string, value: string | undefined): RecordPosition | undefined {
  if (!value?.startsWith(`${topic}/`)) return undefined;
  const [partition, offset] = value
    .slice(topic.length + 1)
    .split("/")
    .map(Number);
  if (!isCount(partition) || !isCount(offset)) return undefined;
  return { partition, offset };
}
