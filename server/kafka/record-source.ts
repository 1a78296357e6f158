// What pa's streaming core reads Kafka through: the records it needs and the three ways it reads
// them (a topic's live feed on a pooled client, a lagging subscriber's catch-up reads, the view's
// own reads). server/streaming depends on these interfaces only; the librdkafka clients behind them
// are built by the consumer factory (consumer-factory.ts), and tests read an in-memory log through
// the same interfaces (test/support/fake-record-source.ts, held to librdkafka's behaviour by one
// contract suite run against both).
import type { RecordHeader } from "./record-headers.js";

/** A Kafka record with what pa uses of it; librdkafka's Message is one, passed on as it is. */
export interface KafkaRecord {
  topic: string;
  partition: number;
  offset: number;
  key?: Buffer | string | null | undefined;
  value: Buffer | null;
  /** Milliseconds since the epoch, when the record has one. */
  timestamp?: number | undefined;
  headers?: RecordHeader[] | undefined;
}

/** Where a read starts in one partition. */
export interface PartitionOffset {
  partition: number;
  offset: number;
}

/** An offset pa's group commits for one partition. */
export interface GroupOffset {
  topic: string;
  partition: number;
  offset: number;
}

/** Receives a topic's records in partition order; the next batch waits until it resolves. */
export type RecordBatchHandler = (records: KafkaRecord[]) => Promise<void>;

/** Live reads of many topics on one shared client: each topic's records go to its handler. */
export interface LiveRecordSource {
  /** Starts reading every partition of a topic from `startOffsets[partition]`. */
  addTopic(topic: string, startOffsets: readonly number[], handle: RecordBatchHandler): void;
  /** Stops reading the topic (unassigns its partitions); records in flight are not handed over. */
  removeTopic(topic: string, partitions: number): void;
  /**
   * Stops fetching some partitions of a topic (nobody takes their records now). Records of them
   * fetched before may still be handed over, in order, after this returns.
   */
  pausePartitions(topic: string, partitions: readonly number[]): void;
  /** Fetches paused partitions again, each from its offset. */
  resumePartitions(topic: string, starts: readonly PartitionOffset[]): void;
  /** The partition's end as the client last saw it, without asking the broker; undefined if unknown. */
  highWatermark(topic: string, partition: number): number | undefined;
}

/** A pooled client: live reads, and pa's group's offsets. */
export interface PooledRecordSource extends LiveRecordSource {
  /** The group's committed offsets for a topic; -1001 where it has none. */
  committed(topic: string, partitions: number, timeoutMs?: number): Promise<number[]>;
  /** Resolves once the broker confirmed the commit; rejects when it refused it or never answered. */
  commit(offsets: GroupOffset[]): Promise<void>;
  commitSync(offsets: GroupOffset[]): void;
}

/** Reads chosen partitions of one topic from chosen offsets, outside any group. */
export interface PartitionRecordReader {
  /** Adds partitions, each read from its offset. */
  assign(starts: readonly PartitionOffset[]): void;
  /** Stops reading partitions; records of them fetched before may still come with the next read. */
  unassign(partitions: readonly number[]): void;
  /** Up to `max` records, in order within each partition, waiting at most about 200 ms for the first. */
  read(max: number): Promise<KafkaRecord[]>;
  close(): Promise<void>;
}

/** Everything the streaming core reads Kafka through. */
export interface RecordSource {
  /** The pooled client a new topic's live feed goes to (the one with the fewest topics). */
  leastLoaded(): PooledRecordSource;
  /** A reader for a subscriber behind the live feed (a slow client, a start in the past). */
  openCatchUpReader(topic: string): Promise<PartitionRecordReader>;
  /** A reader for a topic's view while it is behind the live feed. */
  openViewReader(topic: string): Promise<PartitionRecordReader>;
}
