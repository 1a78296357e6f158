// The stored part of a stream, read with ListPayments: the newest stored payments of the topic and
// the store position they were read at (as_of), from which the stream goes on (start_cursor), so
// the hand-off loses and repeats nothing. Knowing that position before any live event arrives is
// the point: a stream that drops before its first live event resumes from it, not from "latest",
// which would skip what was produced meanwhile. pa-cli's `stream` and the dashboard's live view
// both use it, each with its own client (native gRPC, gRPC-Web): this folder holds what pa's
// clients share, and imports nothing of Node or of the browser.
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

export interface ListedSnapshot {
  /** Oldest first, as a stream sends its "existing" events. */
  events: PaymentEvent[];
  /** The list's as_of: where the stream starts. */
  cursor: string;
}

/**
 * Lists what `request` (the stream this snapshot comes before) would show as existing: the same
 * topic, provider, status and filter, existing_limit payments. Undefined when pa gives no position
 * (a topic streamed read-only): the stream's own snapshot is used instead.
 */
export async function listSnapshot(
  client: Pick<Client<typeof PaymentService>, "listPayments">,
  request: MessageInitShape<typeof StreamRequestSchema>,
  signal: AbortSignal,
): Promise<ListedSnapshot | undefined> {
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
