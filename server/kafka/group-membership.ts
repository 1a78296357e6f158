// pa's seat in the consumer group KAFKA_GROUP_ID, which is how several pa instances share durable
// processing (store, dead letters, commits) of the pinned topics (KAFKA_TOPIC). This consumer
// reads nothing itself: it joins the group for those topics, learns which partitions this instance
// owns (cooperative-sticky, so a rebalance moves only the partitions that change hands), keeps them
// paused, and commits the offsets the topic feeds processed. The feeds read every partition
// through the consumer pool either way, because every instance serves complete streams; they
// process only the partitions owned here.
import type { Message, TopicPartitionOffset } from "@confluentinc/kafka-javascript";
import type { Logger } from "../observability/logger.js";
import { CommitAcknowledgements } from "./commit-acknowledgements.js";
import {
  type Consumer,
  type ConsumerFactory,
  connectConsumer,
  disconnectConsumer,
  type GroupTiming,
} from "./consumer-factory.js";

/** What a topic's feed hears when partitions change hands. */
export interface OwnershipListener {
  /** Partitions now owned here, with the group's committed offset for each (-1001 when none). */
  assigned(partitions: { partition: number; committed: number }[]): void;
  /** Partitions about to move away: the listener commits what it processed, synchronously. */
  revoked(partitions: number[]): void;
  /**
   * Partitions this instance lost (its session expired) that the group has since given to another
   * instance: stop processing them and commit nothing for them, the new owner commits now.
   */
  released(partitions: number[]): void;
}

interface RebalanceError {
  code: number;
}

const ERR_ASSIGN_PARTITIONS = -175;
const ERR_REVOKE_PARTITIONS = -174;
// Rebalance events arrive through consume calls: poll this often even though nothing is read.
const POLL_WAIT_MS = 500;
// Stopping: how long the group may take to revoke this member's partitions, checked this often.
const LEAVE_TIMEOUT_MS = 3_000;
const LEAVE_POLL_MS = 20;
// ...and how long it must stay quiet after the last rebalance before the client closes.
const LEAVE_SETTLE_MS = 500;

export class GroupMembership {
  private readonly consumer: Consumer;
  private readonly owned = new Map<string, Set<number>>();
  // Lost with an expired session (a broker outage longer than session.timeout.ms) and still
  // processed here until the group's next assignment says who owns them. Dropping them at once
  // would leave them to nobody meanwhile: streamed, but neither stored nor dead-lettered.
  private readonly held = new Map<string, Set<number>>();
  private readonly listeners = new Map<string, OwnershipListener>();
  private readonly commits = new CommitAcknowledgements();
  private running = false;
  private lastRebalanceAt = 0;
  private loopDone: Promise<void> = Promise.resolve();
  private firstAssignment: Promise<void>;
  private markAssigned: () => void = () => {};

  /** @param consumers builds the group member's consumer (KAFKA_GROUP_ID is the factory's group) */
  constructor(
    consumers: ConsumerFactory,
    readonly topics: readonly string[],
    timing: GroupTiming,
    private readonly logger: Logger,
  ) {
    this.firstAssignment = new Promise((resolve) => {
      this.markAssigned = resolve;
    });
    this.consumer = consumers.groupMember(timing, {
      rebalance_cb: (error: RebalanceError, assignment: TopicPartitionOffset[]) =>
        this.rebalance(error, assignment),
      offset_commit_cb: (error: unknown, offsets: TopicPartitionOffset[]) =>
        this.commits.answered(error, offsets),
    });
    this.consumer.on("event.error", (error) => this.logger.warn({ err: error }, "[GROUP] client error"));
  }

  async connect(): Promise<void> {
    await connectConsumer(this.consumer);
    this.consumer.subscribe([...this.topics]);
    this.running = true;
    this.loopDone = this.poll();
  }

  /** Resolves once the group gave this instance its first assignment (or after `timeoutMs`). */
  async assignedOnce(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.firstAssignment,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  isMember(topic: string): boolean {
    return this.topics.includes(topic);
  }

  /** Registers a topic feed; it hears at once about the partitions already owned. */
  listen(topic: string, listener: OwnershipListener): void {
    this.listeners.set(topic, listener);
    const owned = [...(this.owned.get(topic) ?? [])];
    if (owned.length > 0) void this.announce(topic, owned, listener);
  }

  unlisten(topic: string): void {
    this.listeners.delete(topic);
  }

  owns(topic: string, partition: number): boolean {
    return this.owned.get(topic)?.has(partition) ?? false;
  }

  ownedPartitions(topic: string): number[] {
    return [...(this.owned.get(topic) ?? [])].sort((a, b) => a - b);
  }

  /** Commits as pa's group; settles when the broker answered (CommitAcknowledgements.commit). */
  commit(offsets: TopicPartitionOffset[]): Promise<void> {
    return this.commits.commit(offsets, (sent) => this.consumer.commit(sent));
  }

  commitSync(offsets: TopicPartitionOffset[]): void {
    if (offsets.length > 0) this.consumer.commitSync(offsets);
  }

  /** Leaves the group (its partitions move to the other instances at once). */
  async stop(): Promise<void> {
    if (this.running) await this.leaveGroup();
    this.running = false;
    await this.loopDone;
    await disconnectConsumer(this.consumer);
    this.commits.failAll("the Kafka client closed before the broker answered");
  }

  // Leaves while the client still applies assignments. librdkafka's close waits until the
  // application has applied every rebalance it delivers, and kafka-javascript refuses assign calls
  // on a closing client: a close that met an assignment (a member rejoining after its session
  // expired, e.g. an instance thawed after SIGSTOP) waited forever, and so did pa's exit, which
  // joins the thread the close runs on. Unsubscribing first revokes what is held (rebalance(), the
  // poll loop still serving it) and leaves the group; the close then has nothing left to apply.
  private async leaveGroup(): Promise<void> {
    try {
      this.consumer.unsubscribe();
      this.lastRebalanceAt = Date.now();
      const deadline = this.lastRebalanceAt + LEAVE_TIMEOUT_MS;
      const settling = () =>
        this.consumer.assignments().length > 0 || Date.now() - this.lastRebalanceAt < LEAVE_SETTLE_MS;
      while (settling() && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, LEAVE_POLL_MS));
      }
    } catch (error) {
      this.logger.warn({ err: error }, "[GROUP] could not leave the group before closing its client");
    }
  }

  private rebalance(error: RebalanceError, assignment: TopicPartitionOffset[]): void {
    this.lastRebalanceAt = Date.now();
    try {
      if (error.code === ERR_ASSIGN_PARTITIONS) {
        this.consumer.incrementalAssign(assignment);
        // Nothing is read through this consumer: the feeds read every partition themselves.
        if (assignment.length > 0) this.consumer.pause(assignment);
        for (const [topic, partitions] of groupByTopic(assignment)) {
          const owned = this.owned.get(topic) ?? new Set<number>();
          for (const partition of partitions) {
            owned.add(partition);
            this.held.get(topic)?.delete(partition);
          }
          this.owned.set(topic, owned);
          this.logger.info(
            `[GROUP] This instance now processes ${topic} partitions ${partitions.join(", ")}`,
          );
          const listener = this.listeners.get(topic);
          if (listener) void this.announce(topic, partitions, listener);
        }
        // Every completed rebalance ends here (cooperative: with an empty list when nothing is new),
        // so what is still held went to another instance.
        this.releaseHeld();
        this.markAssigned();
      } else if (error.code === ERR_REVOKE_PARTITIONS && this.consumer.assignmentLost()) {
        for (const [topic, partitions] of groupByTopic(assignment)) {
          const held = this.held.get(topic) ?? new Set<number>();
          for (const partition of partitions) held.add(partition);
          this.held.set(topic, held);
          this.logger.warn(
            `[GROUP] Lost ${topic} partitions ${partitions.join(", ")} (session expired); still processing them until the group rebalances`,
          );
        }
        this.consumer.incrementalUnassign(assignment);
      } else if (error.code === ERR_REVOKE_PARTITIONS) {
        for (const [topic, partitions] of groupByTopic(assignment)) {
          // Still owned while the listener commits; then released.
          this.listeners.get(topic)?.revoked(partitions);
          const owned = this.owned.get(topic);
          for (const partition of partitions) owned?.delete(partition);
          this.logger.info(`[GROUP] ${topic} partitions ${partitions.join(", ")} moved to another instance`);
        }
        this.consumer.incrementalUnassign(assignment);
      } else {
        this.logger.warn({ err: error }, "[GROUP] rebalance failed; the group will try again");
      }
    } catch (failure) {
      this.logger.warn({ err: failure }, "[GROUP] could not apply a rebalance");
    }
  }

  private releaseHeld(): void {
    for (const [topic, held] of this.held) {
      const partitions = [...held].sort((a, b) => a - b);
      this.held.delete(topic);
      if (partitions.length === 0) continue;
      this.listeners.get(topic)?.released(partitions);
      const owned = this.owned.get(topic);
      for (const partition of partitions) owned?.delete(partition);
      this.logger.info(`[GROUP] ${topic} partitions ${partitions.join(", ")} went to another instance`);
    }
  }

  private async announce(topic: string, partitions: number[], listener: OwnershipListener): Promise<void> {
    try {
      const committed = await this.committed(topic, partitions);
      // Ownership may have moved on while the offsets were fetched.
      const still = committed.filter(({ partition }) => this.owns(topic, partition));
      if (still.length > 0 && this.listeners.get(topic) === listener) listener.assigned(still);
    } catch (error) {
      this.logger.warn({ err: error, topic }, "[GROUP] could not read committed offsets; retrying");
      setTimeout(() => {
        if (this.running) void this.announce(topic, partitions, listener);
      }, 1_000).unref();
    }
  }

  private committed(
    topic: string,
    partitions: number[],
  ): Promise<{ partition: number; committed: number }[]> {
    const toppars = partitions.map((partition) => ({ topic, partition }));
    return new Promise((resolve, reject) =>
      this.consumer.committed(toppars, 10_000, (error, result) => {
        if (error) return reject(error);
        resolve(
          partitions.map((partition) => ({
            partition,
            committed: result.find((tp) => tp.partition === partition)?.offset ?? -1001,
          })),
        );
      }),
    );
  }

  private async poll(): Promise<void> {
    this.consumer.setDefaultConsumeTimeout(POLL_WAIT_MS);
    this.consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
    while (this.running) {
      try {
        // Records slipped through before a partition was paused are dropped: the feeds read them.
        await new Promise<Message[]>((resolve, reject) =>
          this.consumer.consume(100, (error, records) => (error ? reject(error) : resolve(records))),
        );
      } catch (error) {
        this.logger.warn({ err: error }, "[GROUP] poll failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
}

function groupByTopic(assignment: TopicPartitionOffset[]): Map<string, number[]> {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of assignment) {
    const list = byTopic.get(topic);
    if (list) list.push(partition);
    else byTopic.set(topic, [partition]);
  }
  return byTopic;
}
