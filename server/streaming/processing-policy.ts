// What a topic's feed does with what it reads, besides streaming it. Decided once per topic when
// its feed starts: PROCESS_TOPICS (and KAFKA_TOPIC, always) name the processed topics, whose
// payments are stored, whose invalid records are dead-lettered and whose progress is committed to
// pa's consumer group. Every other allowed topic is read-only: nothing of it is written to the
// cluster or the store (no dead-letter topic is created, no offset committed), and it starts where
// its first subscriber asked, never from the group's offsets.
import picomatch from "picomatch";
import type { Config } from "../config/config.js";
import type { DeadLetter, DeadLetterProducer } from "../kafka/dead-letter-producer.js";
import type { TopicMetrics } from "../observability/metrics.js";
import type { PaymentStore, StoredPayment } from "../store/payment-store.js";

export interface CommitOffset {
  topic: string;
  partition: number;
  offset: number;
}

/** Where a processed topic's progress is recorded: pa's consumer group (a pooled consumer or the group membership). */
export interface OffsetCommitter {
  /** Resolves once the broker confirmed the commit; rejects when it failed (the caller retries). */
  commit(offsets: CommitOffset[]): Promise<void>;
  commitSync(offsets: CommitOffset[]): void;
}

export interface ProcessingPolicy {
  /** Streamed only: nothing stored, dead-lettered or committed. */
  readonly readOnly: boolean;
  /**
   * The view's write of a batch (its records are streamed already): resolves once its payments
   * are stored and its invalid records dead-lettered, both acknowledged, with how many were
   * dead-lettered; only then may the group's offsets move past them. A rejection is a
   * dependency's failure: the view pauses (streams go on).
   */
  persist(valid: StoredPayment[], invalid: DeadLetter[]): Promise<number>;
  /** Where the feed commits its position; undefined: nowhere. */
  readonly committer: OffsetCommitter | undefined;
}

/** Whether PROCESS_TOPICS (or KAFKA_TOPIC) makes pa process a topic. */
export function processesTopic(config: Config): (topic: string) => boolean {
  const pinned = new Set(config.kafka.pinnedTopics);
  const matches = picomatch([...config.streams.processTopics], { dot: true });
  return (topic) => pinned.has(topic) || matches(topic);
}

export interface ProcessedTopicDependencies {
  store: PaymentStore;
  deadLetters: DeadLetterProducer;
  committer: OffsetCommitter;
  metrics: TopicMetrics;
  /** Starts timing a store write; the returned function ends it. */
  timeStoreWrite: () => () => void;
}

/** A processed topic: payments stored, invalid records dead-lettered, offsets committed. */
export function processedTopic(
  topic: string,
  partitions: number,
  deps: ProcessedTopicDependencies,
): ProcessingPolicy {
  return {
    readOnly: false,
    committer: deps.committer,
    async persist(valid, invalid) {
      const stored = async () => {
        if (valid.length === 0) return;
        const done = deps.timeStoreWrite();
        await deps.store.upsert(valid);
        done();
      };
      await Promise.all([stored(), deps.deadLetters.send(topic, partitions, invalid)]);
      // The DLQ producer logs what it sent (info per letter, one warning per burst).
      for (const letter of invalid) deps.metrics.deadLettered(letter.error);
      return invalid.length;
    },
  };
}

/** A topic streamed read-only: its invalid records are counted by the feed and go nowhere. */
export const READ_ONLY: ProcessingPolicy = {
  readOnly: true,
  committer: undefined,
  persist: () => Promise.resolve(0),
};
