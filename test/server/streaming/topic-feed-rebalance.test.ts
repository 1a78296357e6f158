// A shared topic's feed while the group moves its partitions (issue 20), over the in-memory record
// source and an in-memory group seat: a write in flight when its partition is revoked never lets a
// commit pass records the store does not hold, a partition given back resumes from the group's
// committed offset, and a commit counts only once the broker acknowledged it. Commit ticks are
// driven by hand (fake setInterval), so what is committed when is decided by the test.
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { DeadLetter } from "../../../server/kafka/dead-letter-producer.js";
import type { OwnershipListener } from "../../../server/kafka/group-membership.js";
import { createLogger, type Logger } from "../../../server/observability/logger.js";
import { PaMetrics } from "../../../server/observability/metrics.js";
import { Tracing } from "../../../server/observability/tracing.js";
import type { StoredPayment } from "../../../server/store/payment-store.js";
import type { CommitOffset, OffsetCommitter } from "../../../server/streaming/processing-policy.js";
import { type GroupMembershipView, TopicFeed } from "../../../server/streaming/topic-feed.js";
import { FakeRecordSource } from "../../support/fake-record-source.js";
import { payments, rules, silentLogger } from "../../support/streaming-core.js";
import { waitUntil } from "../../support/streams.js";

const TOPIC = "shared";
/** librdkafka's committed offset when the group has none. */
const NONE = -1001;
// The feed's COMMIT_INTERVAL_MS.
const COMMIT_INTERVAL_MS = 500;

/** The view's store: writes can be held back, and it remembers which write stored each offset. */
class HeldViewStore {
  holding = false;
  /** Writes begun (numbered from 1 in the order the feed began them). */
  writesBegun = 0;
  private readonly held: (() => void)[] = [];
  // partition -> offset -> the numbers of the writes that stored it
  private readonly writtenBy = new Map<number, Map<number, number[]>>();

  readonly persist = async (valid: StoredPayment[], letters: DeadLetter[]): Promise<number> => {
    const write = ++this.writesBegun;
    if (this.holding) await new Promise<void>((resolve) => this.held.push(resolve));
    for (const { source } of valid) {
      const offsets = this.writtenBy.get(source.partition) ?? new Map<number, number[]>();
      offsets.set(source.offset, [...(offsets.get(source.offset) ?? []), write]);
      this.writtenBy.set(source.partition, offsets);
    }
    return letters.length;
  };

  /** Another instance stored a partition's records from `from` to `to` (one shared PostgreSQL). */
  storedElsewhere(partition: number, from: number, to: number): void {
    const write = ++this.writesBegun;
    const offsets = this.writtenBy.get(partition) ?? new Map<number, number[]>();
    for (let offset = from; offset < to; offset++)
      offsets.set(offset, [...(offsets.get(offset) ?? []), write]);
    this.writtenBy.set(partition, offsets);
  }

  /** Writes waiting to be let through. */
  get waiting(): number {
    return this.held.length;
  }

  releaseOne(): void {
    this.held.shift()?.();
  }

  releaseAll(): void {
    this.holding = false;
    for (const release of this.held.splice(0)) release();
  }

  /** The offset after the unbroken run of a partition's records from `from` stored by writes numbered above `after`. */
  storedFrom(partition: number, from = 0, after = 0): number {
    const offsets = this.writtenBy.get(partition);
    let offset = from;
    while (offsets?.get(offset)?.some((write) => write > after)) offset++;
    return offset;
  }

  /** The lowest offset of a partition stored by a write numbered above `after`. */
  firstStoredAfter(partition: number, after: number): number | undefined {
    const offsets = [...(this.writtenBy.get(partition) ?? [])]
      .filter(([, writes]) => writes.some((write) => write > after))
      .map(([offset]) => offset);
    return offsets.length > 0 ? Math.min(...offsets) : undefined;
  }
}

interface RecordedCommit {
  partition: number;
  offset: number;
  sync: boolean;
  /** Whether it was made while the partition was owned here (a hand-over commit is, still). */
  owned: boolean;
  /** The store's unbroken run of the partition from offset 0 when the commit was made. */
  storedThen: number;
  /** The same, from where this ownership began and by writes begun during it. */
  storedThisOwnershipThen: number;
}

/**
 * The part of GroupMembership a feed uses, in memory: the test assigns and revokes partitions (as
 * librdkafka's rebalance callback would, the revoke synchronously) and answers async commits.
 */
class InMemoryGroup implements GroupMembershipView, OffsetCommitter {
  readonly commits: RecordedCommit[] = [];
  /** The group's committed offsets: what the broker acknowledged. */
  readonly committed = new Map<number, number>();
  /** Whether async commits are acknowledged at once or left to the test (`unanswered`). */
  answerAtOnce = true;
  readonly unanswered: { offsets: CommitOffset[]; ack: () => void; fail: (error: Error) => void }[] = [];
  private listener: OwnershipListener | undefined;
  // partition -> where its current ownership began: the offset, and the writes begun before it
  private readonly ownership = new Map<number, { from: number; afterWrite: number }>();

  constructor(private readonly store: HeldViewStore) {}

  isMember(topic: string): boolean {
    return topic === TOPIC;
  }

  listen(_topic: string, listener: OwnershipListener): void {
    this.listener = listener;
  }

  unlisten(): void {
    this.listener = undefined;
  }

  commitSync(offsets: CommitOffset[]): void {
    this.record(offsets, true);
    for (const { partition, offset } of offsets) this.committed.set(partition, offset);
  }

  commit(offsets: CommitOffset[]): Promise<void> {
    this.record(offsets, false);
    const ack = () => {
      for (const { partition, offset } of offsets) this.committed.set(partition, offset);
    };
    if (this.answerAtOnce) {
      ack();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) =>
      this.unanswered.push({
        offsets,
        ack: () => {
          ack();
          resolve();
        },
        fail: reject,
      }),
    );
  }

  assign(partitions: number[]): void {
    const assigned = partitions.map((partition) => ({
      partition,
      committed: this.committed.get(partition) ?? NONE,
    }));
    for (const { partition, committed } of assigned)
      this.ownership.set(partition, { from: Math.max(0, committed), afterWrite: this.store.writesBegun });
    this.listener?.assigned(assigned);
  }

  revoke(partitions: number[]): void {
    this.listener?.revoked(partitions);
    for (const partition of partitions) this.ownership.delete(partition);
  }

  commitsOf(partition: number): RecordedCommit[] {
    return this.commits.filter((commit) => commit.partition === partition);
  }

  private record(offsets: CommitOffset[], sync: boolean): void {
    for (const { topic, partition, offset } of offsets) {
      expect(topic).toBe(TOPIC);
      const ownership = this.ownership.get(partition);
      this.commits.push({
        partition,
        offset,
        sync,
        owned: ownership !== undefined,
        storedThen: this.store.storedFrom(partition),
        storedThisOwnershipThen: ownership
          ? this.store.storedFrom(partition, ownership.from, ownership.afterWrite)
          : -1,
      });
    }
  }
}

/** Every commit was made by an owner, and past no record the store lacked, then or in this ownership. */
function expectNoCommitPastStored(group: InMemoryGroup): void {
  for (const commit of group.commits) {
    expect(commit, "a commit made without owning the partition").toMatchObject({ owned: true });
    expect(commit.offset, `commit ${JSON.stringify(commit)}`).toBeLessThanOrEqual(commit.storedThen);
    expect(commit.offset, `commit ${JSON.stringify(commit)}`).toBeLessThanOrEqual(
      commit.storedThisOwnershipThen,
    );
  }
}

let running: { feed: TopicFeed; store: HeldViewStore; source: FakeRecordSource }[] = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
});

afterEach(async () => {
  for (const { feed, store, source } of running) {
    store.releaseAll();
    await feed.stop();
    source.close();
  }
  running = [];
  vi.useRealTimers();
});

function sharedFeed(partitions: number, logger: Logger = silentLogger) {
  const source = new FakeRecordSource(undefined, { readWaitMs: 10 });
  source.log.createTopic(TOPIC, partitions);
  const store = new HeldViewStore();
  const group = new InMemoryGroup(store);
  const feed = new TopicFeed(
    TOPIC,
    partitions,
    new Array<number>(partitions).fill(0),
    true,
    source.leastLoaded(),
    {
      policy: { readOnly: false, committer: group, persist: store.persist },
      rules,
      logger,
      metrics: new PaMetrics().forTopic(TOPIC),
      tracing: Tracing.off(),
      onLagging: () => {},
      membership: group,
      openViewReader: () => source.openViewReader(TOPIC),
    },
  );
  feed.start();
  running.push({ feed, store, source });
  return { source, store, group, feed };
}

/** What is under way settles, one commit interval passes, and what it started settles. */
async function tick(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  vi.advanceTimersByTime(COMMIT_INTERVAL_MS);
  await new Promise((resolve) => setImmediate(resolve));
}

function logLines(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level: "info", format: "json" }, sink), lines };
}

describe("a shared topic's feed while the group moves its partitions", () => {
  it("hands over what the view stored when a write is in flight, and commits nothing of that partition once the write lands", async () => {
    const { source, store, group, feed } = sharedFeed(2);
    group.assign([0, 1]);
    source.log.append(TOPIC, payments(20, 2));
    await waitUntil(() => feed.viewPositions().join() === "10,10");
    store.holding = true;
    source.log.append(TOPIC, payments(20, 2, 2));
    await waitUntil(
      () => store.waiting === 1 && feed.next.join() === "20,20",
      5_000,
      () => `${store.waiting} writes held, streams at ${feed.next}`,
    );

    group.revoke([0]);
    // Before the revoke completed: the group moved to what was stored (10), not what was queued (20).
    expect(group.commitsOf(0)).toMatchObject([{ offset: 10, sync: true }]);
    expect(feed.processedPartitions()).toEqual([1]);

    store.releaseAll();
    await waitUntil(() => store.storedFrom(0) === 20 && store.storedFrom(1) === 20);
    await tick();
    // The commit loop ran after the write landed: partition 1 moved, partition 0 did not.
    expect(group.committed.get(1)).toBe(20);
    expect(group.committed.get(0)).toBe(10);
    expect(group.commitsOf(0)).toHaveLength(1);
    expectNoCommitPastStored(group);
  });

  it("given back while that write is in flight, moves the partition's commits only with writes made since", async () => {
    const { source, store, group, feed } = sharedFeed(2);
    group.assign([0, 1]);
    source.log.append(TOPIC, payments(20, 2));
    await waitUntil(() => feed.viewPositions().join() === "10,10");
    store.holding = true;
    source.log.append(TOPIC, payments(20, 2, 2));
    await waitUntil(() => store.waiting === 1 && feed.next.join() === "20,20");
    group.revoke([0]);
    const beforeReturn = store.writesBegun;
    group.assign([0]);

    // The write begun before the revoke lands; the view's own read of 10..20 for this ownership waits.
    store.releaseOne();
    await waitUntil(
      () => store.storedFrom(0) === 20 && store.waiting === 1,
      5_000,
      () => `partition 0 stored to ${store.storedFrom(0)}, ${store.waiting} writes held`,
    );
    expect(store.firstStoredAfter(0, beforeReturn)).toBeUndefined();
    await tick();
    expect(group.committed.get(0)).toBe(10);
    expectNoCommitPastStored(group);

    store.releaseAll();
    await waitUntil(async () => {
      await tick();
      return group.committed.get(0) === 20;
    });
    expect(store.firstStoredAfter(0, beforeReturn)).toBe(10);
    expectNoCommitPastStored(group);
  });

  it("starts a partition given back from the group's committed offset, not from where the streams got to", async () => {
    const { source, store, group, feed } = sharedFeed(2);
    group.assign([0, 1]);
    source.log.append(TOPIC, payments(20, 2));
    await waitUntil(async () => {
      await tick();
      return group.committed.get(0) === 10 && group.committed.get(1) === 10;
    });
    group.revoke([0]);
    source.log.append(TOPIC, payments(40, 2, 2));
    await waitUntil(() => feed.next.join() === "30,30" && store.storedFrom(1) === 30);
    // Another instance processed partition 0 up to 18 meanwhile.
    store.storedElsewhere(0, 10, 18);
    group.committed.set(0, 18);
    const beforeReturn = store.writesBegun;
    group.assign([0]);

    await waitUntil(async () => {
      await tick();
      return group.committed.get(0) === 30;
    });
    expect(store.firstStoredAfter(0, beforeReturn)).toBe(18);
    expect(store.storedFrom(0, 18, beforeReturn)).toBe(30);
    expect(feed.viewPositions()).toEqual([30, 30]);
    expectNoCommitPastStored(group);
  });

  it("restarts the view's own read of a partition given back mid-read from the group's committed offset", async () => {
    const { source, store, group, feed } = sharedFeed(1);
    // Streamed before this instance owns the partition: its view reads all of it with its own reader.
    source.log.append(TOPIC, payments(53_000, 1));
    await waitUntil(() => feed.next[0] === 53_000);
    store.holding = true;
    group.assign([0]);
    // The reader stops for room with 50,000 records (MAX_VIEW_BACKLOG) waiting for the store.
    await waitUntil(
      () => store.waiting === 1 && source.openReaders("view")[0]?.assigned.get(0) === 50_000,
      10_000,
      () => `${store.waiting} writes held, reader at ${source.openReaders("view")[0]?.assigned.get(0)}`,
    );
    group.revoke([0]);
    expect(group.commitsOf(0)).toMatchObject([{ offset: 0, sync: true }]);
    const beforeReturn = store.writesBegun;
    group.assign([0]);

    store.releaseAll();
    await waitUntil(
      async () => {
        await tick();
        return group.committed.get(0) === 53_000;
      },
      10_000,
      () => `group at ${group.committed.get(0)}`,
    );
    expect(store.firstStoredAfter(0, beforeReturn)).toBe(0);
    expect(store.storedFrom(0, 0, beforeReturn)).toBe(53_000);
    expectNoCommitPastStored(group);
  });

  it("fetches a partition it had stopped fetching again once the group moves it to another instance", async () => {
    const { source, store, group } = sharedFeed(1);
    group.assign([0]);
    store.holding = true;
    source.log.append(TOPIC, payments(8_000, 1));
    // Nobody streams and 5,000 records wait for the held view: the feed stops fetching.
    await waitUntil(
      () => source.pooled.pausedPartitions(TOPIC).length === 1,
      10_000,
      () => `${store.waiting} writes held`,
    );
    group.revoke([0]);
    // Another instance processes it now: this feed reads it on, for the unprocessed-partition
    // watchdog, which compares the group's commits with the ends it sees.
    expect(source.pooled.pausedPartitions(TOPIC)).toEqual([]);
    store.releaseAll();
  });

  it("retries a failed commit, logs the run of failures once, and counts a commit only once the broker acknowledged it", async () => {
    const { logger, lines } = logLines();
    const { source, group, feed } = sharedFeed(1, logger);
    group.committed.set(0, 0);
    group.answerAtOnce = false;
    group.assign([0]);
    source.log.append(TOPIC, payments(5, 1));
    await waitUntil(() => feed.viewPositions()[0] === 5);

    await tick();
    expect(group.commitsOf(0)).toMatchObject([{ offset: 5, sync: false }]);
    expect(feed.commitLag()).toBe(5);
    // One commit per partition at a time: none while the first is unanswered.
    await tick();
    await tick();
    expect(group.commitsOf(0)).toHaveLength(1);
    expect(feed.commitLag()).toBe(5);

    group.unanswered.shift()?.fail(new Error("Broker: Specified group generation id is not valid"));
    await tick();
    expect(group.committed.get(0)).toBe(0);
    expect(feed.commitLag()).toBe(5);
    expect(group.commitsOf(0)).toMatchObject([{ offset: 5 }, { offset: 5 }]);
    group.unanswered.shift()?.fail(new Error("Broker: Specified group generation id is not valid"));
    await tick();
    expect(group.commitsOf(0)).toHaveLength(3);
    expect(lines.filter((line) => line.includes("Commit failed at partition 0 offset 5"))).toHaveLength(1);

    group.unanswered.shift()?.ack();
    await tick();
    expect(group.committed.get(0)).toBe(5);
    expect(feed.commitLag()).toBe(0);
    expect(group.commitsOf(0)).toHaveLength(3);
    expect(lines.filter((line) => line.includes("Commit succeeded again"))).toHaveLength(1);
    expectNoCommitPastStored(group);
  });

  it("leaves a commit cut by a rebalance to the hand-over commit, and commits the partition again once given back", async () => {
    const { logger, lines } = logLines();
    const { source, group, feed } = sharedFeed(1, logger);
    group.committed.set(0, 0);
    group.answerAtOnce = false;
    group.assign([0]);
    source.log.append(TOPIC, payments(5, 1));
    await waitUntil(() => feed.viewPositions()[0] === 5);
    await tick();
    const cut = group.unanswered.shift();

    group.revoke([0]);
    expect(group.commitsOf(0)).toMatchObject([
      { offset: 5, sync: false },
      { offset: 5, sync: true },
    ]);
    group.assign([0]);
    cut?.fail(new Error("Broker: Specified group generation id is not valid"));
    source.log.append(TOPIC, payments(5, 1, 2));
    await waitUntil(() => feed.viewPositions()[0] === 10);
    await tick();
    expect(group.commitsOf(0).at(-1)).toMatchObject({ offset: 10, sync: false });
    expect(feed.commitLag()).toBe(5);
    group.unanswered.shift()?.ack();
    await tick();
    expect(group.committed.get(0)).toBe(10);
    expect(feed.commitLag()).toBe(0);
    // The cut commit was not this ownership's to retry or report.
    expect(lines.filter((line) => line.includes("Commit failed"))).toHaveLength(0);
    expectNoCommitPastStored(group);
  });
});
