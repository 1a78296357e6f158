// Opening a StreamPayments call, whatever protocol carries it: the request is checked, the
// connection's stream slot reserved, the subscription made, and the stored snapshot read. Connect's
// handler (gRPC-Web, Connect, gRPC with compression) and the native gRPC path
// (native-grpc-streams.ts) both start their streams here, so they behave the same.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type PaymentEvent,
  PaymentEventSchema,
  PaymentStatus,
  Provider,
  type StreamRequest,
} from "../../gen/payment/payment_pb.js";
import type { StreamCaller, StreamSlots } from "../limits/stream-slots.js";
import type { PaymentStore, StoredPayment } from "../store/payment-store.js";
import type { StreamHub } from "../streaming/stream-hub.js";
import type { Subscription } from "../streaming/subscription.js";
import { existingLimit, startPosition, type TopicPolicy } from "./request-validation.js";

export interface PaymentStreamsDependencies {
  hub: StreamHub;
  store: PaymentStore;
  topicAllowed: TopicPolicy;
  streams: { defaultExisting: number; maxExisting: number };
  /** Shared with the other streaming methods: MAX_STREAMS and its per-connection and per-caller parts. */
  slots: StreamSlots;
}

/** One open StreamPayments call: first `existing`, then the subscription's events. */
export interface PaymentStream {
  existing: PaymentEvent[];
  subscription: Subscription;
  /** Releases the subscription and the connection's slot. Idempotent. */
  close(): void;
}

function existingEvent(stored: StoredPayment): PaymentEvent {
  return create(PaymentEventSchema, {
    payment: stored.payment,
    eventType: "existing",
    topic: stored.source.topic,
    partition: stored.source.partition,
    offset: BigInt(stored.source.offset),
    kafkaTimestamp: timestampFromMs(stored.source.kafkaTimestampMs),
  });
}

export class PaymentStreams {
  constructor(private readonly deps: PaymentStreamsDependencies) {}

  /** Throws pa's typed errors (RequestError, TopicNotFoundError, StreamLimitError, ...). */
  async open(request: StreamRequest, caller: StreamCaller): Promise<PaymentStream> {
    const { deps } = this;
    const topic = deps.topicAllowed(request.topic);
    const start = startPosition(request);
    const existing = existingLimit(request, deps.streams.defaultExisting, deps.streams.maxExisting);
    const filter = {
      ...(request.provider !== Provider.UNKNOWN ? { provider: request.provider } : {}),
      ...(request.status !== PaymentStatus.STATUS_UNKNOWN ? { status: request.status } : {}),
    };

    const releaseSlot = deps.slots.reserve(caller);
    let subscription: Subscription | undefined;
    try {
      subscription = await deps.hub.subscribe(topic, filter, start);
      const stored = existing > 0 ? await deps.store.recent({ topic, ...filter }, existing) : [];
      const opened = subscription;
      let closed = false;
      return {
        existing: stored.map(existingEvent),
        subscription: opened,
        close() {
          if (closed) return;
          closed = true;
          opened.close();
          releaseSlot();
        },
      };
    } catch (error) {
      subscription?.close();
      releaseSlot();
      throw error;
    }
  }
}
