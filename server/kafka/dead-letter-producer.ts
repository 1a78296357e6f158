// Writes records that cannot become payments to `{topic}.dlq`, in the PoC's JSON envelope plus a
// `reason` sentence, with the same facts in Kafka headers and the original key kept. The caller
// awaits the broker's acknowledgement before it commits the source offset, so nothing is lost.
import type { KafkaJS, MessageHeader } from "@confluentinc/kafka-javascript";
import { acknowledgedProducer } from "./acknowledged-producer.js";
import type { LibrdkafkaConfig } from "./client-config.js";
import type { TopicAdmin } from "./topic-admin.js";

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null | undefined;
  value: Buffer | null | undefined;
  /** A stable machine code: invalid_json, missing_field, invalid_amount, ... */
  error: string;
  /** The sentence that says what was wrong and how to fix it. */
  reason: string;
  retryCount: number;
  /** The source record's headers, carried onto the dead letter so that a redrive restores them. */
  sourceHeaders?: MessageHeader[];
}

/**
 * On a dead letter: its stable id, `{topic}/{partition}/{offset}` of the source record. Delivery
 * is at least once (a crash between the DLQ's acknowledgement and the offset commit dead-letters
 * the record again when it is read again), and every copy carries the same id, so duplicates are
 * visible to anyone reading the DLQ and a redrive republishes a record once.
 */
export const DEAD_LETTER_ID_HEADER = "pa-dlq-id";

/** The stable id of the dead letter of a source record. */
export function deadLetterId(topic: string, partition: number, offset: number): string {
  return `${topic}/${partition}/${offset}`;
}

/** How many times a record was redriven from a DLQ; absent on a record that never was. */
export const REDRIVE_COUNT_HEADER = "pa-redrive-count";
/** On a redriven record: the dead letter it came from, as `{dlq topic}/{partition}/{offset}`. */
export const REDRIVEN_FROM_HEADER = "pa-redriven-from";

/**
 * Headers pa sets on a dead letter from its own facts. A source record's headers of these names are
 * not copied (pa's own describe this failure), and a redrive strips them again. `pa-redriven-from` is
 * not among them: kept from the source, it links a record that failed again to its earlier letter.
 */
export const DEAD_LETTER_HEADERS: ReadonlySet<string> = new Set([
  DEAD_LETTER_ID_HEADER,
  "pa-dlq-error",
  "pa-dlq-reason",
  "pa-original-topic",
  "pa-original-partition",
  "pa-original-offset",
  "pa-retry-count",
  REDRIVE_COUNT_HEADER,
]);

/** The last value of a header as text, or undefined. */
export function headerText(headers: readonly MessageHeader[] | undefined, name: string): string | undefined {
  let found: string | undefined;
  for (const header of headers ?? []) {
    const value = header[name];
    if (value !== undefined) found = value.toString();
  }
  return found;
}

/** The source's redrive count: 0 unless it carries a well-formed `pa-redrive-count`. */
export function redriveCountOf(headers: readonly MessageHeader[] | undefined): number {
  const text = headerText(headers, REDRIVE_COUNT_HEADER);
  const count = text === undefined ? 0 : Number(text);
  return Number.isSafeInteger(count) && count > 0 ? count : 0;
}

/** Record headers (librdkafka's list of one-entry objects) in the producer's shape, minus `omit`. */
export function producerHeaders(
  headers: readonly MessageHeader[] | undefined,
  omit: ReadonlySet<string>,
): KafkaJS.IHeaders {
  const result: Record<string, (string | Buffer)[]> = {};
  for (const header of headers ?? []) {
    for (const [name, value] of Object.entries(header)) {
      if (omit.has(name)) continue;
      const values = result[name] ?? [];
      values.push(value);
      result[name] = values;
    }
  }
  return result;
}

export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** The PoC's envelope, field for field, plus `reason` and `redrive_count`. */
export function deadLetterEnvelope(letter: DeadLetter, nowMs: number): string {
  return JSON.stringify({
    original_topic: letter.topic,
    partition: letter.partition,
    offset: letter.offset,
    key: letter.key?.toString("utf8") ?? "",
    value: letter.value?.toString("utf8") ?? "",
    error: letter.error,
    reason: letter.reason,
    retry_count: letter.retryCount,
    redrive_count: redriveCountOf(letter.sourceHeaders),
    timestamp: Math.floor(nowMs / 1000),
  });
}

/** The DLQ record of a letter: the envelope, the source's key and headers, and pa's own headers. */
export function deadLetterMessage(
  letter: DeadLetter,
  sourcePartitions: number,
  nowMs: number,
): { key: Buffer | null; value: string; partition: number; headers: KafkaJS.IHeaders } {
  return {
    key: letter.key ?? null,
    value: deadLetterEnvelope(letter, nowMs),
    partition: letter.partition % sourcePartitions,
    headers: {
      ...producerHeaders(letter.sourceHeaders, DEAD_LETTER_HEADERS),
      [DEAD_LETTER_ID_HEADER]: deadLetterId(letter.topic, letter.partition, letter.offset),
      "pa-dlq-error": letter.error,
      "pa-dlq-reason": letter.reason,
      "pa-original-topic": letter.topic,
      "pa-original-partition": String(letter.partition),
      "pa-original-offset": String(letter.offset),
      "pa-retry-count": String(letter.retryCount),
      [REDRIVE_COUNT_HEADER]: String(redriveCountOf(letter.sourceHeaders)),
    },
  };
}

export class DeadLetterProducer {
  private readonly producer: KafkaJS.Producer;
  private readonly knownTopics = new Set<string>();

  constructor(
    settings: LibrdkafkaConfig,
    private readonly admin: TopicAdmin,
  ) {
    this.producer = acknowledgedProducer(settings);
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  /** Sends the letters of one source topic and resolves once the broker acknowledged all of them. */
  async send(sourceTopic: string, sourcePartitions: number, letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const topic = deadLetterTopic(sourceTopic);
    if (!this.knownTopics.has(topic)) {
      await this.admin.createTopicIfMissing(topic, sourcePartitions);
      this.knownTopics.add(topic);
    }
    const nowMs = Date.now();
    await this.producer.send({
      topic,
      messages: letters.map((letter) => deadLetterMessage(letter, sourcePartitions, nowMs)),
    });
  }
}
