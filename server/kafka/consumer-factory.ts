// The one place pa builds librdkafka consumers for reading: the pooled clients of the live feeds,
// the catch-up readers of lagging subscribers, the view's reader, the dead-letter reader and the
// group member that shares processing between instances, each from the same validated connection
// settings plus what its job needs of librdkafka.
import kafka, { type KafkaConsumer, type TopicPartitionOffset } from "@confluentinc/kafka-javascript";
import type { Logger } from "../observability/logger.js";
import type { LibrdkafkaConfig } from "./client-config.js";
import { CommitAcknowledgements } from "./commit-acknowledgements.js";
import { PartitionReader } from "./partition-reader.js";
import { PooledConsumer } from "./pooled-consumer.js";

/** Calls of the package's JavaScript that its typings lack. */
interface ConsumerExtras {
  assignmentLost(): boolean;
  incrementalAssign(assignments: TopicPartitionOffset[]): void;
  incrementalUnassign(assignments: { topic: string; partition: number }[]): void;
  setDefaultIsTimeoutOnlyForFirstMessage(value: boolean): void;
}

export type Consumer = KafkaConsumer & ConsumerExtras;

// Every reader of pa assigns its partitions itself, commits only explicitly (or never) and never
// creates a topic, whatever the broker's auto.create.topics.enable says.
const READER: LibrdkafkaConfig = {
  "enable.auto.commit": false,
  "enable.auto.offset.store": false,
  "allow.auto.create.topics": false,
  "enable.partition.eof": false,
  // Return a fetch as soon as one record is there; wait at most this long when idle.
  "fetch.wait.max.ms": 100,
  // Once its pre-fetch queue is full, librdkafka waits this long before fetching again (default
  // 1 s): a reader whose queue is small and drained fast sat idle most of the time, so a catch-up
  // reader served 11,600 records/s where it now serves 200,000 (`npx tsx bench/micro/catch-up-read.ts`).
  "fetch.queue.backoff.ms": 10,
};

/** What each kind of reader asks of librdkafka beyond the connection settings. */
const ROLES = {
  pooled: {
    ...READER,
    "fetch.min.bytes": 1,
    // Bounds what librdkafka pre-fetches per client (its default is 64 MB).
    "queued.max.messages.kbytes": 16384,
  },
  catchUp: {
    ...READER,
    // librdkafka wants a group id even where nothing joins a group or commits.
    "group.id": "pa-catch-up",
    // A lagging client reads at its own pace: keep what librdkafka buffers for it small.
    "queued.max.messages.kbytes": 2048,
    "fetch.max.bytes": 4 * 1024 * 1024,
  },
  view: {
    ...READER,
    "group.id": "pa-view-reader",
    "queued.max.messages.kbytes": 8192,
  },
  deadLetters: {
    ...READER,
    "group.id": "pa-dead-letter-reader",
    // The reader of a DLQ stops at its end, which librdkafka reports per partition.
    "enable.partition.eof": true,
    "auto.offset.reset": "earliest",
  },
  // pa's seat in the consumer group under SHARE_PROCESSING: it subscribes (the group assigns) and
  // commits explicitly; a rebalance moves only the partitions that change hands.
  group: {
    "enable.auto.commit": false,
    "enable.auto.offset.store": false,
    "allow.auto.create.topics": false,
    "partition.assignment.strategy": "cooperative-sticky",
  },
} satisfies Record<string, LibrdkafkaConfig>;

export type ConsumerRole = keyof typeof ROLES;

/** KAFKA_SESSION_TIMEOUT and KAFKA_HEARTBEAT_INTERVAL, and the name this instance has in the group. */
export interface GroupTiming {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** The member's client.id: what describing the group shows for it (e.g. pa-host-1234). */
  memberName: string;
}

const CONNECT_TIMEOUT_MS = 10_000;
// How long a partition reader's read waits for a first record.
const READ_WAIT_MS = 200;

export class ConsumerFactory {
  /**
   * @param settings connection and security settings (client-config.ts)
   * @param groupId pa's consumer group, whose offsets the pooled clients read and commit
   */
  constructor(
    private readonly settings: LibrdkafkaConfig,
    private readonly groupId = "pa",
  ) {}

  /** A librdkafka consumer for `role`, not connected; `callbacks` are librdkafka's (offset_commit_cb). */
  consumer(role: ConsumerRole, callbacks: Record<string, unknown> = {}): Consumer {
    return new kafka.KafkaConsumer(
      { "group.id": this.groupId, ...this.settings, ...ROLES[role], ...callbacks } as never,
      {},
    ) as Consumer;
  }

  /** A pooled client of pa's group for the live feeds; connected by its pool. */
  pooled(logger: Logger): PooledConsumer {
    const commits = new CommitAcknowledgements();
    const consumer = this.consumer("pooled", {
      offset_commit_cb: (error: unknown, offsets: TopicPartitionOffset[]) => commits.answered(error, offsets),
    });
    return new PooledConsumer(consumer, commits, logger);
  }

  /**
   * The consumer of pa's group seat (GroupMembership), not connected; `callbacks` are librdkafka's
   * (rebalance_cb, offset_commit_cb).
   */
  groupMember(timing: GroupTiming, callbacks: Record<string, unknown>): Consumer {
    return this.consumer("group", {
      // Who holds a partition, as the group describes it to the other instances.
      "client.id": timing.memberName,
      // An instance that died (kill -9, lost host) keeps its partitions until the group gives up
      // on it: KAFKA_SESSION_TIMEOUT (6 s, the broker's default minimum) instead of librdkafka's
      // 45 s. Heartbeats come from librdkafka's own thread, so a busy event loop never makes a
      // live instance look dead.
      "session.timeout.ms": timing.sessionTimeoutMs,
      "heartbeat.interval.ms": timing.heartbeatIntervalMs,
      ...callbacks,
    });
  }

  /** A connected reader of one topic for a subscriber behind the live feed. */
  catchUpReader(topic: string): Promise<PartitionReader> {
    return this.partitionReader("catchUp", topic);
  }

  /** A connected reader of one topic for its view while it is behind the live feed. */
  viewReader(topic: string): Promise<PartitionReader> {
    return this.partitionReader("view", topic);
  }

  private async partitionReader(role: ConsumerRole, topic: string): Promise<PartitionReader> {
    const consumer = this.consumer(role);
    consumer.setDefaultConsumeTimeout(READ_WAIT_MS);
    consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
    await connectConsumer(consumer, CONNECT_TIMEOUT_MS);
    return new PartitionReader(topic, consumer);
  }
}

/** Connects a consumer; rejects when it cannot within `timeoutMs`. */
export function connectConsumer(consumer: Consumer, timeoutMs = CONNECT_TIMEOUT_MS): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: timeoutMs }, (error) => (error ? reject(error) : resolve())),
  );
}

/** Disconnects a consumer; resolves once it is gone. */
export function disconnectConsumer(consumer: Consumer): Promise<void> {
  return new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
}
