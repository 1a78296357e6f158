import { describe, expect, it } from "vitest";
import { DeadLetterCache } from "../../../server/admin/dead-letter-cache.js";
import type { DeadLetterRange } from "../../../server/admin/dead-letter-reader.js";
import type { DeadLetterRecord } from "../../../server/admin/dead-letter-record.js";

function letter(topic: string, partition: number, offset: number): DeadLetterRecord {
  return {
    id: `${topic}/${partition}/${offset * 10}`,
    source: { topic, partition, offset: offset * 10 },
    dlq: { partition, offset },
    key: `k${offset}`,
    value: "not json",
    error: "invalid_json",
    reason: "the value is not JSON",
    retryCount: 0,
    redriveCount: 0,
    deadLetteredAtMs: 0,
    rawKey: null,
    headers: [],
  };
}

/**
 * A DLQ as Kafka keeps it, per topic: partitions of records between a low and a high watermark.
 * `reads` records where each read started, as readDeadLetterRange would be asked.
 */
class FakeDlqs {
  readonly partitions = new Map<string, { low: number; high: number }[]>();
  readonly reads: { topic: string; from: readonly number[] | undefined }[] = [];

  append(topic: string, partition: number, count: number): void {
    const partitions = this.partitions.get(topic) ?? [];
    while (partitions.length <= partition) partitions.push({ low: 0, high: 0 });
    (partitions[partition] as { high: number }).high += count;
    this.partitions.set(topic, partitions);
  }

  read = async (topic: string, from?: readonly number[]): Promise<DeadLetterRange> => {
    this.reads.push({ topic, from });
    await Promise.resolve();
    const partitions = this.partitions.get(topic) ?? [];
    const letters: DeadLetterRecord[] = [];
    partitions.forEach(({ low, high }, partition) => {
      for (let offset = Math.max(low, from?.[partition] ?? low); offset < high; offset++)
        letters.push(letter(topic, partition, offset));
    });
    return { letters, low: partitions.map((p) => p.low), high: partitions.map((p) => p.high) };
  };
}

const positions = (letters: readonly DeadLetterRecord[]) =>
  letters.map((l) => `${l.dlq.partition}/${l.dlq.offset}`).sort();

describe("DeadLetterCache", () => {
  it("reads only what was appended since the previous call", async () => {
    const dlqs = new FakeDlqs();
    dlqs.append("payments", 0, 2);
    dlqs.append("payments", 1, 1);
    const cache = new DeadLetterCache(dlqs.read, 1_000);

    expect(positions(await cache.letters("payments"))).toEqual(["0/0", "0/1", "1/0"]);
    dlqs.append("payments", 1, 2);
    expect(positions(await cache.letters("payments"))).toEqual(["0/0", "0/1", "1/0", "1/1", "1/2"]);
    expect(dlqs.reads.map((read) => read.from)).toEqual([undefined, [2, 1]]);
  });

  it("answers the very same array while the DLQ is unchanged, and a new one when it changes", async () => {
    const dlqs = new FakeDlqs();
    dlqs.append("payments", 0, 2);
    const cache = new DeadLetterCache(dlqs.read, 1_000);
    const first = await cache.letters("payments");
    expect(await cache.letters("payments")).toBe(first);
    dlqs.append("payments", 0, 1);
    const grown = await cache.letters("payments");
    expect(grown).not.toBe(first);
    expect(first).toHaveLength(2);
    (dlqs.partitions.get("payments")?.[0] as { low: number }).low = 1;
    expect(await cache.letters("payments")).not.toBe(grown);
  });

  it("drops what retention deleted and starts again when the DLQ topic was created anew", async () => {
    const dlqs = new FakeDlqs();
    dlqs.append("payments", 0, 4);
    const cache = new DeadLetterCache(dlqs.read, 1_000);
    await cache.letters("payments");

    (dlqs.partitions.get("payments")?.[0] as { low: number }).low = 3;
    expect(positions(await cache.letters("payments"))).toEqual(["0/3"]);

    dlqs.partitions.set("payments", []);
    dlqs.append("payments", 0, 1);
    expect(positions(await cache.letters("payments"))).toEqual(["0/0"]);
    expect(dlqs.reads.at(-1)?.from).toBeUndefined();
  });

  it("serves concurrent calls from one read after another, never reading a record twice", async () => {
    const dlqs = new FakeDlqs();
    dlqs.append("payments", 0, 3);
    const cache = new DeadLetterCache(dlqs.read, 1_000);
    const [first, second] = await Promise.all([cache.letters("payments"), cache.letters("payments")]);
    expect(positions(first)).toEqual(["0/0", "0/1", "0/2"]);
    expect(positions(second)).toEqual(["0/0", "0/1", "0/2"]);
    expect(dlqs.reads.map((read) => read.from)).toEqual([undefined, [3]]);
  });

  it("keeps at most its bound, forgetting the topics used least recently first", async () => {
    const dlqs = new FakeDlqs();
    dlqs.append("a", 0, 3);
    dlqs.append("b", 0, 3);
    dlqs.append("huge", 0, 5);
    const cache = new DeadLetterCache(dlqs.read, 4);

    await cache.letters("a");
    await cache.letters("b"); // 6 > 4: "a" goes
    expect(cache.size).toBe(3);
    await cache.letters("a");
    expect(dlqs.reads.at(-1)?.from).toBeUndefined();

    // Larger than the bound on its own: read in full each time, and nothing else is evicted for it.
    expect(positions(await cache.letters("huge"))).toHaveLength(5);
    expect(positions(await cache.letters("huge"))).toHaveLength(5);
    expect(dlqs.reads.slice(-2).map((read) => read.from)).toEqual([undefined, undefined]);
    expect(cache.size).toBe(3);
  });
});
