import { describe, expect, it } from "vitest";
import type { DeadLetterEntry } from "../../../server/admin/dead-letter-index.js";
import { pageDeadLetters } from "../../../server/admin/dead-letter-page.js";

function entry(partition: number, offset: number, error = "invalid_json"): DeadLetterEntry {
  return {
    id: `orders/${partition}/${offset}`,
    source: { topic: "orders", partition, offset },
    dlq: { partition, offset },
    key: "",
    value: "",
    error,
    reason: "",
    retryCount: 0,
    redriveCount: 0,
    deadLetteredAtMs: 1,
    rawKey: null,
    headers: [],
    copies: 1,
  };
}

const at = (page: { entries: DeadLetterEntry[] }) =>
  page.entries.map((e) => `${e.source.partition}/${e.source.offset}`);

describe("pageDeadLetters", () => {
  const entries = [
    entry(0, 1),
    entry(0, 4, "missing_field"),
    entry(0, 7),
    entry(1, 0),
    entry(2, 3, "missing_field"),
  ];

  it("pages by position, saying where the next page starts until the last one", () => {
    const first = pageDeadLetters(entries, { errors: [], size: 2 });
    expect(at(first)).toEqual(["0/1", "0/4"]);
    expect(first).toMatchObject({ total: 5, continueAfter: { partition: 0, offset: 4 } });
    const second = pageDeadLetters(entries, { errors: [], size: 2, after: first.continueAfter });
    expect(at(second)).toEqual(["0/7", "1/0"]);
    const third = pageDeadLetters(entries, { errors: [], size: 2, after: second.continueAfter });
    expect(at(third)).toEqual(["2/3"]);
    expect(third.continueAfter).toBeUndefined();
  });

  it("filters by error code and counts only what matches", () => {
    const page = pageDeadLetters(entries, { errors: ["missing_field"], size: 10 });
    expect(at(page)).toEqual(["0/4", "2/3"]);
    expect(page).toMatchObject({ total: 2 });
    expect(page.continueAfter).toBeUndefined();
  });

  it("neither repeats entries nor loses its place when letters arrive between pages", () => {
    const first = pageDeadLetters(entries, { errors: [], size: 2 });
    const grown = [entry(0, 0), ...entries.slice(0, 3), entry(0, 9), ...entries.slice(3)];
    expect(at(pageDeadLetters(grown, { errors: [], size: 2, after: first.continueAfter }))).toEqual([
      "0/7",
      "0/9",
    ]);
  });

  it("answers an empty last page past the end", () => {
    expect(pageDeadLetters(entries, { errors: [], size: 2, after: { partition: 9, offset: 0 } })).toEqual({
      entries: [],
      total: 5,
    });
  });
});
