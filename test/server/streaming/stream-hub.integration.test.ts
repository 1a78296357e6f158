import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type PaymentEvent, Provider, StreamStart } from "../../../gen/payment/payment_pb.js";
import { createPaymentGenerator } from "../../../server/demo/payment-generator.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, produce, type TestMessage, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { openStream, waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");

/** `count` valid payments spread over the 3 partitions, ids in production order. */
function payments(count: number, seed: number): TestMessage[] {
  const generator = createPaymentGenerator({ seed });
  return Array.from({ length: count }, (_, i) => {
    const record = generator.valid();
    return { key: record.key, value: record.value, partition: i % 3 };
  });
}

/** Every event once, and within each partition in offset order. */
function expectExactlyOnceInOrder(events: PaymentEvent[], produced: TestMessage[]): void {
  const ids = events.map((e) => e.payment?.id);
  expect(new Set(ids).size, "no duplicates").toBe(ids.length);
  expect(new Set(ids)).toEqual(new Set(produced.map((m) => m.key)));
  for (const partition of [0, 1, 2]) {
    const offsets = events.filter((e) => e.partition === partition).map((e) => Number(e.offset));
    expect(offsets, `partition ${partition} in order`).toEqual([...offsets].sort((a, b) => a - b));
  }
}

// Some 64 events' frames.
const BUFFER_BYTES = 16_384;

describe("stream hub: shared, on-demand and lossless consumption", () => {
  let pa: RunningPa;

  beforeAll(async () => {
    pa = await startPa(bootstrap, {
      STREAM_LINGER: "1s",
      STREAM_BUFFER_EVENTS: "64",
      STREAM_BUFFER_BYTES: String(BUFFER_BYTES),
    });
  });
  afterAll(async () => {
    await pa?.stop();
  });

  it("reads a topic once for all its subscribers, whatever their filters", async () => {
    const topic = uniqueTopic("shared");
    await createTopics(bootstrap, [topic]);
    const client = grpcClient(pa.baseUrl);
    const all = openStream((signal) => client.streamPayments({ topic, existingLimit: 0 }, { signal }));
    const stripeOnly = openStream((signal) =>
      client.streamPayments({ topic, existingLimit: 0, provider: Provider.STRIPE }, { signal }),
    );
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 2);
    const produced = payments(300, 1);
    await produce(bootstrap, topic, produced);
    await all.waitFor(300);
    const stripeCount = produced.filter((m) => JSON.parse(String(m.value)).provider === "stripe").length;
    await stripeOnly.waitFor(stripeCount);
    expect(pa.app.hub.consumedCount(topic)).toBe(300);
    expect(pa.app.hub.topicStatuses().filter((t) => t.topic === topic)).toHaveLength(1);
    expect(stripeOnly.events.every((e) => e.payment?.provider === Provider.STRIPE)).toBe(true);
    all.close();
    stripeOnly.close();
  });

  it("keeps a topic's consumption for the linger time after its last subscriber, then frees it", async () => {
    const topic = uniqueTopic("linger");
    await createTopics(bootstrap, [topic]);
    const client = grpcClient(pa.baseUrl);
    const first = openStream((signal) => client.streamPayments({ topic, existingLimit: 0 }, { signal }));
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1);
    const activeSince = pa.app.hub.topicStatuses().find((t) => t.topic === topic)?.activeSince;
    first.close();
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 0);

    // A client reconnecting within the linger time finds the same consumption: no churn.
    const again = openStream((signal) => client.streamPayments({ topic, existingLimit: 0 }, { signal }));
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1);
    expect(pa.app.hub.topicStatuses().find((t) => t.topic === topic)?.activeSince).toBe(activeSince);
    again.close();

    await waitUntil(() => !pa.app.hub.topicStatuses().some((t) => t.topic === topic), 5_000);
    const topics = await client.getTopics({});
    expect(topics.topics).not.toContain(topic);
  });

  it("lets a stalled client fall behind within its bound while a fast one keeps going; the stalled one later gets everything", async () => {
    const topic = uniqueTopic("stalled");
    await createTopics(bootstrap, [topic]);
    const client = grpcClient(pa.baseUrl);
    const fast = openStream((signal) => client.streamPayments({ topic, existingLimit: 0 }, { signal }));
    // The stalled client opens its stream and then reads nothing: HTTP/2 flow control stops pa's
    // writes, and its queue fills.
    const stalledStream = grpcClient(pa.baseUrl)
      .streamPayments({ topic, existingLimit: 0 })
      [Symbol.asyncIterator]();
    const firstEvent = stalledStream.next();
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 2);

    const produced = payments(6000, 2);
    await produce(bootstrap, topic, produced);
    await fast.waitFor(6000, 30_000).catch((error: Error) => {
      const state = pa.app.hub.subscriptionsOf(topic).map((s) => ({
        delivered: s.delivered,
        queued: s.queued,
        lagging: [...s.lagging],
        from: [...s.from],
        catchingUp: s.catchingUp,
      }));
      throw new Error(`${error.message}; subscriptions: ${JSON.stringify(state)}`);
    });
    expectExactlyOnceInOrder(fast.events, produced);

    const stalled = pa.app.hub.subscriptionsOf(topic).find((s) => s.delivered < 6000 && s.lagging.size > 0);
    expect(stalled, "the stalled subscriber lags instead of buffering without bound").toBeDefined();
    // Its bound: the queue (STREAM_BUFFER_BYTES, a native gRPC stream's) plus one catch-up batch,
    // which is sized to the room there was when it was fetched while live partitions may have
    // filled that room meanwhile; each passes it by one frame at most.
    expect(stalled?.queuedBytes).toBeLessThanOrEqual(2 * BUFFER_BYTES + 2 * 1024);

    const slowEvents: PaymentEvent[] = [(await firstEvent).value as PaymentEvent];
    while (slowEvents.length < 6000) {
      const next = await stalledStream.next();
      if (next.done) break;
      slowEvents.push(next.value);
    }
    await stalledStream.return?.();
    expectExactlyOnceInOrder(slowEvents, produced);
    fast.close();
  });

  it("loses nothing for a client that spends 1 ms on every event (the PoC lost over half)", async () => {
    const topic = uniqueTopic("slow");
    await createTopics(bootstrap, [topic]);
    const client = grpcClient(pa.baseUrl);
    const received: PaymentEvent[] = [];
    const controller = new AbortController();
    const reading = (async () => {
      for await (const event of client.streamPayments(
        { topic, existingLimit: 0 },
        { signal: controller.signal },
      )) {
        received.push(event);
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (received.length === 1500) break;
      }
    })();
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1);
    const produced = payments(1500, 3);
    await produce(bootstrap, topic, produced);
    await reading;
    expectExactlyOnceInOrder(received, produced);
  });

  it("starts from the earliest record, or from a time, on request", async () => {
    const topic = uniqueTopic("start");
    await createTopics(bootstrap, [topic]);
    const before = payments(30, 4);
    await produce(bootstrap, topic, before);
    const client = grpcClient(pa.baseUrl);
    const fromStart = openStream((signal) =>
      client.streamPayments(
        { topic, existingLimit: 0, startPosition: { case: "start", value: StreamStart.EARLIEST } },
        { signal },
      ),
    );
    await fromStart.waitFor(30);
    expectExactlyOnceInOrder(fromStart.events, before);

    await new Promise((resolve) => setTimeout(resolve, 50));
    const cut = new Date();
    const after = payments(9, 5);
    await produce(bootstrap, topic, after);
    const fromTime = openStream((signal) =>
      client.streamPayments(
        {
          topic,
          existingLimit: 0,
          startPosition: {
            case: "startTime",
            value: {
              seconds: BigInt(Math.floor(cut.getTime() / 1000)),
              nanos: (cut.getTime() % 1000) * 1e6,
            } as never,
          },
        },
        { signal },
      ),
    );
    await fromTime.waitFor(9);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expectExactlyOnceInOrder(fromTime.events, after);
    fromStart.close();
    fromTime.close();
  });
});

describe("resuming a stream by cursor", () => {
  it("continues right after the cursor's event across a pa restart, with no gap and no duplicate", async () => {
    const topic = uniqueTopic("resume");
    await createTopics(bootstrap, [topic]);
    const group = `test-resume-${Date.now()}`;
    const produced = payments(600, 6);
    await produce(bootstrap, topic, produced.slice(0, 400));

    const first = await startPa(bootstrap, { KAFKA_GROUP_ID: group });
    const session1: PaymentEvent[] = [];
    try {
      const client = grpcClient(first.baseUrl);
      for await (const event of client.streamPayments({
        topic,
        existingLimit: 0,
        startPosition: { case: "start", value: StreamStart.EARLIEST },
      })) {
        session1.push(event);
        if (session1.length === 250) break;
      }
    } finally {
      await first.stop();
    }
    const cursor = session1.at(-1)?.cursor as string;
    expect(cursor).not.toBe("");

    await produce(bootstrap, topic, produced.slice(400));
    const second = await startPa(bootstrap, { KAFKA_GROUP_ID: group });
    try {
      const client = grpcClient(second.baseUrl);
      const resumed = openStream((signal) =>
        client.streamPayments(
          { topic, existingLimit: 0, startPosition: { case: "startCursor", value: cursor } },
          { signal },
        ),
      );
      await resumed.waitFor(350);
      await new Promise((resolve) => setTimeout(resolve, 300));
      resumed.close();
      expectExactlyOnceInOrder([...session1, ...resumed.events], produced);
    } finally {
      await second.stop();
    }
  });
});

describe("a subscriber arriving while its topic's feed lingers out", () => {
  let pa: RunningPa;

  beforeAll(async () => {
    pa = await startPa(bootstrap, { STREAM_LINGER: "100ms" });
  });
  afterAll(async () => {
    await pa?.stop();
  });

  it("is attached to a live feed (the one that lingered, or a new one) and gets its events, whenever it arrives", async () => {
    const topic = uniqueTopic("linger-race");
    await createTopics(bootstrap, [topic]);
    const client = grpcClient(pa.baseUrl);
    const stream = (signal: AbortSignal) => client.streamPayments({ topic, existingLimit: 0 }, { signal });
    const generator = createPaymentGenerator({ seed: 14 });
    // Arrivals spread over the moment the linger timer stops the feed: just before, at, just after.
    for (let round = 0; round < 15; round++) {
      const leaving = openStream(stream);
      await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1);
      leaving.close();
      await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 0);
      await new Promise((resolve) => setTimeout(resolve, 80 + (round % 5) * 10));
      const arriving = openStream(stream);
      // Registered with a feed the hub still holds: a dead feed would not be listed.
      await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1, 10_000);
      const record = generator.valid();
      await produce(bootstrap, topic, [record]);
      await arriving.waitFor(1, 10_000);
      expect(arriving.events.map((event) => event.payment?.id)).toEqual([record.key]);
      arriving.close();
    }
  });
});
