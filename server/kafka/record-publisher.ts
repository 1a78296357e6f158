// Producing single records and learning where each landed: what a redrive needs (acks from every
// replica, idempotent, in order), behind an interface so the admin side never touches librdkafka.
// A producer of its own per use: redrives are rare.
import type { KafkaJS } from "@confluentinc/kafka-javascript";
import { acknowledgedProducer } from "./acknowledged-producer.js";
import type { LibrdkafkaConfig } from "./client-config.js";

/** Header values by name, as a producer takes them. */
export type OutgoingHeaders = KafkaJS.IHeaders;

/** A record as it is produced. */
export interface OutgoingRecord {
  key: Buffer | null;
  value: Buffer | string;
  /** -1: the key decides. */
  partition: number;
  headers: OutgoingHeaders;
}

export interface RecordPublisher {
  /** Resolves with where the record landed once the broker acknowledged it. */
  send(topic: string, record: OutgoingRecord): Promise<{ partition: number; offset: number }>;
  close(): Promise<void>;
}

/** Connects a publisher; rejects when the broker cannot be reached. */
export type OpenRecordPublisher = () => Promise<RecordPublisher>;

/** The factory of publishers producing to the real cluster. */
export function kafkaRecordPublisher(settings: LibrdkafkaConfig): OpenRecordPublisher {
  return async () => {
    const producer = acknowledgedProducer(settings);
    await producer.connect();
    return {
      // One send per record: each send's metadata is that one record's offset (a shared send
      // reports only the lowest). Sends issued together keep their order.
      async send(topic, record) {
        const [first] = await producer.send({ topic, messages: [record] });
        return { partition: first?.partition ?? -1, offset: Number(first?.baseOffset ?? -1) };
      },
      close: () => producer.disconnect(),
    };
  };
}
