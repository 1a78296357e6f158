// The "existing" part of a live view, read with ListPayments: the newest stored payments of the
// topic and the store position they were read at (`as_of`), from which the stream goes on
// (start_cursor), so the hand-off loses and repeats nothing. Knowing that position before any live
// event arrives is the point: a stream that fails before its first live event resumes from it,
// not from "latest", which would skip what was produced meanwhile.
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import {
  type PaymentEvent,
  PaymentEventSchema,
  type PaymentService,
} from "../../../gen/payment/payment_pb.js";

export interface ListedSnapshot {
  /** Oldest first, as a stream sends its "existing" events. */
  events: PaymentEvent[];
  /** The list's as_of: where the stream starts. */
  cursor: string;
}

/** Undefined when pa gives no position (a topic streamed read-only): use the stream's own snapshot. */
export async function listSnapshot(
  client: Client<typeof PaymentService>,
  topic: string,
  limit: number,
  filter: string | undefined,
  signal: AbortSignal,
): Promise<ListedSnapshot | undefined> {
  const page = await client.listPayments({ topic, limit, ...(filter ? { filter } : {}) }, { signal });
  if (!page.asOf) return undefined;
  const events = page.payments.toReversed().map((payment) =>
    create(PaymentEventSchema, {
      payment,
      eventType: "existing",
      topic,
      partition: payment.source?.partition ?? 0,
      offset: payment.source?.offset ?? 0n,
      ...(payment.source?.kafkaTimestamp ? { kafkaTimestamp: payment.source.kafkaTimestamp } : {}),
    }),
  );
  return { events, cursor: page.asOf };
}
