// GetTopics' per-subscriber view: lag behind the topic's head and delivery latency over a topic's
// subscribers, and the slowest one named by its address and identity. A client that reads slowly
// (an HTTP/2 gRPC call whose data it takes a chunk at a time) must be the one named.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPaymentGenerator } from "../../../server/demo/payment-generator.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, produce, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { parsePrometheusText, sampleValue } from "../../support/prometheus-text.js";
import { slowReader } from "../../support/slow-reader.js";
import { openStream, waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");

describe("subscriber lag and latency", () => {
  let pa: RunningPa;

  beforeAll(async () => {
    // A small queue, so the slow reader (native gRPC: bounded in bytes) soon reads on from Kafka by itself.
    pa = await startPa(bootstrap, { STREAM_BUFFER_EVENTS: "64", STREAM_BUFFER_BYTES: "16384" });
  });

  afterAll(async () => {
    await pa?.stop();
  });

  it("names a slow reader as the slowest subscriber, with its lag and latency, in GetTopics and /metrics", async () => {
    const topic = uniqueTopic("slowest");
    await createTopics(bootstrap, [topic]);
    const client = grpcClient(pa.baseUrl);
    const fast = [0, 1].map(() =>
      openStream((signal) => client.streamPayments({ topic, existingLimit: 0 }, { signal })),
    );
    const slow = slowReader(pa.baseUrl, topic, 500);
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 3);
    await waitUntil(() => slow.localPort() !== undefined);

    const generator = createPaymentGenerator({ seed: 5 });
    const count = 3000;
    await produce(
      bootstrap,
      topic,
      Array.from({ length: count }, () => generator.valid()),
    );
    await Promise.all(fast.map((stream) => stream.waitFor(count, 30_000)));

    await waitUntil(async () => {
      const status = (await client.getTopics({})).details.find((d) => d.topic === topic);
      return Boolean(status?.slowestSubscriberPeer);
    });
    const status = (await client.getTopics({})).details.find((d) => d.topic === topic);
    expect(status?.slowestSubscriberPeer).toBe(`127.0.0.1:${slow.localPort()}`);
    expect(status?.slowestSubscriberIdentity).toBe("anonymous");
    // The fast two read everything: the median subscriber is not behind, the 99th percentile is the slow one.
    expect(status?.subscriberLagP50).toBe(0n);
    expect(status?.subscriberLagP99).toBe(status?.slowestSubscriberLag);
    expect(status?.slowestSubscriberLag).toBeGreaterThan(100n);
    expect(status?.deliveryLatencyP50Ms).toBeGreaterThanOrEqual(0);
    expect(status?.deliveryLatencyP99Ms).toBeGreaterThanOrEqual(status?.deliveryLatencyP50Ms ?? 0);

    const metrics = parsePrometheusText(await (await fetch(`${pa.baseUrl}/metrics`)).text());
    expect(sampleValue(metrics, "pa_subscriber_lag_records_count", { topic })).toBe(3);
    // Two of the three subscribers lag by nothing.
    expect(sampleValue(metrics, "pa_subscriber_lag_records_bucket", { topic, le: "0" })).toBe(2);
    expect(sampleValue(metrics, "pa_delivery_latency_seconds_count", { topic })).toBeGreaterThan(0);
    // The slow reader's queue overflowed: it was served from Kafka by a catch-up reader.
    expect(sampleValue(metrics, "pa_catch_up_events_total", { topic })).toBeGreaterThan(0);

    for (const stream of fast) stream.close();
    slow.close();
  });
});
