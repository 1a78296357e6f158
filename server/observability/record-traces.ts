// The spans of the records of one batch that carry a W3C `traceparent`: a consume span continuing
// the producer's trace, with parse, store-write or dead-letter, and (at write time, per client)
// stream-send spans under it. Only traced records get spans: a batch without any costs one header
// scan per record while tracing is on, and nothing at all while it is off (this is never built).
// A span per batch with links would cost a span for every batch of untraced traffic too, and put
// the producer's trace one link away from what happened to its record.
import { type Context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Tracing } from "./tracing.js";

interface RecordTrace {
  consume: Span;
  context: Context;
  writeKind?: "store" | "dead-letter";
  write?: Span;
}

export interface TracedRecord {
  partition: number;
  offset: number;
}

export class BatchTraces {
  private constructor(
    private readonly tracing: Tracing,
    private readonly traces: Map<number, RecordTrace>,
  ) {}

  /**
   * The traces of a batch's records (by index), or undefined when none carries a traceparent.
   * `carriers[i]` are the trace headers of record i.
   */
  static of(
    tracing: Tracing,
    topic: string,
    records: readonly TracedRecord[],
    carriers: readonly (Record<string, string> | undefined)[],
  ): BatchTraces | undefined {
    let traces: Map<number, RecordTrace> | undefined;
    for (let i = 0; i < records.length; i++) {
      const carrier = carriers[i];
      const parent = carrier && tracing.extract(carrier);
      if (!parent) continue;
      const record = records[i] as TracedRecord;
      const consume = tracing.tracer.startSpan(
        `${topic} process`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.destination.partition.id": String(record.partition),
            "messaging.kafka.offset": record.offset,
          },
        },
        parent,
      );
      traces ??= new Map();
      traces.set(i, { consume, context: trace.setSpan(parent, consume) });
    }
    return traces ? new BatchTraces(tracing, traces) : undefined;
  }

  /** A span around parsing record i, or undefined when it is not traced. */
  parse(i: number): Span | undefined {
    const traced = this.traces.get(i);
    return traced && this.tracing.tracer.startSpan("parse payment", {}, traced.context);
  }

  /** Record i will be written: stored, or dead-lettered (to the topic's DLQ). */
  willWrite(i: number, kind: "store" | "dead-letter"): void {
    const traced = this.traces.get(i);
    if (traced) traced.writeKind = kind;
  }

  /** The batch's write begins (after the batches before it): starts the write spans. */
  writing(topic: string): void {
    for (const traced of this.traces.values()) {
      if (traced.writeKind === "store") {
        traced.write = this.tracing.tracer.startSpan("store write", {}, traced.context);
      } else if (traced.writeKind === "dead-letter") {
        traced.write = this.tracing.tracer.startSpan(
          `${topic}.dlq publish`,
          {
            kind: SpanKind.PRODUCER,
            attributes: { "messaging.system": "kafka", "messaging.destination.name": `${topic}.dlq` },
          },
          traced.context,
        );
      }
    }
  }

  /** Ends the write spans; with the error that paused the topic, marked failed. */
  written(error?: unknown): void {
    for (const traced of this.traces.values()) {
      if (!traced.write) continue;
      if (error !== undefined) {
        traced.write.recordException(error instanceof Error ? error : String(error));
        traced.write.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      }
      traced.write.end();
    }
  }

  /** The context of record i for its stream-send spans; undefined when not traced. */
  contextOf(i: number): Context | undefined {
    return this.traces.get(i)?.context;
  }

  /** Ends the consume spans once the batch was delivered (or dropped). */
  end(): void {
    for (const traced of this.traces.values()) traced.consume.end();
  }
}
