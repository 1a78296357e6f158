// An in-memory Kafka log behind the streaming core's RecordSource (server/kafka/record-source.ts),
// for unit tests of TopicFeed, Subscription and the catch-up reader without a broker. The test
// appends records; the one pooled client hands each topic's new records to its handler in
// partition order, one batch at a time, and partition readers read what is assigned to them from
// their offsets. test/server/kafka/record-source-contract.ts holds it to what librdkafka does: the
// same suite runs against this and against the real broker.
import type { RecordHeader } from "../../server/kafka/record-headers.js";
import type {
  GroupOffset,
  KafkaRecord,
  PartitionOffset,
  PartitionRecordReader,
  PooledRecordSource,
  RecordBatchHandler,
  RecordSource,
} from "../../server/kafka/record-source.js";

/** librdkafka's offset for "no committed offset". */
const NO_OFFSET = -1001;
// What one batch of the live client holds at most (the pooled consumer's BATCH_SIZE).
const LIVE_BATCH = 2000;

export interface AppendedRecord {
  partition: number;
  value: string | Buffer | null;
  key?: string | null;
  timestamp?: number;
  headers?: Record<string, string>;
}

/** The log: topics of partitions of records, appended by the test. */
export class FakeLog {
  private readonly topics = new Map<string, KafkaRecord[][]>();
  private readonly appendListeners = new Set<() => void>();

  createTopic(topic: string, partitions: number): void {
    if (this.topics.has(topic)) throw new Error(`topic ${topic} exists`);
    this.topics.set(
      topic,
      Array.from({ length: partitions }, () => []),
    );
  }

  /** Appends records in the given order; returns their offsets. */
  append(topic: string, records: readonly AppendedRecord[]): number[] {
    const offsets = records.map((record) => {
      const partition = this.partition(topic, record.partition);
      const offset = partition.length;
      const headers: RecordHeader[] | undefined = record.headers
        ? Object.entries(record.headers).map(([name, value]) => ({ [name]: Buffer.from(value) }))
        : undefined;
      partition.push({
        topic,
        partition: record.partition,
        offset,
        key: record.key === undefined || record.key === null ? null : Buffer.from(record.key),
        value: typeof record.value === "string" ? Buffer.from(record.value) : record.value,
        timestamp: record.timestamp ?? Date.now(),
        ...(headers ? { headers } : {}),
      });
      return offset;
    });
    for (const listener of [...this.appendListeners]) listener();
    return offsets;
  }

  /** The records of a partition from `offset` on, at most `max`. */
  read(topic: string, partition: number, offset: number, max: number): KafkaRecord[] {
    return this.partition(topic, partition).slice(offset, offset + max);
  }

  /** The offset the next record of a partition gets. */
  end(topic: string, partition: number): number {
    return this.partition(topic, partition).length;
  }

  /** Calls `listener` after every append until the returned function is called. */
  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  private partition(topic: string, partition: number): KafkaRecord[] {
    const partitions = this.topics.get(topic);
    if (!partitions) throw new Error(`unknown topic ${topic}`);
    const records = partitions[partition];
    if (!records) throw new Error(`topic ${topic} has no partition ${partition}`);
    return records;
  }
}

interface LiveTopic {
  handle: RecordBatchHandler;
  /** partition -> the offset of the next record to hand over */
  next: number[];
  /** Partitions not fetched now (pausePartitions). */
  paused: Set<number>;
}

/** The pooled client: live reads of many topics, and pa's group's offsets in memory. */
export class FakePooledConsumer implements PooledRecordSource {
  private readonly live = new Map<string, LiveTopic>();
  private readonly groupOffsets = new Map<string, number>();
  private pumping = false;
  private readonly stopListening: () => void;
  /** Batches handed over, for tests that look at how records were grouped. */
  batches = 0;

  constructor(private readonly log: FakeLog) {
    this.stopListening = log.onAppend(() => this.schedule());
  }

  addTopic(topic: string, startOffsets: readonly number[], handle: RecordBatchHandler): void {
    this.live.set(topic, { handle, next: [...startOffsets], paused: new Set() });
    this.schedule();
  }

  removeTopic(topic: string, _partitions: number): void {
    this.live.delete(topic);
  }

  pausePartitions(topic: string, partitions: readonly number[]): void {
    for (const partition of partitions) this.live.get(topic)?.paused.add(partition);
  }

  resumePartitions(topic: string, starts: readonly PartitionOffset[]): void {
    const live = this.live.get(topic);
    if (!live) return;
    for (const { partition, offset } of starts) {
      if (!live.paused.delete(partition)) continue;
      live.next[partition] = offset;
    }
    this.schedule();
  }

  /** The partitions of a topic this client does not fetch now (pausePartitions). */
  pausedPartitions(topic: string): number[] {
    return [...(this.live.get(topic)?.paused ?? [])].sort((a, b) => a - b);
  }

  highWatermark(topic: string, partition: number): number | undefined {
    return this.live.has(topic) ? this.log.end(topic, partition) : undefined;
  }

  /** The partitions of a topic this client reads now (none once removed). */
  assignedPartitions(topic: string): number[] {
    const live = this.live.get(topic);
    return live ? live.next.map((_, partition) => partition) : [];
  }

  committed(topic: string, partitions: number): Promise<number[]> {
    return Promise.resolve(
      Array.from(
        { length: partitions },
        (_, partition) => this.groupOffsets.get(`${topic}/${partition}`) ?? NO_OFFSET,
      ),
    );
  }

  commit(offsets: GroupOffset[]): Promise<void> {
    this.commitSync(offsets);
    return Promise.resolve();
  }

  commitSync(offsets: GroupOffset[]): void {
    for (const { topic, partition, offset } of offsets)
      this.groupOffsets.set(`${topic}/${partition}`, offset);
  }

  close(): void {
    this.stopListening();
    this.live.clear();
  }

  private schedule(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  // Like the pooled consumer's loop: each topic's new records as one batch, in partition order,
  // topics one after the other; a topic removed meanwhile gets nothing more.
  private async pump(): Promise<void> {
    try {
      for (;;) {
        let handed = false;
        for (const [topic, live] of [...this.live]) {
          const batch: KafkaRecord[] = [];
          for (let partition = 0; partition < live.next.length && batch.length < LIVE_BATCH; partition++) {
            if (live.paused.has(partition)) continue;
            const records = this.log.read(
              topic,
              partition,
              live.next[partition] ?? 0,
              LIVE_BATCH - batch.length,
            );
            if (records.length === 0) continue;
            live.next[partition] = (records.at(-1)?.offset ?? 0) + 1;
            batch.push(...records);
          }
          if (batch.length === 0 || this.live.get(topic) !== live) continue;
          handed = true;
          this.batches++;
          await live.handle(batch);
        }
        if (!handed) return;
      }
    } finally {
      this.pumping = false;
    }
  }
}

/** A reader of chosen partitions of one topic, outside any group. */
export class FakePartitionReader implements PartitionRecordReader {
  // partition -> the offset of the next record to read
  private readonly positions = new Map<number, number>();
  private closed = false;

  constructor(
    private readonly log: FakeLog,
    readonly topic: string,
    readonly kind: "catch-up" | "view",
    private readonly waitMs: number,
  ) {}

  /** The partitions assigned now, with the offset each is read from next. */
  get assigned(): ReadonlyMap<number, number> {
    return this.positions;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  assign(starts: readonly PartitionOffset[]): void {
    this.ensureOpen();
    for (const { partition, offset } of starts) {
      if (this.positions.has(partition)) throw new Error(`partition ${partition} is assigned already`);
      this.positions.set(partition, offset);
    }
  }

  unassign(partitions: readonly number[]): void {
    this.ensureOpen();
    for (const partition of partitions) this.positions.delete(partition);
  }

  async read(max: number): Promise<KafkaRecord[]> {
    this.ensureOpen();
    const now = this.take(max);
    if (now.length > 0) return now;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.waitMs);
      const stop = this.log.onAppend(done);
      function done() {
        clearTimeout(timer);
        stop();
        resolve();
      }
    });
    return this.closed ? [] : this.take(max);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private take(max: number): KafkaRecord[] {
    const taken: KafkaRecord[] = [];
    for (const [partition, offset] of [...this.positions].sort(([a], [b]) => a - b)) {
      if (taken.length >= max) break;
      const records = this.log.read(this.topic, partition, offset, max - taken.length);
      if (records.length === 0) continue;
      this.positions.set(partition, offset + records.length);
      taken.push(...records);
    }
    return taken;
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error("the reader is closed");
  }
}

export interface FakeRecordSourceOptions {
  /** How long a partition reader's read waits for a first record (librdkafka's: 200 ms). */
  readWaitMs?: number;
}

/** The streaming core's RecordSource over a FakeLog: one pooled client, and the readers it opened. */
export class FakeRecordSource implements RecordSource {
  readonly pooled: FakePooledConsumer;
  /** Every reader opened, in order (closed ones too). */
  readonly readers: FakePartitionReader[] = [];
  private readonly readWaitMs: number;

  constructor(
    readonly log: FakeLog = new FakeLog(),
    options: FakeRecordSourceOptions = {},
  ) {
    this.pooled = new FakePooledConsumer(log);
    this.readWaitMs = options.readWaitMs ?? 200;
  }

  leastLoaded(): FakePooledConsumer {
    return this.pooled;
  }

  openCatchUpReader(topic: string): Promise<PartitionRecordReader> {
    return Promise.resolve(this.open(topic, "catch-up"));
  }

  openViewReader(topic: string): Promise<PartitionRecordReader> {
    return Promise.resolve(this.open(topic, "view"));
  }

  /** The readers of a kind that are still open. */
  openReaders(kind: "catch-up" | "view"): FakePartitionReader[] {
    return this.readers.filter((reader) => reader.kind === kind && !reader.isClosed);
  }

  close(): void {
    this.pooled.close();
  }

  private open(topic: string, kind: "catch-up" | "view"): FakePartitionReader {
    this.log.end(topic, 0); // an unknown topic fails here, as connecting to it would later
    const reader = new FakePartitionReader(this.log, topic, kind, this.readWaitMs);
    this.readers.push(reader);
    return reader;
  }
}
