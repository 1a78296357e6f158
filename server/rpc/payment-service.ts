// payment.PaymentService: the PoC's four RPCs, served to gRPC, gRPC-Web and Connect clients alike.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  type Payment,
  type PaymentEvent,
  PaymentListSchema,
  PaymentService,
  PaymentSourceSchema,
  TopicListSchema,
  TopicStatusSchema,
} from "../../gen/payment/payment_pb.js";
import type { Access } from "../auth/access.js";
import { type Identity, identityKey } from "../auth/identity.js";
import { compilePaymentFilter } from "../filtering/payment-filter.js";
import { callerKeyContext, connectionKey } from "../limits/caller.js";
import type { PaymentStore, StoredPayment } from "../store/payment-store.js";
import { encodeStreamCursor } from "../streaming/stream-cursor.js";
import type { StreamHub } from "../streaming/stream-hub.js";
import type { SubscriberSummary } from "../streaming/subscriber-stats.js";
import { FILTER_ERRORS_TRAILER, PaymentNotFoundError } from "./error-mapping.js";
import { type FilteredPage, listFiltered } from "./filtered-list.js";
import { listQuery } from "./list-query.js";
import type { PaymentStreams } from "./payment-streams.js";
import { awaitConsistency, pollUntilFound } from "./read-your-stream.js";
import { RequestError } from "./request-validation.js";

export interface PaymentServiceDependencies {
  hub: StreamHub;
  store: PaymentStore;
  /** Opens StreamPayments calls (shared with the native gRPC path). */
  streams: PaymentStreams;
  /** What each caller may see: topics, tenant, masking. */
  access: Access;
}

/** The stored payment as `shown` (masked or not), with where it came from, for the unary RPCs. */
function withSource(stored: StoredPayment, shown: Payment): Payment {
  const { source } = stored;
  return {
    ...shown,
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

/** GetTopics' view of the topic's subscribers: lag and latency percentiles, and the slowest one. */
function subscriberFields(summary: SubscriberSummary | undefined) {
  if (!summary) return {};
  const { slowest } = summary;
  // Tenths of a millisecond: finer is noise, and the dashboard shows the number as it comes.
  const ms = (value: number) => Math.round(value * 10) / 10;
  return {
    subscriberLagP50: BigInt(summary.lagP50),
    subscriberLagP99: BigInt(summary.lagP99),
    ...(summary.latencyP50Ms !== undefined ? { deliveryLatencyP50Ms: ms(summary.latencyP50Ms) } : {}),
    ...(summary.latencyP99Ms !== undefined ? { deliveryLatencyP99Ms: ms(summary.latencyP99Ms) } : {}),
    slowestSubscriberPeer: slowest.peer,
    slowestSubscriberIdentity: slowest.identity,
    slowestSubscriberLag: BigInt(slowest.lagRecords),
    ...(slowest.latencyMs !== undefined ? { slowestSubscriberLatencyMs: ms(slowest.latencyMs) } : {}),
  };
}

// The native path writes up to 512 events at once; Connect's counts follow the same rhythm.
const MAX_EVENTS_PER_COUNT = 512;

export function registerPaymentService(router: ConnectRouter, deps: PaymentServiceDependencies): void {
  const shown = (identity: Identity, stored: StoredPayment) =>
    withSource(stored, deps.access.payment(identity, stored.payment));
  router.service(PaymentService, {
    async getPayment(request, context) {
      const identity = context.values.get(identityKey);
      const id = request.paymentId.trim();
      if (!id) throw new RequestError("invalid_argument", "payment_id is required");
      const consistency = request.consistentWith
        ? await awaitConsistency(deps.hub, deps.access, identity, request.consistentWith, context.signal)
        : undefined;
      let stored = await deps.store.get(id);
      // The view of some partition is kept elsewhere: the payment may still be on its way there.
      if (!stored && consistency?.outcome === "partial")
        stored = await pollUntilFound(consistency, () => deps.store.get(id));
      // One it may not see is answered as one that does not exist: no existence leak.
      if (!stored || !deps.access.maySee(identity, stored)) throw new PaymentNotFoundError(id);
      return shown(identity, stored);
    },

    async listPayments(request, context) {
      const identity = context.values.get(identityKey);
      const query = listQuery(request);
      if (query.customerEmail) deps.access.requirePii(identity, "filtering by customer_email");
      if (query.topic) deps.access.requireTopic(identity, query.topic);
      // Checked before any wait: a filter that does not compile fails at once.
      const expression = request.filter ? compilePaymentFilter(request.filter) : undefined;
      if (request.consistentWith)
        await awaitConsistency(deps.hub, deps.access, identity, request.consistentWith, context.signal);
      const scope = deps.access.listScope(identity, query.topic ? [query.topic] : await deps.store.topics());
      const scoped = { ...query, ...scope };
      const read = (): Promise<FilteredPage> =>
        expression
          ? listFiltered(deps.store, scoped, expression, (stored) =>
              deps.access.payment(identity, stored.payment),
            )
          : deps.store.list(scoped).then((page) => ({ ...page, stoppedEarly: false, filterErrors: 0 }));
      // Read at a known view position of the listed topic, so that a stream can start right there.
      const { value: page, positions } = query.topic
        ? await deps.hub.readAtViewPosition(query.topic, read)
        : { value: await read(), positions: undefined };
      return create(PaymentListSchema, {
        payments: page.payments.map((stored) => shown(identity, stored)),
        nextCursor: page.nextCursor,
        totalCount: page.totalCount,
        stoppedEarly: page.stoppedEarly,
        filterErrors: page.filterErrors,
        asOf: query.topic && positions ? encodeStreamCursor(query.topic, positions) : "",
      });
    },

    // Reached by gRPC-Web and Connect clients, and by gRPC clients that compress; other gRPC
    // clients are served by native-grpc-streams.ts, which shares PaymentStreams.
    async *streamPayments(request, context) {
      const stream = await deps.streams.open(
        request,
        { connection: context.values.get(connectionKey), key: context.values.get(callerKeyContext) },
        context.values.get(identityKey),
      );
      // A generator parked on a write to a vanished client never reaches `finally`: the abort
      // signal releases the subscription (and its queue) at once.
      const release = () => stream.close();
      context.signal.addEventListener("abort", release, { once: true });
      // Counted (and their latency taken) once per burst, when the queue runs dry, not per event.
      const written: PaymentEvent[] = [];
      try {
        yield* stream.existing;
        for await (const event of stream.subscription.events()) {
          written.push(event);
          if (stream.subscription.queued === 0 || written.length >= MAX_EVENTS_PER_COUNT) {
            stream.sent(written);
            written.length = 0;
          }
          yield event;
        }
      } finally {
        stream.sent(written);
        context.signal.removeEventListener("abort", release);
        if (request.filter) {
          context.responseTrailer.set(FILTER_ERRORS_TRAILER, String(stream.subscription.filterErrors));
        }
        stream.close();
      }
    },

    async getTopics(_request, context) {
      const identity = context.values.get(identityKey);
      const statuses = deps.hub.topicStatuses().filter((s) => deps.access.topicVisible(identity, s.topic));
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
            readOnly: s.readOnly,
            messagesInvalid: BigInt(s.messagesInvalid),
            lastInvalidReason: s.lastInvalidReason,
            ...subscriberFields(s.subscribersSummary),
            ...(s.viewLag !== undefined ? { viewLag: BigInt(s.viewLag) } : {}),
            processedPartitions: s.processedPartitions,
            ...(s.commitLag !== undefined ? { commitLag: BigInt(s.commitLag) } : {}),
            unprocessedPartitions: s.unprocessedPartitions.map((u) => ({
              partition: u.partition,
              committedOffset: BigInt(u.committed),
              endOffset: BigInt(u.end),
              stalledSince: timestampFromMs(u.sinceMs),
              assignedTo: u.assignedTo,
            })),
          }),
        ),
      });
    },
  });
}
