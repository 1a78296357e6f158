import { describe, expect, it } from "vitest";
import { indexDeadLetters } from "../../../server/admin/dead-letter-index.js";
import { type DeadLetterRecord, readDeadLetterRecord } from "../../../server/admin/dead-letter-record.js";
import { redriveReceipt } from "../../../server/admin/redrive.js";
import { planRedrive } from "../../../server/admin/redrive-selection.js";
import { deadLetterEnvelope, deadLetterMessage } from "../../../server/kafka/dead-letter-producer.js";

const topic = "orders";
const dlq = "orders.dlq";

function letter(
  source: { partition: number; offset: number },
  dlqAt: { partition: number; offset: number },
  extra: { headers?: Record<string, string>[]; error?: string } = {},
): DeadLetterRecord {
  const value = deadLetterEnvelope(
    {
      topic,
      partition: source.partition,
      offset: source.offset,
      key: Buffer.from(`k${source.offset}`),
      value: Buffer.from("not json"),
      error: extra.error ?? "invalid_json",
      reason: "value is not JSON",
      retryCount: 0,
      ...(extra.headers ? { sourceHeaders: extra.headers } : {}),
    },
    1_700_000_000_000,
  );
  const record = readDeadLetterRecord(dlq, {
    ...dlqAt,
    key: Buffer.from(`k${source.offset}`),
    value: Buffer.from(value),
    timestamp: 1_700_000_000_123,
    ...(extra.headers ? { headers: extra.headers } : {}),
  });
  if (!record) throw new Error("the envelope should read back");
  return record;
}

/** A letter as pa's DLQ producer writes it (with its headers), read back from `dlqAt`. */
function written(
  source: { partition: number; offset: number },
  dlqAt: { partition: number; offset: number },
): DeadLetterRecord {
  const message = deadLetterMessage(
    {
      topic,
      partition: source.partition,
      offset: source.offset,
      key: Buffer.from(`k${source.offset}`),
      value: Buffer.from("not json"),
      error: "invalid_json",
      reason: "value is not JSON",
      retryCount: 0,
    },
    3,
    1_700_000_000_000,
  );
  const headers = Object.entries(message.headers).map(([name, value]) => ({ [name]: String(value) }));
  const record = readDeadLetterRecord(dlq, {
    ...dlqAt,
    key: message.key,
    value: Buffer.from(message.value),
    headers,
  });
  if (!record) throw new Error("the letter should read back");
  return record;
}

describe("stable dead-letter ids", () => {
  it("names a letter by its source position, from its pa-dlq-id header or, without it, the envelope", () => {
    expect(written({ partition: 2, offset: 41 }, { partition: 2, offset: 0 }).id).toBe("orders/2/41");
    expect(letter({ partition: 2, offset: 41 }, { partition: 2, offset: 5 }).id).toBe("orders/2/41");
  });

  // At least once: pa killed after the DLQ acknowledged a letter but before the offset commit
  // dead-letters the record again after its restart, here after the first copy was redriven.
  it("a copy written after a redrive is the same letter: listed once, and not republished again", () => {
    const first = written({ partition: 0, offset: 7 }, { partition: 0, offset: 10 });
    const [redriven] = indexDeadLetters(topic, [first]);
    if (!redriven) throw new Error("one entry");
    const receipt = redriveReceipt(topic, redriven, { partition: 0, offset: 99 });
    const receiptRecord = readDeadLetterRecord(dlq, {
      partition: 0,
      offset: 11,
      key: receipt.key,
      value: Buffer.from(receipt.value),
      headers: Object.entries(receipt.headers).map(([name, value]) => ({ [name]: String(value) })),
    });
    if (!receiptRecord) throw new Error("the receipt should read back");
    const again = written({ partition: 0, offset: 7 }, { partition: 0, offset: 12 });

    const entries = indexDeadLetters(topic, [first, receiptRecord, again]);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ id: "orders/0/7", copies: 2, dlq: { offset: 10 } });
    expect(entries[0]?.lastRedrive?.landed).toEqual({ partition: 0, offset: 99 });
    const plan = planRedrive(entries, { kind: "all" }, false);
    expect(plan.redrive).toEqual([]);
    expect(plan.skipped.map((skip) => skip.detail)).toEqual([expect.stringMatching(/^already redriven at /)]);
    // With force: republished once, not once per copy.
    expect(planRedrive(entries, { kind: "all" }, true).redrive.map((entry) => entry.id)).toEqual([
      "orders/0/7",
    ]);
  });
});

describe("indexDeadLetters", () => {
  it("orders entries by source partition then offset", () => {
    const entries = indexDeadLetters(topic, [
      letter({ partition: 1, offset: 3 }, { partition: 1, offset: 0 }),
      letter({ partition: 0, offset: 9 }, { partition: 0, offset: 1 }),
      letter({ partition: 0, offset: 2 }, { partition: 0, offset: 0 }),
    ]);
    expect(entries.map((e) => [e.source.partition, e.source.offset])).toEqual([
      [0, 2],
      [0, 9],
      [1, 3],
    ]);
    expect(entries.every((e) => e.copies === 1)).toBe(true);
  });

  it("collapses copies of one source offset into the first DLQ copy, counting them", () => {
    const entries = indexDeadLetters(topic, [
      letter({ partition: 0, offset: 5 }, { partition: 0, offset: 7 }),
      letter({ partition: 0, offset: 5 }, { partition: 0, offset: 3 }),
      letter({ partition: 0, offset: 5 }, { partition: 0, offset: 8 }),
    ]);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ copies: 3, dlq: { partition: 0, offset: 3 } });
  });

  it("ignores letters of other source topics", () => {
    const other = { ...letter({ partition: 0, offset: 1 }, { partition: 0, offset: 0 }) };
    other.source = { ...other.source, topic: "payments" };
    expect(indexDeadLetters(topic, [other])).toEqual([]);
  });

  it("links a letter whose redriven record failed again to that newer letter", () => {
    const first = letter({ partition: 0, offset: 4 }, { partition: 0, offset: 2 });
    const again = letter(
      { partition: 0, offset: 40 },
      { partition: 0, offset: 6 },
      { headers: [{ "pa-redrive-count": "1" }, { "pa-redriven-from": `${dlq}/0/2` }] },
    );
    const entries = indexDeadLetters(topic, [again, first]);
    expect(entries[0]).toMatchObject({ source: { offset: 4 }, failedAgainAs: { partition: 0, offset: 40 } });
    expect(entries[1]).toMatchObject({ source: { offset: 40 }, redriveCount: 1 });
    expect(entries[1]?.failedAgainAs).toBeUndefined();
  });

  it("links through any copy of the earlier letter", () => {
    const copyA = letter({ partition: 0, offset: 4 }, { partition: 0, offset: 2 });
    const copyB = letter({ partition: 0, offset: 4 }, { partition: 0, offset: 3 });
    const again = letter(
      { partition: 0, offset: 41 },
      { partition: 0, offset: 9 },
      { headers: [{ "pa-redrive-count": "1" }, { "pa-redriven-from": `${dlq}/0/3` }] },
    );
    const entries = indexDeadLetters(topic, [copyA, copyB, again]);
    expect(entries[0]).toMatchObject({ copies: 2, failedAgainAs: { offset: 41 } });
  });
});

describe("redrive receipts", () => {
  const receipt = (dlqOffset: number, landedOffset: number, atMs: number) => {
    const copy = letter(
      { partition: 0, offset: 5 },
      { partition: 0, offset: dlqOffset },
      { headers: [{ "pa-redriven-to": `${topic}/0/${landedOffset}` }] },
    );
    return { ...copy, deadLetteredAtMs: atMs };
  };

  it("collapse into their letter without counting as copies, the latest one standing as last redrive", () => {
    const entries = indexDeadLetters(topic, [
      receipt(9, 70, 2_000),
      letter({ partition: 0, offset: 5 }, { partition: 0, offset: 2 }),
      receipt(4, 60, 1_000),
    ]);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      copies: 1,
      dlq: { partition: 0, offset: 2 },
      lastRedrive: { landed: { partition: 0, offset: 70 }, atMs: 2_000 },
    });
    expect(entries[0]).not.toHaveProperty("redrivenTo");
  });

  it("stand for the letter when retention removed it", () => {
    const [entry] = indexDeadLetters(topic, [receipt(9, 70, 2_000)]);
    expect(entry).toMatchObject({
      source: { offset: 5 },
      copies: 1,
      lastRedrive: { landed: { offset: 70 } },
    });
  });
});

describe("readDeadLetterRecord", () => {
  it("refuses records that are not envelopes", () => {
    const read = (value: string) =>
      readDeadLetterRecord(dlq, { partition: 0, offset: 0, value: Buffer.from(value) });
    expect(read("not json")).toBeUndefined();
    expect(read("[1]")).toBeUndefined();
    expect(read(JSON.stringify({ original_topic: topic, partition: -1, offset: 1 }))).toBeUndefined();
    expect(read(JSON.stringify({ original_topic: topic, partition: 0 }))).toBeUndefined();
  });

  it("reads the PoC's envelope, which has no reason nor redrive_count", () => {
    const poc = JSON.stringify({
      original_topic: topic,
      partition: 2,
      offset: 17,
      key: "pay_1",
      value: "{}",
      error: "max_retries_exceeded",
      retry_count: 3,
      timestamp: 1_705_123_456,
    });
    expect(readDeadLetterRecord(dlq, { partition: 2, offset: 0, value: Buffer.from(poc) })).toMatchObject({
      source: { topic, partition: 2, offset: 17 },
      key: "pay_1",
      error: "max_retries_exceeded",
      reason: "",
      retryCount: 3,
      redriveCount: 0,
      deadLetteredAtMs: 1_705_123_456_000,
      rawKey: null,
    });
  });

  it("ignores a redriven-from header naming another DLQ", () => {
    const record = letter(
      { partition: 0, offset: 1 },
      { partition: 0, offset: 0 },
      { headers: [{ "pa-redriven-from": "elsewhere.dlq/0/2" }] },
    );
    expect(record.redrivenFrom).toBeUndefined();
  });
});
