// The dead letters of one source topic as an operator sees them: one entry per stable id (one per
// source record), oldest first by source position. A crash between the DLQ acknowledgement and the
// offset commit leaves several copies of one source record (dead-lettering is at least once), and
// each redrive appends a receipt (a copy marked with where the record landed); all of them carry
// the same id and collapse into one entry, so a letter is redriven once however many copies exist.
import type { DeadLetterRecord, RecordPosition } from "./dead-letter-record.js";

export interface DeadLetterEntry extends Omit<DeadLetterRecord, "redrivenTo"> {
  /** DLQ records holding this same source record as a dead letter (receipts not counted). */
  copies: number;
  /**
   * Set when this letter was redriven and the redriven record failed again: that record's source
   * position (it has its own entry, with a higher redrive count).
   */
  failedAgainAs?: RecordPosition;
  /** The latest redrive's receipt: where the record landed in the source topic, and when. */
  lastRedrive?: { landed: RecordPosition; atMs: number };
}

/** Compares by partition, then offset. */
export function comparePositions(a: RecordPosition, b: RecordPosition): number {
  return a.partition - b.partition || a.offset - b.offset;
}

const positionKey = (position: RecordPosition) => `${position.partition}/${position.offset}`;

/** Collapses the DLQ records of `topic` into entries, in source order. Other topics' are ignored. */
export function indexDeadLetters(topic: string, records: readonly DeadLetterRecord[]): DeadLetterEntry[] {
  const bySource = new Map<string, DeadLetterRecord[]>();
  for (const record of records) {
    if (record.source.topic !== topic) continue;
    const key = record.id;
    const group = bySource.get(key);
    if (group) group.push(record);
    else bySource.set(key, [record]);
  }

  const entries = new Map<string, DeadLetterEntry>();
  // Any DLQ record's position -> the source position of the entry it belongs to.
  const entryAtDlqPosition = new Map<string, string>();
  for (const [key, group] of bySource) {
    group.sort((a, b) => comparePositions(a.dlq, b.dlq));
    const letters = group.filter((record) => !record.redrivenTo);
    const receipt = group.filter((record) => record.redrivenTo).at(-1);
    // The first copy in the DLQ stands for the entry; a receipt only when retention took the rest.
    const { redrivenTo: _ignored, ...standing } = letters[0] ?? (group[0] as DeadLetterRecord);
    entries.set(key, {
      ...standing,
      copies: Math.max(1, letters.length),
      ...(receipt?.redrivenTo
        ? { lastRedrive: { landed: receipt.redrivenTo, atMs: receipt.deadLetteredAtMs } }
        : {}),
    });
    for (const record of group) entryAtDlqPosition.set(positionKey(record.dlq), key);
  }

  const sorted = [...entries.values()].sort((a, b) => comparePositions(a.source, b.source));
  for (const entry of sorted) {
    if (!entry.redrivenFrom) continue;
    const earlier = entryAtDlqPosition.get(positionKey(entry.redrivenFrom));
    const predecessor = earlier === undefined ? undefined : entries.get(earlier);
    // The latest failure wins when a letter was redriven (with force) more than once.
    if (predecessor && predecessor !== entry) predecessor.failedAgainAs = entry.source;
  }
  return sorted;
}
