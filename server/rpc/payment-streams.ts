// Opening a StreamPayments call, whatever protocol carries it: the request is checked, the
// connection's stream slot reserved, the subscription made, and the stored snapshot read. Connect's
// handler (gRPC-Web, Connect, gRPC with compression) and the native gRPC path
// (native-grpc-streams.ts) both start their streams here, so they behave the same.
import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { SpanKind } from "@opentelemetry/api";
import {
  Delivery,
  type PaymentEvent,
  PaymentEventSchema,
  PaymentStatus,
  Provider,
  type StreamRequest,
} from "../../gen/payment/payment_pb.js";
import type { Access } from "../auth/access.js";
import { onCredentialExpiry } from "../auth/credential-expiry.js";
import { CredentialExpiredError, type Identity } from "../auth/identity.js";
import { compilePaymentFilter } from "../filtering/payment-filter.js";
import type { StreamCaller, StreamSlots } from "../limits/stream-slots.js";
import type { TopicMetrics } from "../observability/metrics.js";
import type { Tracing } from "../observability/tracing.js";
import type { PaymentStore, StoredPayment } from "../store/payment-store.js";
import type { StreamEncoding, StreamHub } from "../streaming/stream-hub.js";
import type { Subscription, TakenFrames } from "../streaming/subscription.js";
import { existingLimit, startPosition } from "./request-validation.js";

export interface PaymentStreamsDependencies {
  hub: StreamHub;
  store: PaymentStore;
  /** TOPIC_ALLOWLIST and the caller's grants: which topics, which tenant, masked or not. */
  access: Access;
  streams: { defaultExisting: number; maxExisting: number };
  /** Shared with the other streaming methods: MAX_STREAMS and its per-connection and per-caller parts. */
  slots: StreamSlots;
  tracing: Tracing;
}

/** One open StreamPayments call: first `existing`, then the subscription's events. */
export interface PaymentStream {
  existing: PaymentEvent[];
  subscription: Subscription;
  /**
   * Called where the subscription's events are written to the client (native write(), Connect's
   * yield): counts them and records the delivery latency of the last one.
   */
  sent(events: readonly PaymentEvent[]): void;
  /** As sent(), for frames taken from a subscription that queues them (native gRPC). */
  sentFrames(taken: TakenFrames): void;
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

/** The client's address:port, from the connection (an HTTP/2 session or an HTTP/1.1 socket). */
function peerAddress(connection: object | undefined): string {
  const socket = (connection && "socket" in connection ? connection.socket : connection) as
    | { remoteAddress?: string; remotePort?: number }
    | undefined;
  if (!socket?.remoteAddress) return "";
  const host = socket.remoteAddress.includes(":") ? `[${socket.remoteAddress}]` : socket.remoteAddress;
  return `${host}:${socket.remotePort ?? 0}`;
}

// One counter add and one histogram observation per write, whatever its number of events.
function recordSent(
  subscription: Subscription,
  metrics: TopicMetrics | undefined,
  count: number,
  lastTimestamp: Timestamp | undefined,
) {
  if (count === 0) return;
  metrics?.streamedEvents.inc(count);
  if (!lastTimestamp) return;
  const { seconds, nanos } = lastTimestamp;
  const latencyMs = Math.max(0, Date.now() - (Number(seconds) * 1000 + nanos / 1e6));
  subscription.recordDeliveryLatency(latencyMs);
  metrics?.deliveryLatency.observe(latencyMs / 1000);
}

// A span per event of a traced record, under its consume span, as it is written to this client.
function traceSent(tracing: Tracing, subscription: Subscription, events: readonly PaymentEvent[]) {
  for (const event of events) {
    const context = tracing.contextOfEvent(event);
    if (!context) continue;
    tracing.tracer
      .startSpan(
        `${subscription.topic} send`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            "messaging.destination.name": subscription.topic,
            "client.address": subscription.subscriber.peer,
            "pa.subscriber.identity": subscription.subscriber.identity,
          },
        },
        context,
      )
      .end();
  }
}

export class PaymentStreams {
  constructor(private readonly deps: PaymentStreamsDependencies) {}

  /**
   * Throws pa's typed errors (RequestError, TopicNotFoundError, StreamLimitError, ...). A stream
   * of an identity whose credential expires ends then, with UNAUTHENTICATED and a resume cursor.
   * `encoding`: "frames" for a caller that writes the subscription's frames (takeFrames).
   */
  async open(
    request: StreamRequest,
    caller: StreamCaller,
    identity: Identity,
    encoding: StreamEncoding = "events",
  ): Promise<PaymentStream> {
    const { deps } = this;
    const topic = deps.access.requireTopic(identity, request.topic);
    const start = startPosition(request);
    const existing = existingLimit(request, deps.streams.defaultExisting, deps.streams.maxExisting);
    const tenant = deps.access.tenantOf(identity);
    const filter = {
      ...(request.provider !== Provider.UNKNOWN ? { provider: request.provider } : {}),
      ...(request.status !== PaymentStatus.STATUS_UNKNOWN ? { status: request.status } : {}),
      ...(tenant ? { tenant } : {}),
    };
    const view = deps.access.eventView(identity);
    const expression = request.filter ? compilePaymentFilter(request.filter) : undefined;
    const expressionView = deps.access.expressionView(identity);
    const streamFilter = {
      ...filter,
      ...(view ? { view } : {}),
      ...(expression ? { expression } : {}),
      ...(expression && expressionView ? { expressionView } : {}),
      // An undefined value never gets here: payment.proto's buf.validate rule refuses it.
      ...(request.delivery === Delivery.LATEST ? { latest: true } : {}),
    };

    const subscriber = { peer: peerAddress(caller.connection), identity: identity.name };
    const releaseSlot = deps.slots.reserve(caller);
    let subscription: Subscription | undefined;
    try {
      let recent: StoredPayment[] = [];
      // The hand-off: a live stream's snapshot is read at a known view position and its live part
      // starts exactly there (the stretch the view has not stored yet comes from Kafka), so every
      // update is sent once, in "existing" or in "new".
      const snapshot =
        existing > 0 && start.kind === "latest"
          ? await deps.hub.snapshotAtView(topic, () => deps.store.recent({ topic, ...filter }, existing))
          : undefined;
      if (snapshot) {
        const { value, positions } = snapshot;
        // Stored by an earlier run past what it committed: left to the live part.
        recent = value.filter((row) => row.source.offset < (positions[row.source.partition] ?? 0));
        subscription = await deps.hub.subscribe(
          topic,
          streamFilter,
          { kind: "cursor", positions, allowFallback: true },
          subscriber,
          encoding,
        );
      } else {
        subscription = await deps.hub.subscribe(topic, streamFilter, start, subscriber, encoding);
        recent = existing > 0 ? await deps.store.recent({ topic, ...filter }, existing) : [];
      }
      const opened = subscription;
      // The snapshot is the `existing` most recent stored payments that the indexed filters match,
      // less those the expression drops (so with a filter it may hold fewer).
      const stored = expression ? recent.filter((payment) => opened.accepts(payment.payment)) : recent;
      const metrics = deps.hub.topicMetrics(topic);
      const cancelExpiry = onCredentialExpiry(identity, () =>
        deps.hub.interrupt(
          opened,
          (cursor) => new CredentialExpiredError(`the credential of ${identity.name} expired`, cursor),
        ),
      );
      let closed = false;
      return {
        existing: stored.map((payment) => {
          const event = existingEvent(payment);
          return view ? view(event) : event;
        }),
        subscription: opened,
        sent: (events) => {
          recordSent(opened, metrics, events.length, events[events.length - 1]?.kafkaTimestamp);
          if (deps.tracing.enabled) traceSent(deps.tracing, opened, events);
        },
        sentFrames: (taken) => {
          recordSent(opened, metrics, taken.count, taken.lastTimestamp);
          if (deps.tracing.enabled) traceSent(deps.tracing, opened, taken.events);
        },
        close() {
          if (closed) return;
          closed = true;
          cancelExpiry();
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
