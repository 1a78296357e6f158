// A fixed number of PooledConsumers shared by all active topics; a new topic goes to the one with
// the fewest topics.
import type { Logger } from "../observability/logger.js";
import type { LibrdkafkaConfig } from "./client-config.js";
import { PooledConsumer } from "./pooled-consumer.js";

export class ConsumerPool {
  readonly members: PooledConsumer[];

  constructor(size: number, settings: LibrdkafkaConfig, logger: Logger) {
    this.members = Array.from({ length: size }, () => new PooledConsumer(settings, logger));
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
