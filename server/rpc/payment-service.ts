// payment.PaymentService: the PoC's four RPCs, served to gRPC, gRPC-Web and Connect clients alike.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type ConnectRouter, createContextKey, type HandlerContext } from "@connectrpc/connect";
import {
  type Payment,
  type PaymentEvent,
  PaymentEventSchema,
  PaymentListSchema,
  PaymentService,
  PaymentSourceSchema,
  PaymentStatus,
  Provider,
  TopicListSchema,
  TopicStatusSchema,
} from "../../gen/payment/payment_pb.js";
import type { PaymentStore, StoredPayment } from "../store/payment-store.js";
import { type StreamHub, StreamLimitError } from "../streaming/stream-hub.js";
import { PaymentNotFoundError } from "./error-mapping.js";
import { listQuery } from "./list-query.js";
import { existingLimit, RequestError, startPosition, type TopicPolicy } from "./request-validation.js";

/** The client connection a call arrived on, set by the HTTP layer, for per-connection limits. */
export const connectionKey = createContextKey<object | undefined>(undefined, {
  description: "client connection",
});

export interface PaymentServiceDependencies {
  hub: StreamHub;
  store: PaymentStore;
  topicAllowed: TopicPolicy;
  streams: { defaultExisting: number; maxExisting: number };
  maxStreamsPerConnection: number;
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

/** The stored payment with where it came from, for the unary RPCs. */
function withSource(stored: StoredPayment): Payment {
  const { source } = stored;
  return {
    ...stored.payment,
    source: create(PaymentSourceSchema, {
      topic: source.topic,
      partition: source.partition,
      offset: BigInt(source.offset),
      kafkaTimestamp: timestampFromMs(source.kafkaTimestampMs),
      ...(stored.firstSeenMs !== undefined ? { firstSeen: timestampFromMs(stored.firstSeenMs) } : {}),
      ...(stored.lastSeenMs !== undefined ? { lastSeen: timestampFromMs(stored.lastSeenMs) } : {}),
    }),
  };
}

const optionalProvider = (provider: Provider) => (provider === Provider.UNKNOWN ? undefined : provider);
const optionalStatus = (status: PaymentStatus) =>
  status === PaymentStatus.STATUS_UNKNOWN ? undefined : status;

export function registerPaymentService(router: ConnectRouter, deps: PaymentServiceDependencies): void {
  const streamsByConnection = new WeakMap<object, number>();

  function reserveConnectionSlot(context: HandlerContext): () => void {
    const connection = context.values.get(connectionKey);
    if (!connection) return () => {};
    const open = streamsByConnection.get(connection) ?? 0;
    if (open >= deps.maxStreamsPerConnection) {
      throw new StreamLimitError(
        `this connection already has ${open} streams (MAX_STREAMS_PER_CONNECTION=${deps.maxStreamsPerConnection}); open another connection or close a stream`,
      );
    }
    streamsByConnection.set(connection, open + 1);
    return () => streamsByConnection.set(connection, (streamsByConnection.get(connection) ?? 1) - 1);
  }

  router.service(PaymentService, {
    async getPayment(request) {
      const id = request.paymentId.trim();
      if (!id) throw new RequestError("invalid_argument", "payment_id is required");
      const stored = await deps.store.get(id);
      if (!stored) throw new PaymentNotFoundError(id);
      return withSource(stored);
    },

    async listPayments(request) {
      const page = await deps.store.list(listQuery(request));
      return create(PaymentListSchema, {
        payments: page.payments.map(withSource),
        nextCursor: page.nextCursor,
        totalCount: page.totalCount,
      });
    },

    async *streamPayments(request, context) {
      const topic = deps.topicAllowed(request.topic);
      const start = startPosition(request);
      const existing = existingLimit(request, deps.streams.defaultExisting, deps.streams.maxExisting);
      const provider = optionalProvider(request.provider);
      const status = optionalStatus(request.status);
      const filter = {
        ...(provider !== undefined ? { provider } : {}),
        ...(status !== undefined ? { status } : {}),
      };

      const releaseSlot = reserveConnectionSlot(context);
      try {
        const subscription = await deps.hub.subscribe(topic, filter, start);
        // A generator parked on a write to a vanished client never reaches `finally`: the abort
        // signal releases the subscription (and its queue) at once.
        const release = () => subscription.close();
        context.signal.addEventListener("abort", release, { once: true });
        try {
          if (existing > 0) {
            for (const stored of await deps.store.recent({ topic, ...filter }, existing))
              yield existingEvent(stored);
          }
          yield* subscription.events();
        } finally {
          context.signal.removeEventListener("abort", release);
          subscription.close();
        }
      } finally {
        releaseSlot();
      }
    },

    async getTopics() {
      const statuses = deps.hub.topicStatuses();
      return create(TopicListSchema, {
        topics: statuses.map((s) => s.topic),
        count: statuses.length,
        details: statuses.map((s) =>
          create(TopicStatusSchema, {
            topic: s.topic,
            subscribers: s.subscribers,
            partitions: s.partitions,
            messagesConsumed: BigInt(s.messagesConsumed),
            messagesDeadLettered: BigInt(s.messagesDeadLettered),
            ...(s.consumerLag !== undefined ? { consumerLag: BigInt(s.consumerLag) } : {}),
            activeSince: timestampFromDate(s.activeSince),
            pinned: s.pinned,
          }),
        ),
      });
    },
  });
}
