// The DLQ reader's stopping rules against an in-memory dead-letter source: it reads from where it
// is asked up to the high watermarks it saw at the start, and stops on a partition's end report
// even when the partition's last offsets hold nothing for it.
import { describe, expect, it } from "vitest";
import { DeadLetterReadError, readDeadLetterRange } from "../../../server/admin/dead-letter-reader.js";
import { deadLetterEnvelope } from "../../../server/kafka/dead-letter-producer.js";
import type {
  DeadLetterSource,
  OpenDeadLetterSource,
  PartitionStart,
  ReadRecord,
  SourceBatch,
} from "../../../server/kafka/dead-letter-source.js";
import { TopicNotFoundError } from "../../../server/kafka/topic-admin.js";

const letterAt = (partition: number, offset: number): ReadRecord => ({
  partition,
  offset,
  key: Buffer.from(`k${offset}`),
  value: Buffer.from(
    deadLetterEnvelope(
      {
        topic: "orders",
        partition,
        offset: offset * 10,
        key: Buffer.from(`k${offset}`),
        value: Buffer.from("not json"),
        error: "invalid_json",
        reason: "value is not JSON",
        retryCount: 0,
      },
      0,
    ),
  ),
});

/** Hands over `batches` in turn (then empty reads), recording where it was asked to start. */
function scripted(batches: SourceBatch[]): {
  open: OpenDeadLetterSource;
  starts: PartitionStart[][];
  closed: number;
} {
  const state = {
    starts: [] as PartitionStart[][],
    closed: 0,
    open: undefined as unknown as OpenDeadLetterSource,
  };
  state.open = async (topic, starts) => {
    expect(topic).toBe("orders.dlq");
    state.starts.push([...starts]);
    const queue = [...batches];
    const source: DeadLetterSource = {
      read: async () => queue.shift() ?? { records: [], ends: [] },
      close: async () => {
        state.closed++;
      },
    };
    return source;
  };
  return state;
}

const admin = (marks: { low: number; high: number }[]) => ({ offsets: async () => marks });

describe("readDeadLetterRange", () => {
  it("reads each partition from its start to the high watermark seen first, ignoring later records", async () => {
    const source = scripted([
      { records: [letterAt(0, 2), letterAt(1, 0)], ends: [] },
      // librdkafka reports a partition's end during the consume call that hands over its last
      // records, before that call's batch: the reader applies it after the batch.
      { records: [letterAt(0, 3), letterAt(1, 1)], ends: [{ partition: 1, offset: 2 }] },
      { records: [letterAt(0, 4)], ends: [] },
    ]);
    const range = await readDeadLetterRange(
      "orders",
      {
        open: source.open,
        admin: admin([
          { low: 0, high: 4 },
          { low: 0, high: 2 },
        ]),
      },
      [2],
    );
    expect(source.starts).toEqual([
      [
        { partition: 0, offset: 2 },
        { partition: 1, offset: 0 },
      ],
    ]);
    expect(range.letters.map((letter) => letter.id).sort()).toEqual([
      "orders/0/20",
      "orders/0/30",
      "orders/1/0",
      "orders/1/10",
    ]);
    expect(range).toMatchObject({ low: [0, 0], high: [4, 2] });
    expect(source.closed).toBe(1);
  });

  it("stops on a partition's end report when its last offsets hold no record (retention, markers)", async () => {
    const source = scripted([{ records: [letterAt(0, 0)], ends: [{ partition: 0, offset: 3 }] }]);
    const range = await readDeadLetterRange("orders", {
      open: source.open,
      admin: admin([{ low: 0, high: 3 }]),
    });
    expect(range.letters).toHaveLength(1);
  });

  it("opens nothing without a DLQ or when nothing is new, and names the topic when it cannot read", async () => {
    const source = scripted([]);
    const missing = { offsets: async () => Promise.reject(new TopicNotFoundError("orders.dlq")) };
    expect(await readDeadLetterRange("orders", { open: source.open, admin: missing })).toEqual({
      letters: [],
      low: [],
      high: [],
    });
    expect(
      (await readDeadLetterRange("orders", { open: source.open, admin: admin([{ low: 0, high: 5 }]) }, [5]))
        .letters,
    ).toEqual([]);
    expect(source.starts).toEqual([]);

    const failing: OpenDeadLetterSource = async () => ({
      read: () => Promise.reject(new Error("broker gone")),
      close: async () => {},
    });
    await expect(
      readDeadLetterRange("orders", { open: failing, admin: admin([{ low: 0, high: 1 }]) }),
    ).rejects.toThrow(new DeadLetterReadError("reading orders.dlq failed: broker gone"));
  });
});
