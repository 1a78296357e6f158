// Reads chosen partitions of one topic from chosen offsets, batch by batch, outside any group: the
// view's own reader while it is behind the shared live feed (after a pause, a take-over, or a
// burst it could not keep up with), so that streams never wait for it.
import kafka, { type KafkaConsumer, type Message } from "@confluentinc/kafka-javascript";
import type { LibrdkafkaConfig } from "./client-config.js";

interface ConsumerExtras {
  incrementalAssign(assignments: { topic: string; partition: number; offset: number }[]): void;
  incrementalUnassign(assignments: { topic: string; partition: number }[]): void;
  setDefaultIsTimeoutOnlyForFirstMessage(value: boolean): void;
}

export class PartitionReader {
  private constructor(
    private readonly topic: string,
    private readonly consumer: KafkaConsumer & ConsumerExtras,
  ) {}

  static async open(settings: LibrdkafkaConfig, topic: string): Promise<PartitionReader> {
    const consumer = new kafka.KafkaConsumer(
      {
        ...settings,
        "group.id": "pa-view-reader",
        "enable.auto.commit": false,
        "enable.auto.offset.store": false,
        "allow.auto.create.topics": false,
        "enable.partition.eof": false,
        "fetch.wait.max.ms": 100,
        "queued.max.messages.kbytes": 8192,
      } as never,
      {},
    ) as KafkaConsumer & ConsumerExtras;
    consumer.setDefaultConsumeTimeout(200);
    consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: 10_000 }, (error) => (error ? reject(error) : resolve())),
    );
    return new PartitionReader(topic, consumer);
  }

  assign(partition: number, offset: number): void {
    this.consumer.incrementalAssign([{ topic: this.topic, partition, offset }]);
  }

  unassign(partition: number): void {
    this.consumer.incrementalUnassign([{ topic: this.topic, partition }]);
  }

  /** Up to `max` records, waiting at most 200 ms for the first. */
  read(max: number): Promise<Message[]> {
    return new Promise((resolve, reject) =>
      this.consumer.consume(max, (error, batch) => (error ? reject(error) : resolve(batch))),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.consumer.disconnect(() => resolve()));
  }
}
