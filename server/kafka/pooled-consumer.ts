// One librdkafka consumer in manual-assignment mode that reads the partitions of many topics at
// once and hands each batch to the handler registered for its topic. A pool of these serves every
// active topic: librdkafka starts several threads per client, so a client per topic would not scale
// to hundreds of topics.
import type { Message } from "@confluentinc/kafka-javascript";
import type { Logger } from "../observability/logger.js";
import type { CommitAcknowledgements } from "./commit-acknowledgements.js";
import { type Consumer, connectConsumer } from "./consumer-factory.js";
import type {
  GroupOffset,
  PartitionOffset,
  PooledRecordSource,
  RecordBatchHandler,
} from "./record-source.js";

const BATCH_SIZE = 2000;
// How long an idle consume call waits for a first record; data arriving wakes it at once.
const IDLE_WAIT_MS = 200;

export class PooledConsumer implements PooledRecordSource {
  private readonly handlers = new Map<string, RecordBatchHandler>();
  // topic -> its partitions paused (unassigned) by pausePartitions: librdkafka refuses to unassign
  // a partition twice or to assign one it already reads.
  private readonly paused = new Map<string, Set<number>>();
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();

  /** Built by the consumer factory, whose client reports its commits to `commits`. */
  constructor(
    private readonly consumer: Consumer,
    private readonly commits: CommitAcknowledgements,
    private readonly logger: Logger,
  ) {
    this.consumer.on("event.error", (error) => this.logger.warn({ err: error }, "[CONSUMER] client error"));
  }

  get topicCount(): number {
    return this.handlers.size;
  }

  async connect(): Promise<void> {
    await connectConsumer(this.consumer);
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Starts reading a topic's partitions from the given offsets and routes its records to handle. */
  addTopic(topic: string, startOffsets: readonly number[], handle: RecordBatchHandler): void {
    this.handlers.set(topic, handle);
    this.consumer.incrementalAssign(startOffsets.map((offset, partition) => ({ topic, partition, offset })));
  }

  removeTopic(topic: string, partitions: number): void {
    this.handlers.delete(topic);
    const paused = this.paused.get(topic);
    this.paused.delete(topic);
    const assigned = Array.from({ length: partitions }, (_, partition) => partition).filter(
      (partition) => !paused?.has(partition),
    );
    if (assigned.length > 0)
      this.consumer.incrementalUnassign(assigned.map((partition) => ({ topic, partition })));
  }

  // Unassigned rather than paused, so that a resume starts at an offset the caller names instead of
  // wherever librdkafka's own position is. What was fetched before may still come with a later
  // batch, in order; the feed reads it like any other record.
  pausePartitions(topic: string, partitions: readonly number[]): void {
    if (!this.handlers.has(topic)) return;
    let paused = this.paused.get(topic);
    if (!paused) {
      paused = new Set();
      this.paused.set(topic, paused);
    }
    const pausing = partitions.filter((partition) => !paused.has(partition));
    if (pausing.length === 0) return;
    for (const partition of pausing) paused.add(partition);
    this.consumer.incrementalUnassign(pausing.map((partition) => ({ topic, partition })));
  }

  resumePartitions(topic: string, starts: readonly PartitionOffset[]): void {
    const paused = this.paused.get(topic);
    if (!paused || !this.handlers.has(topic)) return;
    const resuming = starts.filter(({ partition }) => paused.has(partition));
    if (resuming.length === 0) return;
    for (const { partition } of resuming) paused.delete(partition);
    if (paused.size === 0) this.paused.delete(topic);
    this.consumer.incrementalAssign(resuming.map(({ partition, offset }) => ({ topic, partition, offset })));
  }

  /** Commits as pa's group; settles when the broker answered (CommitAcknowledgements.commit). */
  commit(offsets: GroupOffset[]): Promise<void> {
    return this.commits.commit(offsets, (sent) => this.consumer.commit(sent));
  }

  commitSync(offsets: GroupOffset[]): void {
    if (offsets.length > 0) this.consumer.commitSync(offsets);
  }

  /** The group's committed offsets for a topic; -1001 where it has none. */
  committed(topic: string, partitions: number, timeoutMs = 10_000): Promise<number[]> {
    const toppars = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
    return new Promise((resolve, reject) =>
      this.consumer.committed(toppars, timeoutMs, (error, result) => {
        if (error) return reject(error);
        const offsets = new Array<number>(partitions).fill(-1001);
        for (const tp of result) offsets[tp.partition] = tp.offset ?? -1001;
        resolve(offsets);
      }),
    );
  }

  /** High watermark librdkafka last saw for a partition, without a network round trip. */
  highWatermark(topic: string, partition: number): number | undefined {
    try {
      return this.consumer.getWatermarkOffsets(topic, partition).highOffset;
    } catch {
      return undefined;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loopDone;
    await new Promise<void>((resolve) => this.consumer.disconnect(() => resolve()));
    this.commits.failAll("the Kafka client closed before the broker answered");
  }

  // Idle, it waits for one record; busy, it takes what librdkafka already holds and waits for
  // nothing, so a batch never stays open while records trickle in (that is latency).
  private async loop(): Promise<void> {
    let idle = true;
    while (this.running) {
      let records: Message[];
      try {
        records = idle ? await this.consumeUpTo(1, IDLE_WAIT_MS) : await this.consumeUpTo(BATCH_SIZE, 0);
      } catch (error) {
        this.logger.warn({ err: error }, "[CONSUMER] consume failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      idle = records.length === 0;
      if (records.length > 0) await this.dispatch(records);
    }
  }

  private consumeUpTo(count: number, waitMs: number): Promise<Message[]> {
    this.consumer.setDefaultConsumeTimeout(waitMs);
    this.consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
    return new Promise((resolve, reject) =>
      this.consumer.consume(count, (error, records) => (error ? reject(error) : resolve(records))),
    );
  }

  // Records of one topic are handed over together and in order; topics are handled one after the
  // other, so a topic's handler is never entered twice at once.
  private async dispatch(records: Message[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const record of records) {
      const list = byTopic.get(record.topic);
      if (list) list.push(record);
      else byTopic.set(record.topic, [record]);
    }
    for (const [topic, topicRecords] of byTopic) {
      const handle = this.handlers.get(topic);
      // A topic removed while its records were in flight: they are read again on its next start,
      // from the group's committed offsets.
      if (!handle) continue;
      try {
        await handle(topicRecords);
      } catch (error) {
        this.logger.error({ err: error, topic }, `[CONSUMER:${topic}] batch handler failed`);
      }
    }
  }
}
