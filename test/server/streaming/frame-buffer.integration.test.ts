// A native gRPC client that stops reading during a burst (issue 19): within its byte budget
// (STREAM_BUFFER_BYTES) it is written from its queue of frames and no catch-up reader ever reads
// Kafka for it; past it, a catch-up reader brings the rest, and either way it gets every event
// exactly once, in partition order.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { PaymentEvent } from "../../../gen/payment/payment_pb.js";
import type { Subscription } from "../../../server/streaming/subscription.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { parsePrometheusText, sampleValue } from "../../support/prometheus-text.js";
import { waitUntil } from "../../support/streams.js";
import { expectExactlyOnceInOrder, MixedTraffic, TestProducer } from "../resilience/mixed-traffic.js";

const bootstrap = inject("kafkaBootstrap");
// Past the 4,096 events a subscriber's queue held before (STREAM_BUFFER_EVENTS), well within 8 MiB.
const BURST = 6_000;

/** A stream read by hand: `pause()` stops taking events until `resume()`. */
function pausableStream(baseUrl: string, topic: string) {
  const controller = new AbortController();
  const events: PaymentEvent[] = [];
  let paused: Promise<void> | undefined;
  let resumePaused = () => {};
  const done = (async () => {
    for await (const event of grpcClient(baseUrl).streamPayments(
      { topic, existingLimit: 0 },
      { signal: controller.signal },
    )) {
      events.push(event);
      await paused;
    }
  })().catch((error: unknown) => error);
  return {
    events,
    done,
    pause() {
      paused = new Promise((resolve) => {
        resumePaused = resolve;
      });
    },
    resume() {
      paused = undefined;
      resumePaused();
    },
    close: () => controller.abort(),
  };
}

async function catchUpCounts(pa: RunningPa, topic: string) {
  const metrics = parsePrometheusText(await (await fetch(`${pa.baseUrl}/metrics`)).text());
  return {
    reads: sampleValue(metrics, "pa_catch_up_reads_total", { topic }) ?? 0,
    events: sampleValue(metrics, "pa_catch_up_events_total", { topic }) ?? 0,
  };
}

function onlySubscription(pa: RunningPa, topic: string): Subscription {
  const [subscription] = pa.app.hub.subscriptionsOf(topic);
  if (!subscription) throw new Error(`no subscription of ${topic}`);
  return subscription;
}

describe("a native gRPC client behind within STREAM_BUFFER_BYTES (default 8 MiB)", () => {
  let pa: RunningPa;
  let producer: TestProducer;

  beforeAll(async () => {
    pa = await startPa(bootstrap);
    producer = new TestProducer(bootstrap);
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await pa?.stop();
  });

  it("is written from its queue of frames: no catch-up reader reads Kafka for it, and it gets every event once, in order", async () => {
    const topic = uniqueTopic("frames-within");
    await createTopics(bootstrap, [topic]);
    const traffic = new MixedTraffic();
    const stream = pausableStream(pa.baseUrl, topic);
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1);
    // The first event arrives, then the client stops reading while the burst comes.
    await producer.send(topic, traffic.batch(1, Number.MAX_SAFE_INTEGER));
    await waitUntil(() => stream.events.length === 1);
    stream.pause();
    await producer.send(topic, traffic.batch(BURST, Number.MAX_SAFE_INTEGER));
    const subscription = onlySubscription(pa, topic);
    // Held back by HTTP/2 flow control, the burst waits in its queue: more than 4,096 events.
    await waitUntil(
      () => subscription.queued > 4_096,
      30_000,
      () => `${subscription.queued} queued, ${subscription.queuedBytes} bytes, ${stream.events.length} read`,
    );
    expect(subscription.framed).toBe(true);
    expect(subscription.lagging.size).toBe(0);
    expect(subscription.queuedBytes).toBeLessThanOrEqual(pa.config.streams.bufferBytes);
    stream.resume();
    await waitUntil(
      () => stream.events.length >= traffic.validIds.size,
      30_000,
      () => `${stream.events.length} of ${traffic.validIds.size} events`,
    );
    expectExactlyOnceInOrder(stream.events, traffic.validIds);
    expect(await catchUpCounts(pa, topic)).toEqual({ reads: 0, events: 0 });
    stream.close();
  });
});

describe("a native gRPC client far behind its STREAM_BUFFER_BYTES", () => {
  const BUFFER_BYTES = 16_384;
  let pa: RunningPa;
  let producer: TestProducer;

  beforeAll(async () => {
    pa = await startPa(bootstrap, { STREAM_BUFFER_BYTES: String(BUFFER_BYTES) });
    producer = new TestProducer(bootstrap);
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await pa?.stop();
  });

  it("reads on from Kafka and still gets every event exactly once, in partition order", async () => {
    const topic = uniqueTopic("frames-beyond");
    await createTopics(bootstrap, [topic]);
    const traffic = new MixedTraffic();
    const stream = pausableStream(pa.baseUrl, topic);
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1);
    await producer.send(topic, traffic.batch(1));
    await waitUntil(() => stream.events.length === 1);
    stream.pause();
    let maxQueuedBytes = 0;
    const sampler = setInterval(() => {
      for (const subscription of pa.app.hub.subscriptionsOf(topic))
        maxQueuedBytes = Math.max(maxQueuedBytes, subscription.queuedBytes);
    }, 2);
    try {
      // Poison records among the payments (one in ten) are skipped on both paths.
      await producer.send(topic, traffic.batch(BURST));
      const subscription = onlySubscription(pa, topic);
      await waitUntil(
        () => subscription.lagging.size > 0,
        30_000,
        () => `${subscription.queued} queued`,
      );
      // More arrives while it lags and while its catch-up reader runs.
      await producer.send(topic, traffic.batch(BURST));
      stream.resume();
      await waitUntil(
        () => stream.events.length >= traffic.validIds.size,
        60_000,
        () => `${stream.events.length} of ${traffic.validIds.size} events`,
      );
    } finally {
      clearInterval(sampler);
    }
    expectExactlyOnceInOrder(stream.events, traffic.validIds);
    const counts = await catchUpCounts(pa, topic);
    expect(counts.reads).toBeGreaterThan(0);
    expect(counts.events).toBeGreaterThan(0);
    // Its bound, plus one catch-up batch sized to the room there was (live events may have taken
    // it meanwhile), each passing it by one frame at most.
    expect(maxQueuedBytes).toBeLessThanOrEqual(2 * BUFFER_BYTES + 2 * 1024);
    stream.close();
  });
});
