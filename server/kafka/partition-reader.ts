// Reads chosen partitions of one topic from chosen offsets, batch by batch, outside any group: a
// lagging subscriber's catch-up reader, and the view's own reader while it is behind the shared
// live feed (after a pause, a take-over, or a burst it could not keep up with). Built, connected,
// by the consumer factory.
import type { Message } from "@confluentinc/kafka-javascript";
import type { Consumer } from "./consumer-factory.js";
import type { KafkaRecord, PartitionOffset, PartitionRecordReader } from "./record-source.js";

export class PartitionReader implements PartitionRecordReader {
  constructor(
    private readonly topic: string,
    private readonly consumer: Consumer,
  ) {}

  assign(starts: readonly PartitionOffset[]): void {
    if (starts.length === 0) return;
    this.consumer.incrementalAssign(
      starts.map(({ partition, offset }) => ({ topic: this.topic, partition, offset })),
    );
  }

  unassign(partitions: readonly number[]): void {
    if (partitions.length === 0) return;
    this.consumer.incrementalUnassign(partitions.map((partition) => ({ topic: this.topic, partition })));
  }

  /** Up to `max` records, waiting at most 200 ms for the first. */
  read(max: number): Promise<KafkaRecord[]> {
    return new Promise((resolve, reject) =>
      this.consumer.consume(max, (error, batch: Message[]) => (error ? reject(error) : resolve(batch))),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.consumer.disconnect(() => resolve()));
  }
}
