// One page of a ListDeadLetters answer: the entries matching the error filter, after the position
// the page token names, and whether more follow. Positions (not indexes) mark pages, so letters
// arriving between two calls neither repeat nor push entries out of the next page.
import { comparePositions, type DeadLetterEntry } from "./dead-letter-index.js";
import type { RecordPosition } from "./dead-letter-record.js";

export interface DeadLetterPage {
  entries: DeadLetterEntry[];
  /** The last entry's position when more entries follow; the next page starts after it. */
  continueAfter?: RecordPosition;
  /** Entries matching the filter, on every page. */
  total: number;
}

export function pageDeadLetters(
  entries: readonly DeadLetterEntry[],
  query: { errors: readonly string[]; after?: RecordPosition | undefined; size: number },
): DeadLetterPage {
  const { errors, after, size } = query;
  const matching = errors.length === 0 ? entries : entries.filter((entry) => errors.includes(entry.error));
  const start = after ? matching.findIndex((entry) => comparePositions(entry.source, after) > 0) : 0;
  if (start < 0) return { entries: [], total: matching.length };
  const page = matching.slice(start, start + size);
  const last = page.at(-1);
  const more = start + size < matching.length;
  return { entries: page, total: matching.length, ...(more && last ? { continueAfter: last.source } : {}) };
}
