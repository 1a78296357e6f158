// The benchmark's side of Kafka: creating (and afterwards deleting) its own uniquely named topics,
// preloading them with the PoC's payments (or records pa must dead-letter) in large batches, and
// producing at a steady rate with every record sent and acknowledged on its own, its
// acknowledgement time recorded.
import { KafkaJS } from "@confluentinc/kafka-javascript";
import { createPaymentGenerator, type GeneratedRecord } from "../../server/demo/payment-generator.js";

export const PARTITIONS = 3;

export class BenchKafka {
  private readonly kafka: KafkaJS.Kafka;
  private readonly admin: KafkaJS.Admin;
  private readonly created = new Set<string>();

  constructor(readonly brokers: string) {
    this.kafka = new KafkaJS.Kafka({
      kafkaJS: { brokers: brokers.split(","), logLevel: KafkaJS.logLevel.NOTHING },
    });
    this.admin = this.kafka.admin();
  }

  connect(): Promise<void> {
    return this.admin.connect();
  }

  async createTopics(topics: string[], partitions = PARTITIONS): Promise<void> {
    // Many at once in a handful of requests; the broker answers each request when all are created.
    for (let i = 0; i < topics.length; i += 50) {
      const chunk = topics.slice(i, i + 50);
      await this.admin.createTopics({ topics: chunk.map((topic) => ({ topic, numPartitions: partitions })) });
      for (const topic of chunk) this.created.add(topic);
    }
  }

  /** The end (high watermark) of each partition, indexed by partition. */
  async partitionEnds(topic: string): Promise<number[]> {
    const ends: number[] = [];
    for (const p of await this.admin.fetchTopicOffsets(topic)) ends[p.partition] = Number(p.high);
    return ends;
  }

  /** Deletes the topics this run created (never anyone else's). */
  async deleteCreatedTopics(): Promise<void> {
    const topics = [...this.created];
    for (let i = 0; i < topics.length; i += 50) {
      await this.admin.deleteTopics({ topics: topics.slice(i, i + 50) });
    }
    this.created.clear();
  }

  /**
   * Writes `count` PoC payments to the topic in batches of `batchSize`, several batches in flight,
   * each record with `headers` when given.
   */
  preload(
    topic: string,
    count: number,
    seed: number,
    batchSize = 1000,
    headers?: Record<string, string>,
  ): Promise<void> {
    const generator = createPaymentGenerator({ seed });
    const next = headers ? () => ({ ...generator.valid(), headers }) : () => generator.valid();
    return this.produceInBatches(topic, count, next, batchSize);
  }

  /** As preload, but records pa must dead-letter: the generator's invalid kinds, taking turns. */
  preloadInvalid(topic: string, count: number, seed: number, batchSize = 1000): Promise<void> {
    const generator = createPaymentGenerator({ seed });
    return this.produceInBatches(topic, count, () => generator.invalid(), batchSize);
  }

  /**
   * Deletes a topic pa created during the run (a `.dlq`) with the run's own. Call it only once the
   * topic exists: deleting a missing topic is an error, which would cut the clean-up short.
   */
  deleteAfterwards(topic: string): void {
    this.created.add(topic);
  }

  private async produceInBatches(
    topic: string,
    count: number,
    nextRecord: () => GeneratedRecord & { headers?: Record<string, string> },
    batchSize: number,
  ): Promise<void> {
    const producer = this.kafka.producer({ "linger.ms": 20, "batch.num.messages": 10_000, acks: 1 });
    await producer.connect();
    try {
      const inFlight = new Set<Promise<unknown>>();
      for (let sent = 0; sent < count; sent += batchSize) {
        const messages: (GeneratedRecord & { headers?: Record<string, string> })[] = [];
        for (let i = 0; i < Math.min(batchSize, count - sent); i++) messages.push(nextRecord());
        const send = producer.send({ topic, messages });
        inFlight.add(send);
        send.finally(() => inFlight.delete(send)).catch(() => {});
        if (inFlight.size >= 8) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    } finally {
      await producer.disconnect();
    }
  }

  /** A producer for rate-controlled runs: no lingering, acks=1, one record per request. */
  async rateProducer(): Promise<RateProducer> {
    const producer = this.kafka.producer({ "linger.ms": 0, acks: 1 });
    await producer.connect();
    return new RateProducer(producer);
  }

  async disconnect(): Promise<void> {
    await this.admin.disconnect();
  }
}

export interface RateRun {
  /** Payment id -> when its produce was acknowledged (performance.now()). */
  acked: Map<string, number>;
  /** The rate actually achieved, from first send to last send. */
  achievedRate: number;
}

export class RateProducer {
  constructor(private readonly producer: KafkaJS.Producer) {}

  /** Produces one record (to the given partition, or as keyed) and resolves with its ack time. */
  async sendOne(topic: string, record: GeneratedRecord, partition?: number): Promise<number> {
    await this.producer.send({
      topic,
      messages: [partition === undefined ? record : { ...record, partition }],
    });
    return performance.now();
  }

  /**
   * Sends the records to the topic at `rate` a second, each on its own (never batched by the
   * benchmark), on a millisecond schedule that catches up after a late timer. Resolves when every
   * record has been acknowledged; rejects if any produce failed.
   */
  async run(topic: string, records: readonly GeneratedRecord[], rate: number): Promise<RateRun> {
    const acked = new Map<string, number>();
    const pending: Promise<void>[] = [];
    const start = performance.now();
    let next = 0;
    while (next < records.length) {
      const due = Math.min(records.length, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      for (; next < due; next++) {
        const record = records[next] as GeneratedRecord;
        pending.push(
          this.producer.send({ topic, messages: [record] }).then(() => {
            acked.set(record.key, performance.now());
          }),
        );
      }
      if (next < records.length) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const sendSeconds = (performance.now() - start) / 1000;
    await Promise.all(pending);
    return { acked, achievedRate: Math.max(records.length - 1, 1) / Math.max(sendSeconds, 1 / rate) };
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}
