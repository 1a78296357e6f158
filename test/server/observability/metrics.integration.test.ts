// /metrics read as Prometheus reads it (a strict text-format parser): after N valid and M poison
// records streamed to K clients over the three protocols, the counters say N, M and N x K, and the
// state read at scrape time (streams, subscribers, lag, breakers, connections) is there.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectJsonClient, grpcClient, grpcWebClient, type PaymentClient } from "../../support/clients.js";
import { createTopics, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import {
  type MetricFamily,
  parsePrometheusText,
  sampleSum,
  sampleValue,
} from "../../support/prometheus-text.js";
import { openStream, waitUntil } from "../../support/streams.js";
import { MixedTraffic, TestProducer } from "../resilience/mixed-traffic.js";

const bootstrap = inject("kafkaBootstrap");

async function scrape(url: string): Promise<Map<string, MetricFamily>> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

describe("/metrics", () => {
  let pa: RunningPa;

  beforeAll(async () => {
    // test.metrics.* topics are processed; any other is streamed read-only.
    pa = await startPa(bootstrap, { METRICS_PORT: "0", PROCESS_TOPICS: "test.metrics.*" });
  });

  afterAll(async () => {
    await pa?.stop();
  });

  it("counts N valid and M poison records, streamed to K clients, as N, M and N x K", async () => {
    const topic = uniqueTopic("metrics");
    await createTopics(bootstrap, [topic]);
    const traffic = new MixedTraffic();
    const records = traffic.batch(25, 5);
    const valid = traffic.validIds.size;
    const poison = traffic.invalidKeys.size;
    expect([valid, poison]).toEqual([20, 5]);

    const clients: PaymentClient[] = [
      grpcClient(pa.baseUrl),
      grpcWebClient(pa.baseUrl),
      connectJsonClient(pa.baseUrl),
    ];
    const streams = clients.map((client) =>
      openStream((signal) => client.streamPayments({ topic, existingLimit: 0 }, { signal })),
    );
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === clients.length);
    const producer = new TestProducer(bootstrap);
    await producer.connect();
    await producer.send(topic, records);
    await producer.disconnect();
    await Promise.all(streams.map((stream) => stream.waitFor(valid)));
    // Streams run ahead of the store and the dead-letter topic (the view follows the log).
    await waitUntil(
      async () =>
        sampleSum(await scrape(`${pa.baseUrl}/metrics`), "pa_dead_lettered_total", { topic }) === poison,
    );

    const metrics = await scrape(`${pa.baseUrl}/metrics`);
    expect(sampleValue(metrics, "pa_records_consumed_total", { topic })).toBe(valid + poison);
    expect(sampleValue(metrics, "pa_payments_processed_total", { topic })).toBe(valid);
    expect(sampleSum(metrics, "pa_dead_lettered_total", { topic })).toBe(poison);
    expect(sampleValue(metrics, "pa_streamed_events_total", { topic })).toBe(valid * clients.length);
    // By error code (several poison kinds share one): each series a code, never a record's text.
    const codes = metrics
      .get("pa_dead_lettered_total")
      ?.samples.filter((s) => s.labels.topic === topic)
      .map((s) => s.labels.error);
    expect(codes?.length).toBeGreaterThan(1);
    for (const code of codes ?? []) expect(code).toMatch(/^[a-z_]+$/);

    expect(sampleValue(metrics, "pa_subscribers", { topic })).toBe(clients.length);
    expect(sampleValue(metrics, "pa_active_streams")).toBe(clients.length);
    expect(sampleValue(metrics, "pa_open_connections")).toBeGreaterThanOrEqual(clients.length);
    expect(sampleValue(metrics, "pa_breaker_state", { dependency: "store", state: "closed" })).toBe(1);
    expect(sampleValue(metrics, "pa_breaker_state", { dependency: "dlq", state: "open" })).toBe(0);
    expect(sampleSum(metrics, "pa_consumer_lag_records", { topic })).toBe(0);
    expect(
      metrics.get("pa_consumer_lag_records")?.samples.filter((s) => s.labels.topic === topic),
    ).toHaveLength(3);
    expect(sampleValue(metrics, "pa_store_write_duration_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(sampleValue(metrics, "pa_subscriber_lag_records_count", { topic })).toBe(clients.length);
    expect(sampleValue(metrics, "pa_delivery_latency_seconds_count", { topic })).toBeGreaterThanOrEqual(
      clients.length,
    );
    // Process and runtime metrics on the same registry.
    for (const name of [
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
    ])
      expect(metrics.has(name), name).toBe(true);
    expect(metrics.get("pa_streamed_events_total")?.type).toBe("counter");
    expect(metrics.get("pa_rpc_duration_seconds")?.type).toBe("histogram");

    for (const stream of streams) stream.close();
    await waitUntil(() => pa.app.hub.streamCount === 0);
    await clients[0]?.getTopics({});
    const after = await scrape(`${pa.baseUrl}/metrics`);
    const service = "payment.PaymentService";
    for (const protocol of ["grpc", "grpc_web", "connect"]) {
      expect(
        sampleValue(after, "pa_rpc_duration_seconds_count", {
          service,
          method: "StreamPayments",
          protocol,
          code: "canceled",
        }),
        protocol,
      ).toBe(1);
    }
    expect(
      sampleValue(after, "pa_rpc_duration_seconds_count", {
        service,
        method: "GetTopics",
        protocol: "grpc",
        code: "ok",
      }),
    ).toBe(1);
    expect(sampleValue(after, "pa_active_streams")).toBe(0);
  });

  it("counts a read-only topic's invalid records by error code, and dead-letters none", async () => {
    const topic = uniqueTopic("read-only");
    await createTopics(bootstrap, [topic]);
    const traffic = new MixedTraffic();
    const records = traffic.batch(10, 5);
    const client = grpcClient(pa.baseUrl);
    const stream = openStream((signal) => client.streamPayments({ topic, existingLimit: 0 }, { signal }));
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1);
    const producer = new TestProducer(bootstrap);
    await producer.connect();
    await producer.send(topic, records);
    await producer.disconnect();
    await stream.waitFor(traffic.validIds.size);
    await waitUntil(() => pa.app.hub.consumedCount(topic) === records.length);
    stream.close();

    const metrics = await scrape(`${pa.baseUrl}/metrics`);
    expect(sampleSum(metrics, "pa_invalid_records_total", { topic })).toBe(traffic.invalidKeys.size);
    expect(sampleSum(metrics, "pa_dead_lettered_total", { topic })).toBe(0);
    expect(sampleValue(metrics, "pa_payments_processed_total", { topic })).toBe(traffic.validIds.size);
  });

  it("is served on METRICS_PORT too, with the probes and nothing else", async () => {
    const address = pa.app.metricsAddress;
    expect(address).toBeDefined();
    const base = `http://127.0.0.1:${address?.port}`;
    const metrics = await scrape(`${base}/metrics`);
    expect(metrics.has("pa_records_consumed_total")).toBe(true);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/payment.PaymentService/GetTopics`, { method: "POST" })).status).toBe(404);
  });
});
