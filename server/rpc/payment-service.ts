// payment.PaymentService: the PoC's four RPCs, served to gRPC, gRPC-Web and Connect clients alike.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  type Payment,
  PaymentListSchema,
  PaymentService,
  PaymentSourceSchema,
  TopicListSchema,
  TopicStatusSchema,
} from "../../gen/payment/payment_pb.js";
import { callerKeyContext, connectionKey } from "../limits/caller.js";
import type { PaymentStore, StoredPayment } from "../store/payment-store.js";
import type { StreamHub } from "../streaming/stream-hub.js";
import { PaymentNotFoundError } from "./error-mapping.js";
import { listQuery } from "./list-query.js";
import type { PaymentStreams } from "./payment-streams.js";
import { RequestError } from "./request-validation.js";

export interface PaymentServiceDependencies {
  hub: StreamHub;
  store: PaymentStore;
  /** Opens StreamPayments calls (shared with the native gRPC path). */
  streams: PaymentStreams;
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

export function registerPaymentService(router: ConnectRouter, deps: PaymentServiceDependencies): void {
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

    // Reached by gRPC-Web and Connect clients, and by gRPC clients that compress; other gRPC
    // clients are served by native-grpc-streams.ts, which shares PaymentStreams.
    async *streamPayments(request, context) {
      const stream = await deps.streams.open(request, {
        connection: context.values.get(connectionKey),
        key: context.values.get(callerKeyContext),
      });
      // A generator parked on a write to a vanished client never reaches `finally`: the abort
      // signal releases the subscription (and its queue) at once.
      const release = () => stream.close();
      context.signal.addEventListener("abort", release, { once: true });
      try {
        yield* stream.existing;
        yield* stream.subscription.events();
      } finally {
        context.signal.removeEventListener("abort", release);
        stream.close();
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
            breakerState: s.breakerState,
            pausedReason: s.pausedReason,
          }),
        ),
      });
    },
  });
}
