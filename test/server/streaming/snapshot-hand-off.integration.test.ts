// The hand-off from "existing" to "new" while the topic is busy: a client subscribes while 5,000
// payments a second arrive. Its snapshot is read at a known position of pa's view (the store
// following the log) and its live part starts exactly there, the stretch the view has not stored
// yet read from Kafka, so every payment update reaches it once, in "existing" or in "new", and
// "new" is in partition order. Once with a view that keeps up, once with one held back.
import { afterEach, describe, expect, inject, it } from "vitest";
import type { PaymentEvent } from "../../../gen/payment/payment_pb.js";
import { createPaymentGenerator } from "../../../server/demo/payment-generator.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { openStream, waitUntil } from "../../support/streams.js";
import { ViewGate } from "../../support/view-store.js";
import { TestProducer } from "../resilience/mixed-traffic.js";

const bootstrap = inject("kafkaBootstrap");
const TOTAL = 25_000;
const PER_TICK = 100;
const TICK_MS = 20;

let pa: RunningPa | undefined;
afterEach(async () => {
  await pa?.stop();
  pa = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function subscribeWhileBusy(label: string, slowViewMs: number) {
  const topic = uniqueTopic(label);
  await createTopics(bootstrap, [topic]);
  const gate = new ViewGate();
  pa = await startPa(
    bootstrap,
    { KAFKA_TOPIC: topic, STREAM_MAX_EXISTING: "100000", KAFKA_AUTO_OFFSET_RESET: "earliest" },
    slowViewMs > 0 ? { viewStore: (store) => gate.wrap(store, slowViewMs) } : {},
  );
  const running = pa;
  const client = grpcClient(running.baseUrl);
  const generator = createPaymentGenerator({ seed: 1414 });
  const produced = new Set<string>();
  const producer = new TestProducer(bootstrap);
  await producer.connect();
  // 5,000 payments a second, each a new payment (one update each).
  const production = (async () => {
    while (produced.size < TOTAL) {
      const batch = Array.from({ length: PER_TICK }, () => generator.valid());
      for (const record of batch) produced.add(record.key);
      await Promise.all([producer.send(topic, batch), sleep(TICK_MS)]);
    }
  })();
  const status = async () => (await client.getTopics({})).details.find((detail) => detail.topic === topic);
  await waitUntil(async () => Number((await status())?.messagesConsumed ?? 0) >= TOTAL / 4, 30_000);
  const viewLagAtSubscribe = Number((await status())?.viewLag ?? 0);
  const stream = openStream((signal) => client.streamPayments({ topic, existingLimit: 100_000 }, { signal }));
  await production;
  await producer.disconnect();
  const ids = () => new Set(stream.events.map((event) => event.payment?.id));
  await waitUntil(
    () => ids().size >= TOTAL,
    90_000,
    () => `stream has ${ids().size} of ${TOTAL} payments`,
  );
  // Anything sent twice would arrive right behind.
  await sleep(500);
  stream.close();
  return { events: stream.events, produced, viewLagAtSubscribe };
}

function expectEachUpdateOnce(events: PaymentEvent[], produced: Set<string>): void {
  const existing = events.filter((event) => event.eventType === "existing");
  const fresh = events.filter((event) => event.eventType === "new");
  expect(existing.length).toBeGreaterThan(0);
  expect(fresh.length).toBeGreaterThan(0);
  // Every event is one payment update, at one offset: none twice, none missing.
  const updates = events.map((event) => `${event.partition}@${event.offset}`);
  expect(updates.length - new Set(updates).size).toBe(0);
  const ids = events.map((event) => event.payment?.id ?? "");
  expect(ids.length - new Set(ids).size).toBe(0);
  expect(new Set(ids)).toEqual(produced);
  // "new" in partition order, and all of it after the snapshot on each partition.
  const lastExisting = new Map<number, bigint>();
  for (const event of existing)
    lastExisting.set(
      event.partition,
      (lastExisting.get(event.partition) ?? -1n) > event.offset
        ? (lastExisting.get(event.partition) ?? -1n)
        : event.offset,
    );
  const lastNew = new Map<number, bigint>();
  for (const event of fresh) {
    const before = lastNew.get(event.partition) ?? lastExisting.get(event.partition) ?? -1n;
    expect(event.offset).toBeGreaterThan(before);
    lastNew.set(event.partition, event.offset);
  }
}

describe("subscribing while the topic carries 5,000 payments a second", () => {
  it("sends each payment update once across existing and new, in partition order", async () => {
    const { events, produced } = await subscribeWhileBusy("hand-off", 0);
    expectEachUpdateOnce(events, produced);
  }, 150_000);

  it("does so too while the view lags behind the stream", async () => {
    const { events, produced, viewLagAtSubscribe } = await subscribeWhileBusy("hand-off-lagging", 40);
    expect(viewLagAtSubscribe).toBeGreaterThan(0);
    expectEachUpdateOnce(events, produced);
  }, 150_000);
});
