// What the streaming core relies on of a RecordSource (server/kafka/record-source.ts), as one
// suite run against the real broker (record-source.integration.test.ts) and against the in-memory
// fake the streaming core's unit tests use (test/support/fake-record-source.test.ts): the fake
// cannot drift from librdkafka's behaviour without one of them failing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaRecord, RecordSource } from "../../../server/kafka/record-source.js";
import { waitUntil } from "../../support/streams.js";

export interface ContractRecord {
  partition: number;
  value: string;
  key?: string;
  headers?: Record<string, string>;
}

export interface RecordSourceHarness {
  source: RecordSource;
  /** A new, empty topic with `partitions` partitions. */
  createTopic(partitions: number): Promise<string>;
  /** Appends records, in this order; resolves once they are in the log. */
  append(topic: string, records: readonly ContractRecord[]): Promise<void>;
  close(): Promise<void>;
}

const text = (value: Buffer | string | null | undefined) =>
  value === null || value === undefined ? null : String(value);
const header = (record: KafkaRecord, name: string) => {
  for (const entry of record.headers ?? []) if (name in entry) return String(entry[name]);
  return undefined;
};
const positionsOf = (records: readonly KafkaRecord[]) =>
  records.map((r) => `${r.partition}:${r.offset}:${text(r.value)}`);

/** Records p0-0, p1-0, p0-1, p1-1, ...: `perPartition` on each of `partitions`. */
function spread(partitions: number, perPartition: number, label = "r"): ContractRecord[] {
  return Array.from({ length: partitions * perPartition }, (_, i) => ({
    partition: i % partitions,
    value: `${label}-p${i % partitions}-${Math.floor(i / partitions)}`,
  }));
}

export function recordSourceContract(name: string, open: () => Promise<RecordSourceHarness>): void {
  describe(`${name} as the streaming core's RecordSource`, () => {
    let harness: RecordSourceHarness;
    beforeAll(async () => {
      harness = await open();
    });
    afterAll(async () => {
      await harness?.close();
    });

    it("hands a live topic's records to its handler from the start offsets, in order within each partition, with key, value, timestamp and headers", async () => {
      const topic = await harness.createTopic(2);
      await harness.append(topic, [
        ...spread(2, 3),
        { partition: 1, value: "keyed", key: "k-1", headers: { traceparent: "00-abc-01" } },
      ]);
      const received: KafkaRecord[] = [];
      const live = harness.source.leastLoaded();
      live.addTopic(topic, [1, 0], async (batch) => {
        expect(batch.every((record) => record.topic === topic)).toBe(true);
        received.push(...batch);
      });
      try {
        await waitUntil(
          () => received.length >= 6,
          20_000,
          () => `received ${received.length} of 6`,
        );
        const byPartition = (partition: number) =>
          positionsOf(received.filter((record) => record.partition === partition));
        expect(byPartition(0)).toEqual(["0:1:r-p0-1", "0:2:r-p0-2"]);
        expect(byPartition(1)).toEqual(["1:0:r-p1-0", "1:1:r-p1-1", "1:2:r-p1-2", "1:3:keyed"]);
        const keyed = received.find((record) => text(record.value) === "keyed");
        expect(text(keyed?.key)).toBe("k-1");
        expect(typeof keyed?.timestamp).toBe("number");
        expect(header(keyed as KafkaRecord, "traceparent")).toBe("00-abc-01");

        await harness.append(topic, [{ partition: 0, value: "later" }]);
        await waitUntil(
          () => received.length >= 7,
          20_000,
          () => "the record appended later",
        );
        expect(positionsOf(received.slice(6))).toEqual(["0:3:later"]);
        await waitUntil(
          () => live.highWatermark(topic, 0) === 4,
          20_000,
          () => "the high watermark",
        );
      } finally {
        live.removeTopic(topic, 2);
      }
    });

    it("reads a removed topic added again from the new start offsets, not from where it was", async () => {
      const topic = await harness.createTopic(1);
      await harness.append(topic, spread(1, 3));
      const live = harness.source.leastLoaded();
      const first: KafkaRecord[] = [];
      live.addTopic(topic, [0], async (batch) => void first.push(...batch));
      await waitUntil(
        () => first.length >= 3,
        20_000,
        () => "the first reading",
      );
      live.removeTopic(topic, 1);

      const second: KafkaRecord[] = [];
      live.addTopic(topic, [1], async (batch) => void second.push(...batch));
      try {
        await harness.append(topic, [{ partition: 0, value: "after" }]);
        await waitUntil(
          () => second.length >= 3,
          20_000,
          () => `second reading has ${second.length} of 3`,
        );
        expect(positionsOf(second)).toEqual(["0:1:r-p0-1", "0:2:r-p0-2", "0:3:after"]);
        expect(first).toHaveLength(3);
      } finally {
        live.removeTopic(topic, 1);
      }
    });

    it("stops fetching paused partitions while the others go on, and fetches them again from the offset given", async () => {
      const topic = await harness.createTopic(2);
      await harness.append(topic, spread(2, 2));
      const live = harness.source.leastLoaded();
      const received: KafkaRecord[] = [];
      const onPartition = (partition: number) =>
        positionsOf(received.filter((record) => record.partition === partition));
      live.addTopic(topic, [0, 0], async (batch) => void received.push(...batch));
      try {
        await waitUntil(
          () => received.length >= 4,
          20_000,
          () => `received ${received.length} of 4`,
        );
        live.pausePartitions(topic, [0]);
        await harness.append(topic, [
          { partition: 0, value: "while-paused" },
          { partition: 1, value: "goes-on" },
        ]);
        await waitUntil(
          () => onPartition(1).length === 3,
          20_000,
          () => "the record of the partition not paused",
        );
        // Long enough for a fetch of the paused partition, had there been one.
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(onPartition(0)).toEqual(["0:0:r-p0-0", "0:1:r-p0-1"]);

        live.resumePartitions(topic, [{ partition: 0, offset: 1 }]);
        await waitUntil(
          () => onPartition(0).length >= 4,
          20_000,
          () => `partition 0 after the resume: ${onPartition(0).join(", ")}`,
        );
        expect(onPartition(0)).toEqual(["0:0:r-p0-0", "0:1:r-p0-1", "0:1:r-p0-1", "0:2:while-paused"]);
        // A topic removed while some of its partitions are paused.
        live.pausePartitions(topic, [1]);
      } finally {
        live.removeTopic(topic, 2);
      }
    });

    it("keeps pa's group offsets: none (-1001) before a commit, the committed offset after", async () => {
      const topic = await harness.createTopic(2);
      await harness.append(topic, spread(2, 2));
      const live = harness.source.leastLoaded();
      expect(await live.committed(topic, 2)).toEqual([-1001, -1001]);
      await live.commit([{ topic, partition: 1, offset: 2 }]);
      expect(await live.committed(topic, 2)).toEqual([-1001, 2]);
      live.commitSync([{ topic, partition: 0, offset: 1 }]);
      expect(await live.committed(topic, 2)).toEqual([1, 2]);
    });

    it("reads assigned partitions from their offsets, at most `max` at a time, in order within each", async () => {
      const topic = await harness.createTopic(3);
      await harness.append(topic, spread(3, 4));
      const reader = await harness.source.openCatchUpReader(topic);
      try {
        reader.assign([
          { partition: 0, offset: 2 },
          { partition: 2, offset: 1 },
        ]);
        const read: KafkaRecord[] = [];
        while (read.length < 5) {
          const batch = await reader.read(2);
          expect(batch.length).toBeLessThanOrEqual(2);
          read.push(...batch);
        }
        expect(positionsOf(read.filter((r) => r.partition === 0))).toEqual(["0:2:r-p0-2", "0:3:r-p0-3"]);
        expect(positionsOf(read.filter((r) => r.partition === 2))).toEqual([
          "2:1:r-p2-1",
          "2:2:r-p2-2",
          "2:3:r-p2-3",
        ]);
        expect(read.some((r) => r.partition === 1)).toBe(false);
        // Nothing more assigned has anything: a read comes back empty, it does not hang.
        expect(await reader.read(10)).toEqual([]);
      } finally {
        await reader.close();
      }
    });

    it("stops reading an unassigned partition and reads one assigned later, also what arrives meanwhile", async () => {
      const topic = await harness.createTopic(2);
      await harness.append(topic, spread(2, 2));
      const reader = await harness.source.openViewReader(topic);
      try {
        reader.assign([{ partition: 0, offset: 0 }]);
        const first: KafkaRecord[] = [];
        while (first.length < 2) first.push(...(await reader.read(10)));
        expect(positionsOf(first)).toEqual(["0:0:r-p0-0", "0:1:r-p0-1"]);

        reader.unassign([0]);
        reader.assign([{ partition: 1, offset: 1 }]);
        await harness.append(topic, [
          { partition: 0, value: "p0-after" },
          { partition: 1, value: "p1-after" },
        ]);
        const second: KafkaRecord[] = [];
        while (second.length < 2) second.push(...(await reader.read(10)));
        expect(positionsOf(second)).toEqual(["1:1:r-p1-1", "1:2:p1-after"]);
        expect(await reader.read(10)).toEqual([]);
      } finally {
        await reader.close();
      }
    });
  });
}
