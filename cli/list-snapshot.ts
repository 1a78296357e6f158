// `stream`'s stored payments, read with ListPayments: the newest stored payments of the topic and
// the store position they were read at (as_of), from which the stream goes on (start_cursor), so
// the hand-off loses and repeats nothing, and the stream has a cursor to resume from even when it
// drops before its first live event.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import {
  type PaymentEvent,
  PaymentEventSchema,
  type PaymentService,
  type StreamRequestSchema,
} from "../gen/payment/payment_pb.js";

/** pa's default existing_limit, asked for explicitly: a list's default page is 10. */
const DEFAULT_EXISTING = 100;
/** The largest page ListPayments serves; a larger snapshot is left to the stream. */
export const MAX_LISTED = 1000;

/** Undefined when pa gives no position (a topic streamed read-only): the stream's own snapshot. */
export async function listSnapshot(
  client: Client<typeof PaymentService>,
  request: MessageInitShape<typeof StreamRequestSchema>,
  signal: AbortSignal,
): Promise<{ events: PaymentEvent[]; cursor: string } | undefined> {
  const topic = request.topic ?? "";
  const page = await client.listPayments(
    {
      topic,
      limit: request.existingLimit ?? DEFAULT_EXISTING,
      ...(request.provider ? { provider: request.provider } : {}),
      ...(request.status ? { status: request.status } : {}),
      ...(request.filter ? { filter: request.filter } : {}),
    },
    { signal },
  );
  if (!page.asOf) return undefined;
  // Oldest first, as a stream sends its "existing" events.
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
