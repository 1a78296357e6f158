import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { UnprocessedPartitionSchema } from "../../../gen/payment/payment_pb.js";
import { partitionRanges, unprocessedPartitions } from "../../../web/src/format/partitions.js";

describe("the health panel's partition columns", () => {
  it("show the partitions processed here as ascending ranges, and none as none", () => {
    expect(partitionRanges([5, 0, 1, 2, 7, 8])).toBe("0-2, 5, 7-8");
    expect(partitionRanges([3])).toBe("3");
    expect(partitionRanges([])).toBe("none");
  });

  it("say for each unprocessed partition what waits, since when and whose it is", () => {
    const stalledSince = timestampFromDate(new Date("2026-12-05T08:31:02Z"));
    const text = unprocessedPartitions([
      create(UnprocessedPartitionSchema, {
        partition: 4,
        committedOffset: 100n,
        endOffset: 100n + 1774n,
        stalledSince,
        assignedTo: "pa-a-17 /127.0.0.1",
      }),
      create(UnprocessedPartitionSchema, { partition: 1, committedOffset: 0n, endOffset: 12n, stalledSince }),
    ]);
    expect(text).toBe(
      "p1: 12 waiting since 08:31:02 UTC, unassigned (rebalancing) · " +
        "p4: 1,774 waiting since 08:31:02 UTC, assigned to pa-a-17 /127.0.0.1",
    );
    expect(unprocessedPartitions([])).toBeUndefined();
  });
});
