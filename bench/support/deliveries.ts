// Bookkeeping for live scenarios: which of the produced payments a consumer (a pa stream or kcat)
// received, when, and whether any arrived twice; and the warm-up that proves every consumer is
// attached before the measured records are produced.
import type { GeneratedRecord, PaymentGenerator } from "../../server/demo/payment-generator.js";
import { PARTITIONS, type RateProducer } from "./kafka.js";

/** Measured payment id -> its position in the produced sequence. */
export type RecordIndex = ReadonlyMap<string, number>;

export function indexRecords(records: readonly GeneratedRecord[]): RecordIndex {
  return new Map(records.map((record, i) => [record.key, i]));
}

export class DeliveryLog {
  /** Arrival time (performance.now()) per produced record; NaN until it arrived. */
  readonly arrivals: Float64Array;
  received = 0;
  duplicates = 0;
  /** Partitions a warm-up record (any id not in the index) arrived from; -1 when not known. */
  readonly warmPartitions = new Set<number>();

  constructor(private readonly index: RecordIndex) {
    this.arrivals = new Float64Array(index.size).fill(Number.NaN);
  }

  record(id: string, arrivalMs: number, partition = -1): void {
    const i = this.index.get(id);
    if (i === undefined) {
      this.warmPartitions.add(partition);
      return;
    }
    if (Number.isNaN(this.arrivals[i])) {
      this.arrivals[i] = arrivalMs;
      this.received++;
    } else {
      this.duplicates++;
    }
  }

  /** Received a warm-up record: from each of `partitions` partitions, when that is known. */
  warmOn(partitions: number): boolean {
    return this.warmPartitions.has(-1) || this.warmPartitions.size >= partitions;
  }

  get complete(): boolean {
    return this.received === this.index.size;
  }

  get missing(): number {
    return this.index.size - this.received;
  }

  /** Arrival minus acknowledgement, per record (all must have arrived). */
  latencies(acks: Float64Array): Float64Array {
    const result = new Float64Array(this.arrivals.length);
    for (let i = 0; i < result.length; i++) result[i] = (this.arrivals[i] as number) - (acks[i] as number);
    return result;
  }
}

/** The acknowledgement times in produced order; throws if any record was not acknowledged. */
export function ackTimes(
  records: readonly GeneratedRecord[],
  acked: ReadonlyMap<string, number>,
): Float64Array {
  return Float64Array.from(records, (record) => {
    const at = acked.get(record.key);
    if (at === undefined) throw new Error(`the produce of ${record.key} was never acknowledged`);
    return at;
  });
}

/**
 * Produces a warm-up record every 100 ms, to each partition in turn, until `ready()` (every
 * consumer received one from every partition): then each is attached at the topic's end on every
 * partition, and the path is warm, before measuring starts. Resolves with how long that took.
 */
export async function warmUp(
  producer: RateProducer,
  topic: string,
  generator: PaymentGenerator,
  ready: () => boolean,
  timeoutMs = 120_000,
): Promise<number> {
  const started = performance.now();
  let sent = 0;
  while (!ready()) {
    if (performance.now() - started > timeoutMs) {
      throw new Error(`consumers were not all receiving ${timeoutMs / 1000} s after warm-up began`);
    }
    producer.sendOne(topic, generator.valid(), sent % PARTITIONS).catch(() => {});
    sent++;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return performance.now() - started;
}
