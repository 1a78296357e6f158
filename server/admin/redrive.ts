// Republishes dead letters to their source topic as the records they were: the original key
// (byte for byte) and headers, and the value as the envelope kept it, marked with
// `pa-redrive-count: n+1` and `pa-redriven-from: {dlq}/{partition}/{offset}` so that a record
// failing again is recognised as such. Each goes back to its original partition, keeping its
// place among records of the same key. Once it is acknowledged, a receipt goes to the DLQ: a copy
// of the letter with `pa-redriven-to`, so that the letter is not republished again by accident
// (the DLQ stays a topic of envelopes; a copy is what the list collapses anyway). A publisher of
// its own per call (server/kafka/record-publisher.ts): redrives are rare.
import { type Context, type Link, ROOT_CONTEXT, type Span, SpanKind, trace } from "@opentelemetry/api";
import {
  DEAD_LETTER_HEADERS,
  deadLetterTopic,
  producerHeaders,
  REDRIVE_COUNT_HEADER,
  REDRIVEN_FROM_HEADER,
} from "../kafka/dead-letter-producer.js";
import { traceHeaders } from "../kafka/record-headers.js";
import type { OpenRecordPublisher, OutgoingRecord } from "../kafka/record-publisher.js";
import type { Tracing } from "../observability/tracing.js";
import type { DeadLetterEntry } from "./dead-letter-index.js";
import { positionValue, REDRIVEN_TO_HEADER, type RecordPosition } from "./dead-letter-record.js";

/** The redrive could not start producing (broker unreachable); nothing was republished. */
export class RedriveUnavailableError extends Error {
  override readonly name = "RedriveUnavailableError";
}

/** What the redrive strips from a dead letter's headers before setting its own marks. */
const NOT_REPUBLISHED = new Set([...DEAD_LETTER_HEADERS, REDRIVEN_FROM_HEADER, REDRIVEN_TO_HEADER]);

/** Tracing for a redrive: the redrive call's context, while tracing is on. */
export interface RedriveTrace {
  tracing: Tracing;
  call: Context | undefined;
}

/**
 * A publish span per redriven record, in the trace its original record carried (else the redrive
 * call's), linked to the call; the record's traceparent becomes this span, so its next consume
 * continues the same trace. Nothing while tracing is off.
 */
function tracePublish(
  redriveTrace: RedriveTrace | undefined,
  sourceTopic: string,
  entry: DeadLetterEntry,
  record: OutgoingRecord,
): Span | undefined {
  if (!redriveTrace?.tracing.enabled) return undefined;
  const { tracing, call } = redriveTrace;
  const carried = traceHeaders(entry);
  const parent = (carried && tracing.extract(carried)) ?? call ?? ROOT_CONTEXT;
  const callSpan = call && trace.getSpanContext(call);
  const links: Link[] = callSpan && parent !== call ? [{ context: callSpan }] : [];
  const span = tracing.tracer.startSpan(
    `${sourceTopic} publish`,
    {
      kind: SpanKind.PRODUCER,
      links,
      attributes: {
        "messaging.system": "kafka",
        "messaging.destination.name": sourceTopic,
        "pa.redrive.count": entry.redriveCount + 1,
      },
    },
    parent,
  );
  const headers = record.headers as Record<string, unknown>;
  delete headers.tracestate;
  Object.assign(headers, tracing.inject(trace.setSpan(parent, span)));
  return span;
}

/** Where a republished record landed, or why producing it failed. */
export type RedriveOutcome =
  | { source: RecordPosition; landed: RecordPosition; receiptFailed?: string }
  | { source: RecordPosition; failed: string };

/** The record a dead letter is republished as. */
export function redriveMessage(
  sourceTopic: string,
  entry: DeadLetterEntry,
  sourcePartitions: number,
): OutgoingRecord {
  return {
    key: entry.rawKey,
    value: Buffer.from(entry.value, "utf8"),
    // Partitions are never removed, so the original one exists; -1 would let the key decide.
    partition: entry.source.partition < sourcePartitions ? entry.source.partition : -1,
    headers: {
      ...producerHeaders(entry.headers, NOT_REPUBLISHED),
      [REDRIVE_COUNT_HEADER]: String(entry.redriveCount + 1),
      [REDRIVEN_FROM_HEADER]: positionValue(deadLetterTopic(sourceTopic), entry.dlq),
    },
  };
}

/** The receipt of a redrive: the letter as it is in the DLQ, plus where its record landed. */
export function redriveReceipt(
  sourceTopic: string,
  entry: DeadLetterEntry,
  landed: RecordPosition,
): OutgoingRecord {
  const envelope = {
    original_topic: entry.source.topic,
    partition: entry.source.partition,
    offset: entry.source.offset,
    key: entry.key,
    value: entry.value,
    error: entry.error,
    reason: entry.reason,
    retry_count: entry.retryCount,
    redrive_count: entry.redriveCount,
    timestamp: Math.floor(entry.deadLetteredAtMs / 1000),
  };
  return {
    key: entry.rawKey,
    value: JSON.stringify(envelope),
    partition: entry.dlq.partition,
    headers: {
      ...producerHeaders(entry.headers, new Set([REDRIVEN_TO_HEADER])),
      [REDRIVEN_TO_HEADER]: positionValue(sourceTopic, landed),
    },
  };
}

/**
 * Produces the entries (acks=all, idempotent, in order) and reports, per entry, where it landed or
 * why it was not acknowledged (the others are not held back by one failure).
 */
export async function republish(
  openPublisher: OpenRecordPublisher,
  sourceTopic: string,
  sourcePartitions: number,
  entries: readonly DeadLetterEntry[],
  redriveTrace?: RedriveTrace,
): Promise<RedriveOutcome[]> {
  if (entries.length === 0) return [];
  let publisher: Awaited<ReturnType<OpenRecordPublisher>>;
  try {
    publisher = await openPublisher();
  } catch (error) {
    throw new RedriveUnavailableError(
      `cannot produce to ${sourceTopic} (${String(error)}); nothing was redriven, try again`,
    );
  }
  try {
    // Every send issued before any is awaited: they keep their order.
    const sent = entries.map((entry) => {
      const message = redriveMessage(sourceTopic, entry, sourcePartitions);
      const span = tracePublish(redriveTrace, sourceTopic, entry, message);
      const sending = publisher.send(sourceTopic, message);
      if (span)
        void sending.then(
          () => span.end(),
          () => span.end(),
        );
      return sending;
    });
    const results = await Promise.allSettled(sent);
    const landings = results.map((result, i) => {
      const entry = entries[i] as DeadLetterEntry;
      if (result.status === "rejected") return { entry, failed: String(result.reason) };
      return { entry, landed: result.value };
    });
    // Receipts only for acknowledged records, written after them: a receipt never claims more.
    const receipts = await Promise.allSettled(
      landings.map(({ entry, landed }) =>
        landed
          ? publisher.send(deadLetterTopic(sourceTopic), redriveReceipt(sourceTopic, entry, landed))
          : Promise.resolve(undefined),
      ),
    );
    return landings.map(({ entry, landed, failed }, i): RedriveOutcome => {
      if (!landed) return { source: entry.source, failed: failed ?? "not acknowledged" };
      const receipt = receipts[i];
      return receipt?.status === "rejected"
        ? { source: entry.source, landed, receiptFailed: String(receipt.reason) }
        : { source: entry.source, landed };
    });
  } finally {
    await publisher.close();
  }
}
