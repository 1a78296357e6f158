// Writes records that cannot become payments to `{topic}.dlq`, in the PoC's JSON envelope plus a
// `reason` sentence, with the same facts in Kafka headers and the original key kept. The caller
// awaits the broker's acknowledgement before it commits the source offset, so nothing is lost.
import { KafkaJS } from "@confluentinc/kafka-javascript";
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
}

export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** The PoC's envelope, field for field, plus `reason`. */
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
    timestamp: Math.floor(nowMs / 1000),
  });
}

export class DeadLetterProducer {
  private readonly producer: KafkaJS.Producer;
  private readonly knownTopics = new Set<string>();

  constructor(
    settings: LibrdkafkaConfig,
    private readonly admin: TopicAdmin,
  ) {
    this.producer = new KafkaJS.Kafka({
      ...settings,
      kafkaJS: { logLevel: KafkaJS.logLevel.NOTHING },
    } as never).producer({
      // A dead letter is the only copy of what went wrong: every replica acknowledges it, once.
      acks: -1,
      "enable.idempotence": true,
      "linger.ms": 5,
    } as never);
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
      messages: letters.map((letter) => ({
        key: letter.key ?? null,
        value: deadLetterEnvelope(letter, nowMs),
        partition: letter.partition % sourcePartitions,
        headers: {
          "pa-dlq-error": letter.error,
          "pa-dlq-reason": letter.reason,
          "pa-original-topic": letter.topic,
          "pa-original-partition": String(letter.partition),
          "pa-original-offset": String(letter.offset),
          "pa-retry-count": String(letter.retryCount),
        },
      })),
    });
  }
}
