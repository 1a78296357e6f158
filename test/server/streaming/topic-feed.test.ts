// A topic's live feed over the in-memory record source (held to librdkafka's behaviour by
// test/server/kafka/record-source-contract.ts): fan-out in partition order, subscribers that
// start ahead, leaving, the linger stop, and the view's position on a processed topic.
import { afterEach, describe, expect, it, vi } from "vitest";
import { DependencyUnavailableError } from "../../../server/resilience/dependency-unavailable-error.js";
import type { StoredPayment } from "../../../server/store/payment-store.js";
import type { ProcessingPolicy } from "../../../server/streaming/processing-policy.js";
import { decodeStreamCursor } from "../../../server/streaming/stream-cursor.js";
import { FakeRecordSource } from "../../support/fake-record-source.js";
import { drain, offsetsOn, payments, range, StreamingCore } from "../../support/streaming-core.js";
import { waitUntil } from "../../support/streams.js";

let sources: FakeRecordSource[] = [];
afterEach(() => {
  for (const source of sources) source.close();
  sources = [];
});

function core(partitions: number, options: Partial<ConstructorParameters<typeof StreamingCore>[2]> = {}) {
  const source = new FakeRecordSource(undefined, { readWaitMs: 10 });
  sources.push(source);
  const topic = `t-${sources.length}`;
  source.log.createTopic(topic, partitions);
  return new StreamingCore(source, topic, { partitions, ...options });
}

/** A processed topic's view that stores nothing and records how many payments each write took. */
function writeSizes() {
  const writes: number[] = [];
  const policy: ProcessingPolicy = {
    readOnly: false,
    committer: undefined,
    persist: async (valid, invalid) => {
      writes.push(valid.length);
      return invalid.length;
    },
  };
  return { policy, writes };
}

/** A processed topic's policy whose store is a list: what the view stored, in order. */
function listPolicy(committer: ProcessingPolicy["committer"], failFirst = 0) {
  const stored: StoredPayment[] = [];
  let failures = failFirst;
  const attempts = { failed: 0 };
  const policy: ProcessingPolicy = {
    readOnly: false,
    committer,
    persist: async (valid, invalid) => {
      if (failures > 0) {
        failures--;
        attempts.failed++;
        throw new DependencyUnavailableError("store", "the store is down", 5, () => "open");
      }
      stored.push(...valid);
      return invalid.length;
    },
  };
  return { policy, stored, attempts };
}

describe("TopicFeed over a record source", () => {
  it("fans every record out at once to every attached subscriber, in partition order, sharing one event", async () => {
    const c = core(3);
    const a = c.subscribe(1000);
    const b = c.subscribe(1000);
    c.source.log.append(c.topic, payments(60, 3));
    await waitUntil(
      () => a.queued === 60 && b.queued === 60,
      5_000,
      () => `queued ${a.queued}, ${b.queued}`,
    );
    const fromA = a.take(100);
    const fromB = b.take(100);
    for (let partition = 0; partition < 3; partition++)
      expect(offsetsOn(fromA, partition)).toEqual(range(0, 20));
    expect(fromB).toEqual(fromA);
    expect(fromB.every((event, i) => event === fromA[i])).toBe(true);
    // The last event's cursor resumes after everything read.
    expect(decodeStreamCursor(fromA.at(-1)?.cursor ?? "", c.topic)).toEqual([20, 20, 20]);
    expect(c.feed.next).toEqual([20, 20, 20]);
    expect(c.source.readers).toHaveLength(0);
  });

  it("gives a subscriber that starts ahead of the feed nothing before its start offsets", async () => {
    const c = core(2);
    const early = c.subscribe(1000);
    const ahead = c.subscribe(1000, [3, 5]);
    c.source.log.append(c.topic, payments(20, 2));
    await waitUntil(
      () => early.queued === 20,
      5_000,
      () => `early has ${early.queued}`,
    );
    const events = ahead.take(100);
    expect(offsetsOn(events, 0)).toEqual(range(3, 10));
    expect(offsetsOn(events, 1)).toEqual(range(5, 10));
    expect(ahead.isSimple).toBe(true);
  });

  it("stops fanning out to a subscriber that left, and its feed keeps serving the others", async () => {
    const c = core(1);
    const staying = c.subscribe(1000);
    const leaving = c.subscribe(1000);
    c.source.log.append(c.topic, payments(5, 1));
    await waitUntil(() => leaving.queued === 5, 5_000);
    leaving.close();
    expect(c.feed.subscribers.has(leaving)).toBe(false);
    c.source.log.append(c.topic, payments(5, 1, 2));
    await waitUntil(() => staying.queued === 10, 5_000);
    expect(leaving.take(100)).toEqual([]);
    expect(c.source.pooled.assignedPartitions(c.topic)).toEqual([0]);
  });

  it("stops fetching a partition nobody takes, and fetches it again from there once its subscriber caught up", async () => {
    const c = core(1);
    const slow = c.subscribe(10);
    c.source.log.append(c.topic, payments(100, 1));
    await waitUntil(
      () => slow.lagging.size > 0 && c.feed.next[0] === 100,
      5_000,
      () => `next ${c.feed.next[0]}`,
    );
    // Its only subscriber lags (its catch-up reader waits for it to take its queue): the next
    // batch parks the partition.
    c.source.log.append(c.topic, payments(100, 1, 2));
    await waitUntil(
      () => c.source.pooled.pausedPartitions(c.topic).length === 1,
      5_000,
      () => `next ${c.feed.next[0]}`,
    );
    const parkedAt = c.feed.next[0];
    c.source.log.append(c.topic, payments(100, 1, 3));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(c.feed.next[0]).toBe(parkedAt);

    const { events, done } = drain(slow);
    await waitUntil(
      () => events.length === 300,
      10_000,
      () => `${events.length} of 300 events`,
    );
    expect(offsetsOn(events, 0)).toEqual(range(0, 300));
    expect(c.source.pooled.pausedPartitions(c.topic)).toEqual([]);
    expect(c.feed.next[0]).toBe(300);
    slow.close();
    await done;
  });

  describe("linger", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it("calls back after the linger time without subscribers; stopping then unassigns the topic", async () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      const c = core(2);
      c.subscribe(10).close();
      expect(c.source.pooled.assignedPartitions(c.topic)).toEqual([0, 1]);
      const idle = vi.fn(() => void c.feed.stop());
      c.feed.lingerThen(1_000, idle);
      vi.advanceTimersByTime(999);
      expect(idle).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(idle).toHaveBeenCalledOnce();
      expect(c.source.pooled.assignedPartitions(c.topic)).toEqual([]);
    });

    it("stays for a subscriber attaching while it lingers, and for a pinned topic", () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      const c = core(1);
      c.subscribe(10).close();
      const idle = vi.fn();
      c.feed.lingerThen(1_000, idle);
      vi.advanceTimersByTime(500);
      const arriving = c.subscribe(10);
      vi.advanceTimersByTime(5_000);
      expect(idle).not.toHaveBeenCalled();

      arriving.close();
      c.feed.lingerThen(1_000, idle);
      c.feed.pin();
      vi.advanceTimersByTime(5_000);
      expect(idle).not.toHaveBeenCalled();
      expect(c.source.pooled.assignedPartitions(c.topic)).toEqual([0]);
    });
  });

  describe("the view of a processed topic", () => {
    it("stores what was streamed, reports its position, answers waits at it and commits it to the group", async () => {
      const source = new FakeRecordSource(undefined, { readWaitMs: 10 });
      sources.push(source);
      source.log.createTopic("v", 2);
      const { policy, stored } = listPolicy(source.pooled);
      const c = new StreamingCore(source, "v", { partitions: 2, policy });
      const subscriber = c.subscribe(1000);
      source.log.append("v", payments(10, 2));
      await c.feed.waitForView([5, 5], AbortSignal.timeout(5_000));
      expect(c.feed.viewPositions()).toEqual([5, 5]);
      expect(c.feed.viewLag()).toBe(0);
      expect(stored.map((s) => `${s.source.partition}:${s.source.offset}`).sort()).toEqual(
        [...range(0, 5).map((o) => `0:${o}`), ...range(0, 5).map((o) => `1:${o}`)].sort(),
      );
      expect(subscriber.queued).toBe(10);
      // The group's offsets move to the view's position (every COMMIT_INTERVAL_MS).
      await waitUntil(async () => (await source.pooled.committed("v", 2)).join() === "5,5", 5_000);
      await c.feed.stop();
    });

    it("counts every record once where the view processes it, also those the feed passed while nobody took them", async () => {
      const source = new FakeRecordSource(undefined, { readWaitMs: 10 });
      sources.push(source);
      source.log.createTopic("n", 1);
      // The first write fails: the view pauses, so for a while nobody takes records from the feed.
      const { policy, stored } = listPolicy(source.pooled, 1);
      const c = new StreamingCore(source, "n", { partitions: 1, policy });
      const poison = (n: number) => Array.from({ length: n }, () => ({ partition: 0, value: "not json" }));
      const quiet = c.subscribe(1000);
      source.log.append("n", [...payments(5, 1), ...poison(2)]);
      await waitUntil(() => c.feed.next[0] === 7, 5_000);
      quiet.close();
      // No subscriber and a paused view: the feed moves past these without parsing them.
      source.log.append("n", [...payments(5, 1, 2), ...poison(3)]);
      await waitUntil(() => c.feed.next[0] === 15, 5_000);
      // The view resumes with its own reader and processes (and counts) all 15, each once.
      await c.feed.waitForView([15], AbortSignal.timeout(15_000));
      expect(stored).toHaveLength(10);
      expect(c.feed.invalid).toBe(5);
      expect(c.feed.deadLettered).toBe(5);
      await c.feed.stop();
    });

    it("stops fetching while nobody streams and the view has work queued, so the view reads no record twice", async () => {
      const source = new FakeRecordSource(undefined, { readWaitMs: 10 });
      sources.push(source);
      source.log.createTopic("p", 1);
      let release = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const stored: StoredPayment[] = [];
      const policy: ProcessingPolicy = {
        readOnly: false,
        committer: source.pooled,
        persist: async (valid, invalid) => {
          await held;
          stored.push(...valid);
          return invalid.length;
        },
      };
      const c = new StreamingCore(source, "p", { partitions: 1, policy });
      c.feed.start();
      // The store holds the first write: once 5,000 records wait for the view, the feed stops.
      source.log.append("p", payments(8_000, 1));
      await waitUntil(
        () => source.pooled.pausedPartitions("p").length === 1,
        5_000,
        () => `next ${c.feed.next[0]}`,
      );
      const stoppedAt = c.feed.next[0];
      source.log.append("p", payments(4_000, 1, 2));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(c.feed.next[0]).toBe(stoppedAt);

      release();
      await c.feed.waitForView([12_000], AbortSignal.timeout(15_000));
      expect(stored.map((s) => s.source.offset)).toEqual(range(0, 12_000));
      expect(source.readers.filter((reader) => reader.kind === "view")).toHaveLength(0);
      await c.feed.stop();
    });

    it("gathers records that arrive one by one into one write while the view is idle", async () => {
      const { policy, writes } = writeSizes();
      // A longer wait than pa's 20 ms, so that a busy test machine cannot split the three.
      const c = core(1, { policy, viewGatherMs: 500 });
      const subscriber = c.subscribe(100);
      for (let i = 0; i < 3; i++) {
        c.source.log.append(c.topic, payments(1, 1, 10 + i));
        // Each its own batch of the live feed, streamed at once.
        await waitUntil(() => subscriber.queued === i + 1, 5_000);
      }
      await c.feed.waitForView([3], AbortSignal.timeout(5_000));
      expect(writes).toEqual([3]);
      await c.feed.stop();
    });

    it("writes what it gathers at once when someone waits for the view", async () => {
      const { policy, writes } = writeSizes();
      // A gather far longer than the wait's own deadline: only cutting it short can meet it.
      const c = core(1, { policy, viewGatherMs: 600_000 });
      const subscriber = c.subscribe(100);
      c.source.log.append(c.topic, payments(1, 1));
      await waitUntil(() => subscriber.queued === 1, 5_000);
      await c.feed.waitForView([1], AbortSignal.timeout(5_000));
      expect(writes).toEqual([1]);
      await c.feed.stop();
    });

    it("pauses while the store fails, streams meanwhile, then reads what it missed with its own reader from its position", async () => {
      const source = new FakeRecordSource(undefined, { readWaitMs: 10 });
      sources.push(source);
      source.log.createTopic("w", 2);
      const { policy, stored, attempts } = listPolicy(source.pooled, 1);
      const c = new StreamingCore(source, "w", { partitions: 2, policy });
      const subscriber = c.subscribe(1000);
      source.log.append("w", payments(10, 2));
      await waitUntil(() => subscriber.queued === 10, 5_000);
      // The first write failed: whatever else happens, the view is not past what it stored.
      expect(
        c.feed.viewPositions().every((position, partition) => position <= (c.feed.next[partition] ?? 0)),
      ).toBe(true);
      source.log.append("w", payments(10, 2, 3));
      await waitUntil(() => subscriber.queued === 20, 5_000);
      await waitUntil(
        () => c.feed.viewPositions().join() === "10,10",
        5_000,
        () => `view at ${c.feed.viewPositions()}`,
      );
      expect(attempts.failed).toBe(1);
      expect(c.feed.viewPositions()).toEqual([10, 10]);
      const storedOffsets = new Set(stored.map((s) => `${s.source.partition}:${s.source.offset}`));
      expect(storedOffsets.size).toBe(20);
      // The stretch it missed came through a view reader, closed once the view rejoined the feed.
      expect(source.readers.filter((reader) => reader.kind === "view").length).toBeGreaterThan(0);
      await waitUntil(() => source.openReaders("view").length === 0, 5_000);
      // The streams had each record once, whatever the view did.
      const events = subscriber.take(100);
      expect(offsetsOn(events, 0)).toEqual(range(0, 10));
      expect(offsetsOn(events, 1)).toEqual(range(0, 10));
      await c.feed.stop();
    });
  });
});
