// Reading whole topics back in the resilience tests: dead-letter topics (to check envelopes and
// which source offsets reached them) and source topics (to know which offsets are poison).
import { KafkaJS } from "@confluentinc/kafka-javascript";

export interface ReadRecord {
  partition: number;
  offset: number;
  key: string;
  value: string;
  headers: Record<string, string>;
}

export interface DeadLetterEnvelope {
  original_topic: string;
  partition: number;
  offset: number;
  key: string;
  value: string;
  error: string;
  reason: string;
  retry_count: number;
  timestamp: number;
  /** Set by the redrive work; 0 on a first dead letter. */
  redrive_count?: number;
}

/** Reads a topic from its beginning until `done` says enough (or fails after timeoutMs). */
export async function readTopicUntil(
  bootstrap: string,
  topic: string,
  done: (records: ReadRecord[]) => boolean,
  timeoutMs = 60_000,
): Promise<ReadRecord[]> {
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.NOTHING } });
  const consumer = kafka.consumer({
    kafkaJS: { groupId: `${topic}.reader.${Date.now()}`, fromBeginning: true, autoCommit: false },
  });
  await consumer.connect();
  const records: ReadRecord[] = [];
  try {
    await consumer.subscribe({ topics: [topic] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${records.length} records read from ${topic} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            records.push({
              partition,
              offset: Number(message.offset),
              key: message.key?.toString() ?? "",
              value: message.value?.toString() ?? "",
              headers: Object.fromEntries(
                Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
              ),
            });
            if (done(records)) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

export function envelopeOf(record: ReadRecord): DeadLetterEnvelope {
  return JSON.parse(record.value) as DeadLetterEnvelope;
}

/** "partition@offset", for sets of source positions. */
export function position(partition: number, offset: number | bigint): string {
  return `${partition}@${offset}`;
}
