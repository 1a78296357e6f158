import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { RedriveDeadLettersRequestSchema } from "../../../gen/pa/admin/v1/dead_letter_service_pb.js";
import { errorFilter, pageSize, redriveChoice, sourceTopic } from "../../../server/admin/admin-requests.js";
import { RequestError, topicPolicy } from "../../../server/rpc/request-validation.js";

const redrive = (selection: Parameters<typeof create<typeof RedriveDeadLettersRequestSchema>>[1]) =>
  redriveChoice(create(RedriveDeadLettersRequestSchema, { topic: "orders", ...selection }));

describe("DeadLetterService requests", () => {
  it("name the source topic when given its .dlq, and apply TOPIC_ALLOWLIST", () => {
    const allowed = topicPolicy(["orders*"]);
    expect(sourceTopic("orders", allowed)).toBe("orders");
    expect(() => sourceTopic("orders.dlq", allowed)).toThrow(/name its source topic "orders"/);
    expect(() => sourceTopic("refunds", allowed)).toThrow(/not allowed by this pa/);
    expect(() => sourceTopic("", allowed)).toThrow(/topic is required/);
    expect(() => sourceTopic("bad topic", allowed)).toThrow(/not a legal Kafka topic name/);
  });

  it("size pages as the contract says", () => {
    expect(pageSize(0)).toBe(50);
    expect(pageSize(7)).toBe(7);
    expect(pageSize(5000)).toBe(1000);
    expect(() => pageSize(-1)).toThrow(/page_size must be 0/);
  });

  it("accept error codes and refuse what cannot be one", () => {
    expect(errorFilter(["invalid_json", "invalid_json", "missing_field"])).toEqual([
      "invalid_json",
      "missing_field",
    ]);
    expect(() => errorFilter(["Invalid JSON"])).toThrow(/not an error code/);
    expect(() => errorFilter([""])).toThrow(RequestError);
  });

  it("read the selection, refusing none, all=false, empty refs, negative positions and reversed ranges", () => {
    expect(redrive({ selection: { case: "all", value: true } })).toEqual({ kind: "all" });
    expect(
      redrive({
        selection: { case: "refs", value: { refs: [{ originalPartition: 1, originalOffset: 5n }] } },
      }),
    ).toEqual({ kind: "refs", refs: [{ partition: 1, offset: 5 }] });
    expect(
      redrive({ selection: { case: "range", value: { partition: 2, fromOffset: 3n, toOffset: 3n } } }),
    ).toEqual({ kind: "range", partition: 2, fromOffset: 3, toOffset: 3 });

    expect(() => redrive({})).toThrow(/say what to redrive: all, refs .* or range/);
    expect(() => redrive({ selection: { case: "all", value: false } })).toThrow(/all must be true/);
    expect(() => redrive({ selection: { case: "refs", value: { refs: [] } } })).toThrow(/refs is empty/);
    expect(() =>
      redrive({
        selection: { case: "refs", value: { refs: [{ originalPartition: 0, originalOffset: -1n }] } },
      }),
    ).toThrow(/refs\[0\]\.original_offset must be an offset of 0 or more/);
    expect(() =>
      redrive({ selection: { case: "range", value: { partition: -1, fromOffset: 0n, toOffset: 1n } } }),
    ).toThrow(/range.partition must be 0 or more/);
    expect(() =>
      redrive({ selection: { case: "range", value: { partition: 0, fromOffset: 9n, toOffset: 1n } } }),
    ).toThrow(/from_offset \(9\) is after range.to_offset \(1\)/);
  });
});
