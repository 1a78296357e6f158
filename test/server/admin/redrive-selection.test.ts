import { describe, expect, it } from "vitest";
import type { DeadLetterEntry } from "../../../server/admin/dead-letter-index.js";
import { planRedrive } from "../../../server/admin/redrive-selection.js";

function entry(partition: number, offset: number, more: Partial<DeadLetterEntry> = {}): DeadLetterEntry {
  return {
    id: `orders/${partition}/${offset}`,
    source: { topic: "orders", partition, offset },
    dlq: { partition, offset: offset + 100 },
    key: "",
    value: "not json",
    error: "invalid_json",
    reason: "value is not JSON",
    retryCount: 0,
    redriveCount: 0,
    deadLetteredAtMs: 1,
    rawKey: null,
    headers: [],
    copies: 1,
    ...more,
  };
}

const positions = (list: { source: { partition: number; offset: number } }[]) =>
  list.map(({ source }) => `${source.partition}/${source.offset}`);

describe("planRedrive", () => {
  const fresh = [entry(0, 1), entry(0, 5), entry(1, 2)];

  it("takes every entry for all", () => {
    expect(positions(planRedrive(fresh, { kind: "all" }, false).redrive)).toEqual(["0/1", "0/5", "1/2"]);
  });

  it("takes a partition's offsets in an inclusive range", () => {
    const plan = planRedrive(fresh, { kind: "range", partition: 0, fromOffset: 1, toOffset: 4 }, false);
    expect(positions(plan.redrive)).toEqual(["0/1"]);
    expect(plan.skipped).toEqual([]);
  });

  it("takes refs once each, and reports the ones that name no dead letter", () => {
    const refs = [
      { partition: 1, offset: 2 },
      { partition: 1, offset: 2 },
      { partition: 3, offset: 3 },
    ];
    const plan = planRedrive(fresh, { kind: "refs", refs }, false);
    expect(positions(plan.redrive)).toEqual(["1/2"]);
    expect(plan.skipped).toEqual([
      {
        source: { partition: 3, offset: 3 },
        detail: expect.stringMatching(/no dead letter for partition 3 offset 3/),
      },
    ]);
  });

  it("skips a letter that was redriven and failed again unless forced", () => {
    const again = entry(0, 9, { redriveCount: 1, error: "invalid_json" });
    const plain = planRedrive([again], { kind: "all" }, false);
    expect(plain.redrive).toEqual([]);
    expect(plain.skipped[0]?.detail).toMatch(/already redriven once and failed again.*force/);
    expect(positions(planRedrive([again], { kind: "all" }, true).redrive)).toEqual(["0/9"]);
  });

  it("skips a letter redriven before (its receipt is in the DLQ) unless forced", () => {
    const redriven = entry(0, 3, {
      lastRedrive: { landed: { partition: 0, offset: 12 }, atMs: Date.UTC(2026, 0, 2) },
    });
    const plain = planRedrive([redriven], { kind: "all" }, false);
    expect(plain.redrive).toEqual([]);
    expect(plain.skipped[0]?.detail).toMatch(
      /already redriven at 2026-01-02T00:00:00.000Z to partition 0 offset 12; redrive it with force/,
    );
    expect(positions(planRedrive([redriven], { kind: "all" }, true).redrive)).toEqual(["0/3"]);
  });

  it("never redrives a letter whose redriven copy failed again, even with force: its newer letter stands for it", () => {
    const original = entry(0, 1, { failedAgainAs: { partition: 0, offset: 9 } });
    for (const force of [false, true]) {
      const plan = planRedrive([original], { kind: "refs", refs: [{ partition: 0, offset: 1 }] }, force);
      expect(plan.redrive).toEqual([]);
      expect(plan.skipped[0]?.detail).toMatch(/failed again as partition 0 offset 9/);
    }
  });
});
