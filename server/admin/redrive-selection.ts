// Which dead letters a redrive request picks, and which of those it must not republish, each with
// the reason an operator reads. Loop protection lives here: a letter whose redriven copy failed
// again is represented by that newer letter, and a letter that was already redriven (its receipt
// is in the DLQ, or it is itself a redriven record that failed again) is only redriven again when
// the operator says so (force).
import type { DeadLetterEntry } from "./dead-letter-index.js";
import type { RecordPosition } from "./dead-letter-record.js";

export type RedriveChoice =
  | { kind: "all" }
  | { kind: "refs"; refs: RecordPosition[] }
  | { kind: "range"; partition: number; fromOffset: number; toOffset: number };

export interface SkippedRedrive {
  source: RecordPosition;
  detail: string;
}

export interface RedrivePlan {
  redrive: DeadLetterEntry[];
  skipped: SkippedRedrive[];
}

const keyOf = (position: RecordPosition) => `${position.partition}/${position.offset}`;

export function planRedrive(
  entries: readonly DeadLetterEntry[],
  choice: RedriveChoice,
  force: boolean,
): RedrivePlan {
  const plan: RedrivePlan = { redrive: [], skipped: [] };
  for (const selected of select(entries, choice)) {
    if ("missing" in selected) {
      plan.skipped.push({
        source: selected.missing,
        detail: `no dead letter for partition ${selected.missing.partition} offset ${selected.missing.offset}; list the topic's dead letters for the positions there are`,
      });
      continue;
    }
    const entry = selected;
    if (entry.failedAgainAs) {
      plan.skipped.push({
        source: entry.source,
        detail: `redriven before, and the redriven record failed again as partition ${entry.failedAgainAs.partition} offset ${entry.failedAgainAs.offset}; redrive that dead letter instead`,
      });
    } else if (entry.redriveCount > 0 && !force) {
      const times = entry.redriveCount === 1 ? "once" : `${entry.redriveCount} times`;
      plan.skipped.push({
        source: entry.source,
        detail: `already redriven ${times} and failed again (${entry.error}: ${entry.reason}); fix the cause, then redrive it with force`,
      });
    } else if (entry.lastRedrive && !force) {
      const { landed, atMs } = entry.lastRedrive;
      plan.skipped.push({
        source: entry.source,
        detail: `already redriven at ${new Date(atMs).toISOString()} to partition ${landed.partition} offset ${landed.offset}; redrive it with force to republish it again`,
      });
    } else {
      plan.redrive.push(entry);
    }
  }
  return plan;
}

function select(
  entries: readonly DeadLetterEntry[],
  choice: RedriveChoice,
): (DeadLetterEntry | { missing: RecordPosition })[] {
  switch (choice.kind) {
    case "all":
      return [...entries];
    case "range":
      return entries.filter(
        (entry) =>
          entry.source.partition === choice.partition &&
          entry.source.offset >= choice.fromOffset &&
          entry.source.offset <= choice.toOffset,
      );
    case "refs": {
      const bySource = new Map(entries.map((entry) => [keyOf(entry.source), entry]));
      const seen = new Set<string>();
      const selected: (DeadLetterEntry | { missing: RecordPosition })[] = [];
      for (const ref of choice.refs) {
        const key = keyOf(ref);
        if (seen.has(key)) continue;
        seen.add(key);
        selected.push(bySource.get(key) ?? { missing: ref });
      }
      return selected;
    }
  }
}
