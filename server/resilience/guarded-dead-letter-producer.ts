// The dead-letter producer as the processing path uses it: each send goes through the dead-letter
// topic's guard (retry, breaker, timeout), so a broker that cannot take dead letters pauses the
// source topic instead of losing them. It can also restore the PoC's habit of retrying a poison
// record before dead-lettering it (POISON_RETRIES); parsing is deterministic, so that only delays.
// What it sent is logged once acknowledged (observability/dead-letter-log.ts: info per letter, one
// warning per burst).
import { setTimeout as sleep } from "node:timers/promises";
import type { LibrdkafkaConfig } from "../kafka/client-config.js";
import { type DeadLetter, DeadLetterProducer } from "../kafka/dead-letter-producer.js";
import type { TopicAdmin } from "../kafka/topic-admin.js";
import { DeadLetterLog } from "../observability/dead-letter-log.js";
import type { Logger } from "../observability/logger.js";
import type { DependencyGuard } from "./dependency-guard.js";
import { JitteredExponentialBackoff } from "./jittered-backoff.js";

export class GuardedDeadLetterProducer extends DeadLetterProducer {
  private readonly log: DeadLetterLog;

  constructor(
    settings: LibrdkafkaConfig,
    admin: TopicAdmin,
    private readonly guard: DependencyGuard,
    private readonly poison: { retries: number; initialDelayMs: number; logger: Logger },
  ) {
    super(settings, admin);
    this.log = new DeadLetterLog(poison.logger);
  }

  override async disconnect(): Promise<void> {
    this.log.stop();
    await super.disconnect();
  }

  override async send(sourceTopic: string, sourcePartitions: number, letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const sent = this.poison.retries > 0 ? await this.afterPoisonRetries(sourceTopic, letters) : letters;
    await this.guard.run(() => super.send(sourceTopic, sourcePartitions, sent));
    this.log.sent(sourceTopic, sent);
  }

  private async afterPoisonRetries(topic: string, letters: DeadLetter[]): Promise<DeadLetter[]> {
    const { retries, initialDelayMs, logger } = this.poison;
    const records = letters.length === 1 ? "1 invalid record" : `${letters.length} invalid records`;
    let backoff = new JitteredExponentialBackoff(initialDelayMs).next();
    for (let attempt = 1; attempt <= retries; attempt++) {
      logger.warn(
        { topic, records: letters.length },
        `[CONSUMER:${topic}] Retry ${attempt}/${retries} in ${backoff.duration}ms: ${records}`,
      );
      await sleep(backoff.duration);
      backoff = backoff.next(undefined);
    }
    logger.warn(
      { topic, records: letters.length },
      `[CONSUMER:${topic}] Max retries exceeded, sending to DLQ`,
    );
    return letters.map((letter) => ({ ...letter, retryCount: retries }));
  }
}
