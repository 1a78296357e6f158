import { describe, expect, it } from "vitest";
import { StalledPartitions } from "../../../server/streaming/stalled-partitions.js";

describe("StalledPartitions", () => {
  it("counts a partition once its commit stood still for the threshold while records waited", () => {
    const tracker = new StalledPartitions(3_000);
    tracker.observe(0, [
      { partition: 0, committed: 10, end: 20 },
      { partition: 1, committed: 5, end: 9 },
    ]);
    tracker.observe(2_999, [
      { partition: 0, committed: 10, end: 25 },
      { partition: 1, committed: 7, end: 12 },
    ]);
    expect(tracker.stalled(2_999)).toEqual([]);
    tracker.observe(3_000, [
      { partition: 0, committed: 10, end: 30 },
      { partition: 1, committed: 9, end: 14 },
    ]);
    // Partition 1's commit moves every sample: processed, however far behind.
    expect(tracker.stalled(3_000)).toEqual([{ partition: 0, committed: 10, end: 30, sinceMs: 0 }]);
  });

  it("forgets a partition whose commit moves again or that has nothing waiting", () => {
    const tracker = new StalledPartitions(1_000);
    tracker.observe(0, [
      { partition: 0, committed: 10, end: 20 },
      { partition: 1, committed: 4, end: 8 },
    ]);
    expect(tracker.stalled(5_000).map(({ partition }) => partition)).toEqual([0, 1]);
    tracker.observe(5_000, [
      { partition: 0, committed: 11, end: 20 },
      { partition: 1, committed: 8, end: 8 },
    ]);
    expect(tracker.stalled(5_000)).toEqual([]);
    // Moved at 5 s: stalled again only a full threshold after that.
    tracker.observe(5_500, [{ partition: 0, committed: 11, end: 20 }]);
    expect(tracker.stalled(5_999)).toEqual([]);
    expect(tracker.stalled(6_000)).toEqual([{ partition: 0, committed: 11, end: 20, sinceMs: 5_000 }]);
  });

  it("starts the wait when records arrive at an idle partition, not when it last committed", () => {
    const tracker = new StalledPartitions(1_000);
    tracker.observe(0, [{ partition: 0, committed: 10, end: 10 }]);
    tracker.observe(60_000, [{ partition: 0, committed: 10, end: 11 }]);
    expect(tracker.stalled(60_500)).toEqual([]);
    expect(tracker.stalled(61_000)).toEqual([{ partition: 0, committed: 10, end: 11, sinceMs: 60_000 }]);
  });
});
