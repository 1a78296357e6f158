// Reading a Kafka record's headers as text (librdkafka hands them over as a list of one-entry
// objects whose values are Buffers), for the trace context a producer put there.
import type { Message, MessageHeader } from "@confluentinc/kafka-javascript";

/** One header of a record as librdkafka hands it over: `{ name: value }`. */
export type RecordHeader = MessageHeader;

/** The W3C trace-context headers of a record, when it has a `traceparent`; undefined otherwise. */
export function traceHeaders(record: Pick<Message, "headers">): Record<string, string> | undefined {
  const headers = record.headers;
  if (!headers || headers.length === 0) return undefined;
  let found: Record<string, string> | undefined;
  for (const header of headers) {
    for (const key in header) {
      if (key !== "traceparent" && key !== "tracestate") continue;
      found ??= {};
      found[key] = String(header[key]);
    }
  }
  return found?.traceparent ? found : undefined;
}
