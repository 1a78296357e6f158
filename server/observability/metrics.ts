// pa's Prometheus metrics, on a registry this object owns (never prom-client's global one), so two
// pa instances in one process (tests) never share a series. Counters are incremented per batch by
// the code that does the work; everything that is state (lag, breakers, streams, connections,
// subscribers) is read only when Prometheus scrapes, by collect() callbacks.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { BreakerState } from "../resilience/dependency-breaker.js";
import { subscriberStats } from "../streaming/subscriber-stats.js";
import type { TopicFeed } from "../streaming/topic-feed.js";

/** The counters of one topic, bound to its label once so the per-batch path only adds. */
export interface TopicMetrics {
  recordsConsumed: Counter.Internal;
  paymentsProcessed: Counter.Internal;
  streamedEvents: Counter.Internal;
  catchUpEvents: Counter.Internal;
  /** Catch-up readers started for subscribers that fell behind (or started in the past). */
  catchUpReads: Counter.Internal;
  /** Records the view's own reader read from Kafka again (the view was behind the live feed). */
  viewRereads: Counter.Internal;
  deliveryLatency: Histogram.Internal<"topic">;
  deadLettered(error: string, count?: number): void;
  invalidReadOnly(error: string): void;
}

/** What the lazily collected gauges read, once the app has built it. */
export interface ObservedState {
  feeds(): Iterable<TopicFeed>;
  streamCount(): number;
  connectionCount(): number;
  breakers(): { dependency: string; state: BreakerState }[];
  /** Under SHARE_PROCESSING: how many of the topic's partitions nobody in the group processes. */
  unprocessedPartitions(topic: string): number;
}

export type RpcProtocol = "grpc" | "grpc_web" | "connect";

const BREAKER_STATES: BreakerState[] = ["closed", "open", "half-open"];
// Store writes are batches of up to a few thousand rows: from a millisecond to seconds.
const STORE_WRITE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// Unary calls take milliseconds; streams live for minutes or hours.
const RPC_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300, 1800, 3600];
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const LAG_BUCKETS = [0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

export class PaMetrics {
  readonly registry = new Registry();
  /** Seconds per RPC, from the request to its end (a stream's whole life). */
  readonly rpcDuration: Histogram<"service" | "method" | "protocol" | "code">;
  /** Seconds per batch written to the store. */
  readonly storeWriteDuration: Histogram;

  private readonly recordsConsumed: Counter<"topic">;
  private readonly paymentsProcessed: Counter<"topic">;
  private readonly deadLetters: Counter<"topic" | "error">;
  private readonly invalidRecords: Counter<"topic" | "error">;
  private readonly streamedEvents: Counter<"topic">;
  private readonly catchUpEvents: Counter<"topic">;
  private readonly catchUpReads: Counter<"topic">;
  private readonly viewRereads: Counter<"topic">;
  private readonly deliveryLatency: Histogram<"topic">;

  constructor() {
    const registers = [this.registry];
    // Process and Node.js metrics (CPU, memory, event-loop delay, handles, GC) with their usual names.
    collectDefaultMetrics({ register: this.registry });
    this.recordsConsumed = new Counter({
      name: "pa_records_consumed_total",
      help: "Kafka records read by the topic's live feed (valid or not).",
      labelNames: ["topic"],
      registers,
    });
    this.paymentsProcessed = new Counter({
      name: "pa_payments_processed_total",
      help: "Valid payments processed: on a processed topic, handed to its view (the store) here; on a read-only one, read by its live feed.",
      labelNames: ["topic"],
      registers,
    });
    this.deadLetters = new Counter({
      name: "pa_dead_lettered_total",
      help: "Invalid records of a processed topic written to its dead-letter topic, by error code.",
      labelNames: ["topic", "error"],
      registers,
    });
    this.invalidRecords = new Counter({
      name: "pa_invalid_records_total",
      help: "Invalid records skipped on a read-only topic (nothing is dead-lettered there), by error code.",
      labelNames: ["topic", "error"],
      registers,
    });
    this.streamedEvents = new Counter({
      name: "pa_streamed_events_total",
      help: "Live and caught-up events written to StreamPayments clients (snapshot events not counted).",
      labelNames: ["topic"],
      registers,
    });
    this.catchUpEvents = new Counter({
      name: "pa_catch_up_events_total",
      help: "Events read from Kafka for subscribers that fell behind the live feed.",
      labelNames: ["topic"],
      registers,
    });
    this.catchUpReads = new Counter({
      name: "pa_catch_up_reads_total",
      help: "Catch-up reads from Kafka begun for subscribers that fell behind their queue's bound (or asked to start in the past).",
      labelNames: ["topic"],
      registers,
    });
    this.viewRereads = new Counter({
      name: "pa_view_reread_records_total",
      help: "Records the view's own reader read from Kafka again because the view was behind the live feed (a burst faster than the store, a pause, a take-over).",
      labelNames: ["topic"],
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: "pa_delivery_latency_seconds",
      help: "From a record's Kafka timestamp to pa writing its event to a client (once per write).",
      labelNames: ["topic"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.storeWriteDuration = new Histogram({
      name: "pa_store_write_duration_seconds",
      help: "Time to store one batch of payments.",
      buckets: STORE_WRITE_BUCKETS,
      registers,
    });
    this.rpcDuration = new Histogram({
      name: "pa_rpc_duration_seconds",
      help: "RPC duration by service, method, protocol and status code (streams: their whole life).",
      labelNames: ["service", "method", "protocol", "code"],
      buckets: RPC_BUCKETS,
      registers,
    });
  }

  forTopic(topic: string): TopicMetrics {
    const labels = { topic };
    return {
      recordsConsumed: this.recordsConsumed.labels(labels),
      paymentsProcessed: this.paymentsProcessed.labels(labels),
      streamedEvents: this.streamedEvents.labels(labels),
      catchUpEvents: this.catchUpEvents.labels(labels),
      catchUpReads: this.catchUpReads.labels(labels),
      viewRereads: this.viewRereads.labels(labels),
      deliveryLatency: this.deliveryLatency.labels(labels),
      deadLettered: (error, count = 1) => this.deadLetters.inc({ topic, error }, count),
      invalidReadOnly: (error) => this.invalidRecords.inc({ topic, error }),
    };
  }

  /** Registers the gauges read at scrape time from the running app's state. */
  observe(state: ObservedState): void {
    const registers = [this.registry];
    new Gauge({
      name: "pa_consumer_lag_records",
      help: "Records between the topic feed's position and the partition's high watermark.",
      labelNames: ["topic", "partition"],
      registers,
      collect() {
        this.reset();
        for (const feed of state.feeds()) {
          const heads = feed.cachedHighWatermarks();
          if (!heads) continue;
          for (let partition = 0; partition < heads.length; partition++) {
            const lag = (heads[partition] ?? 0) - (feed.next[partition] ?? 0);
            this.set({ topic: feed.topic, partition: String(partition) }, Math.max(0, lag));
          }
        }
      },
    });
    new Gauge({
      name: "pa_view_lag_records",
      help: "Records the topic's streams have had and the store (the view that follows the log) has not stored yet.",
      labelNames: ["topic"],
      registers,
      collect() {
        this.reset();
        for (const feed of state.feeds()) {
          const lag = feed.viewLag();
          if (lag !== undefined) this.set({ topic: feed.topic }, lag);
        }
      },
    });
    new Gauge({
      name: "pa_commit_lag_records",
      help: "Records the store (the view) has stored whose commit to pa's consumer group the broker has not confirmed yet.",
      labelNames: ["topic"],
      registers,
      collect() {
        this.reset();
        for (const feed of state.feeds()) {
          const lag = feed.commitLag();
          if (lag !== undefined) this.set({ topic: feed.topic }, lag);
        }
      },
    });
    new Gauge({
      name: "pa_processed_partitions",
      help: "Partitions of the topic this instance processes (stores, dead-letters, commits): under SHARE_PROCESSING, those the group assigned here.",
      labelNames: ["topic"],
      registers,
      collect() {
        this.reset();
        for (const feed of state.feeds()) {
          if (!feed.readOnly) this.set({ topic: feed.topic }, feed.processedPartitions().length);
        }
      },
    });
    new Gauge({
      name: "pa_unprocessed_partitions",
      help: "Under SHARE_PROCESSING: partitions of the topic whose group commit has stood still for 3 s while records wait (their member was killed, frozen or cannot store).",
      labelNames: ["topic"],
      registers,
      collect() {
        this.reset();
        for (const feed of state.feeds()) {
          if (!feed.readOnly) this.set({ topic: feed.topic }, state.unprocessedPartitions(feed.topic));
        }
      },
    });
    new Gauge({
      name: "pa_subscribers",
      help: "Open StreamPayments calls per active topic.",
      labelNames: ["topic"],
      registers,
      collect() {
        this.reset();
        for (const feed of state.feeds()) this.set({ topic: feed.topic }, feed.subscribers.size);
      },
    });
    new Gauge({
      name: "pa_topic_paused",
      help: "1 while the topic's processing is paused for an unavailable dependency.",
      labelNames: ["topic"],
      registers,
      collect() {
        this.reset();
        for (const feed of state.feeds()) this.set({ topic: feed.topic }, feed.paused ? 1 : 0);
      },
    });
    new Gauge({
      name: "pa_active_streams",
      help: "Open StreamPayments calls, all topics and protocols.",
      registers,
      collect() {
        this.set(state.streamCount());
      },
    });
    new Gauge({
      name: "pa_open_connections",
      help: "Open client connections on pa's port (HTTP/1.1 and HTTP/2).",
      registers,
      collect() {
        this.set(state.connectionCount());
      },
    });
    new Gauge({
      name: "pa_breaker_state",
      help: "1 for the circuit breaker's current state per dependency (closed, open, half-open).",
      labelNames: ["dependency", "state"],
      registers,
      collect() {
        for (const { dependency, state: current } of state.breakers()) {
          for (const s of BREAKER_STATES) this.set({ dependency, state: s }, s === current ? 1 : 0);
        }
      },
    });
    new Histogram({
      name: "pa_subscriber_lag_records",
      help: "Subscribers by their lag behind the topic's head in records, at scrape time.",
      labelNames: ["topic"],
      buckets: LAG_BUCKETS,
      registers,
      collect() {
        // A distribution over the subscribers there are now, not an accumulation over time.
        this.reset();
        for (const feed of state.feeds()) {
          for (const stat of subscriberStats(feed)) this.observe({ topic: feed.topic }, stat.lagRecords);
        }
      },
    });
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
