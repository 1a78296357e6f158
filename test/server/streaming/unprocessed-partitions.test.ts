// The group-progress sampler: what it asks Kafka, and when it asks nothing. librdkafka aborts the
// process when an admin group request times out after its broker went away (librdkafka issue
// 4605), so the sampler asks only through the group's consumer, and nothing while Kafka is down.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type GroupProgressSource,
  UnprocessedPartitions,
} from "../../../server/streaming/unprocessed-partitions.js";
import { silentLogger } from "../../support/streaming-core.js";

function source(committed: number[], ends: number[]) {
  const calls: string[] = [];
  let reachable = true;
  const progress: GroupProgressSource = {
    committedOffsets: async (topic, partitions) => {
      calls.push(`committed ${topic} ${partitions}`);
      return committed;
    },
    ends: () => ends,
    assignments: async (topic) => {
      calls.push(`assignments ${topic}`);
      return new Map([[1, "pa-host-1 at 10.0.0.7"]]);
    },
    reachable: () => reachable,
  };
  return { progress, calls, setReachable: (value: boolean) => (reachable = value) };
}

// Two samples 3 s apart of a topic whose partition 1 has records waiting behind a commit that
// stands still (the threshold): partition 1 is then unprocessed.
async function stalledWatch(committed: number[]) {
  vi.useFakeTimers({ toFake: ["Date"] });
  const kafka = source(committed, [10, 9, 0]);
  const watch = new UnprocessedPartitions(
    kafka.progress,
    { topics: ["t"], stalledAfterMs: 3_000, intervalMs: 1_000 },
    silentLogger,
  );
  await watch.sample();
  vi.advanceTimersByTime(3_000);
  await watch.sample();
  return { kafka, watch };
}

describe("UnprocessedPartitions", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("finds a partition whose commit stands still while records wait, and names its holder", async () => {
    const { kafka, watch } = await stalledWatch([10, 4, -1001]);
    expect(watch.of("t")).toEqual([
      {
        partition: 1,
        committed: 4,
        end: 9,
        sinceMs: expect.any(Number),
        assignedTo: "pa-host-1 at 10.0.0.7",
      },
    ]);
    expect(kafka.calls).toEqual(["committed t 3", "committed t 3", "assignments t"]);
  });

  it("asks Kafka nothing while it is unreachable, and keeps the last sample meanwhile", async () => {
    const { kafka, watch } = await stalledWatch([10, 4, 0]);
    const before = watch.of("t");
    expect(before).toHaveLength(1);
    kafka.setReachable(false);
    kafka.calls.length = 0;
    vi.advanceTimersByTime(10_000);
    await watch.sample();
    await watch.sample();
    expect(kafka.calls).toEqual([]);
    expect(watch.of("t")).toEqual(before);
  });
});
