// A fixed number of PooledConsumers shared by all active topics; a new topic goes to the one with
// the fewest topics. With the consumer factory's readers, what the streaming core reads Kafka
// through (kafkaRecordSource).
import type { Logger } from "../observability/logger.js";
import type { ConsumerFactory } from "./consumer-factory.js";
import type { PooledConsumer } from "./pooled-consumer.js";
import type { RecordSource } from "./record-source.js";

export class ConsumerPool {
  readonly members: PooledConsumer[];

  constructor(size: number, consumers: ConsumerFactory, logger: Logger) {
    this.members = Array.from({ length: size }, () => consumers.pooled(logger));
  }

  async connect(): Promise<void> {
    await Promise.all(this.members.map((member) => member.connect()));
  }

  leastLoaded(): PooledConsumer {
    return this.members.reduce((best, member) => (member.topicCount < best.topicCount ? member : best));
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((member) => member.stop()));
  }
}

/** The real cluster as the streaming core reads it: live feeds on the pool, readers from the factory. */
export function kafkaRecordSource(pool: ConsumerPool, consumers: ConsumerFactory): RecordSource {
  return {
    leastLoaded: () => pool.leastLoaded(),
    openCatchUpReader: (topic) => consumers.catchUpReader(topic),
    openViewReader: (topic) => consumers.viewReader(topic),
  };
}
