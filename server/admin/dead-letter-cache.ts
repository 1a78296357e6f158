// Keeps the DLQ records already read, per source topic, so that listing or redriving reads only
// what was appended since the previous call instead of the whole DLQ again (at 50,000 letters a
// full read took 2.4-4.2 s per page). Kafka's log is append-only, so records below a read's high
// watermark never change: the cache only grows at the end and loses, at the start, what
// retention deleted. It is bounded by a number of records over all topics; the topics used least
// recently go first, and a DLQ larger than the bound is read in full every time.
import type { DeadLetterRange } from "./dead-letter-reader.js";
import type { DeadLetterRecord } from "./dead-letter-record.js";

/** Reads a source topic's DLQ from `from` (per partition), as readDeadLetterRange does. */
export type ReadDeadLetterRange = (sourceTopic: string, from?: readonly number[]) => Promise<DeadLetterRange>;

interface CachedDeadLetters {
  letters: DeadLetterRecord[];
  /** Per DLQ partition, where the next read starts. */
  next: number[];
}

export class DeadLetterCache {
  // Map order is use order: the first entry is the least recently used.
  private readonly byTopic = new Map<string, CachedDeadLetters>();
  // One read per topic at a time, so two calls never read (and append) the same records twice.
  private readonly reading = new Map<string, Promise<readonly DeadLetterRecord[]>>();

  constructor(
    private readonly read: ReadDeadLetterRange,
    private readonly maxRecords: number,
  ) {}

  /**
   * Every record of the source topic's DLQ up to its current end, in no particular order. While
   * the DLQ has not changed, the same array as the previous call: never modified once returned.
   */
  letters(sourceTopic: string): Promise<readonly DeadLetterRecord[]> {
    const previous = this.reading.get(sourceTopic) ?? Promise.resolve([]);
    const next = previous.catch(() => undefined).then(() => this.refresh(sourceTopic));
    this.reading.set(sourceTopic, next);
    void next
      .catch(() => undefined)
      .finally(() => {
        if (this.reading.get(sourceTopic) === next) this.reading.delete(sourceTopic);
      });
    return next;
  }

  /** Records held, over all topics. */
  get size(): number {
    let total = 0;
    for (const cached of this.byTopic.values()) total += cached.letters.length;
    return total;
  }

  private async refresh(sourceTopic: string): Promise<readonly DeadLetterRecord[]> {
    const cached = this.byTopic.get(sourceTopic);
    this.byTopic.delete(sourceTopic);
    let range = await this.read(sourceTopic, cached?.next);
    let letters: DeadLetterRecord[];
    if (cached && startsAfterEnd(cached.next, range.high)) {
      // The DLQ topic was deleted and created again: what was cached belongs to the old one.
      range = await this.read(sourceTopic);
      letters = range.letters;
    } else if (cached) {
      // Retention may have deleted the oldest records since the last read.
      const kept = (letter: DeadLetterRecord) => letter.dlq.offset >= (range.low[letter.dlq.partition] ?? 0);
      // Unchanged, the very same array: callers may keep what they derived from it (see letters()).
      letters =
        range.letters.length === 0 && cached.letters.every(kept)
          ? cached.letters
          : [...cached.letters.filter(kept), ...range.letters];
    } else {
      letters = range.letters;
    }
    if (letters.length <= this.maxRecords) {
      this.byTopic.set(sourceTopic, { letters, next: range.high });
      this.evictBeyond(this.maxRecords);
    }
    return letters;
  }

  private evictBeyond(maxRecords: number): void {
    let total = this.size;
    for (const [topic, cached] of this.byTopic) {
      if (total <= maxRecords) return;
      this.byTopic.delete(topic);
      total -= cached.letters.length;
    }
  }
}

/** A partition gone, or one whose end lies before where the cache would continue. */
function startsAfterEnd(next: readonly number[], high: readonly number[]): boolean {
  return next.length > high.length || next.some((offset, partition) => offset > (high[partition] ?? 0));
}
