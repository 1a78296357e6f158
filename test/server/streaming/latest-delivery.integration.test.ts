// DELIVERY_LATEST: a client far slower than the topic ends with every payment's final state, each
// record either delivered or folded into a newer one exactly once, and its queue never above its
// bound (STREAM_BUFFER_EVENTS) however far behind it is. The payments fit the queue (12 in 16): past
// the bound, new payments wait in Kafka and the client catches up from there, as in LOSSLESS.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Delivery, StreamStart } from "../../../gen/payment/payment_pb.js";
import { connectJsonClient, grpcClient, type PaymentClient } from "../../support/clients.js";
import { createTopics, produce, type TestMessage, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
const PAYMENTS = 12;
const VERSIONS = 200;
const BOUND = 16;

/** Version v of payment k: its amount says which version it is. */
function update(k: number, version: number): TestMessage {
  return {
    key: `latest_${k}`,
    value: JSON.stringify({
      id: `latest_${k}`,
      provider: "stripe",
      amount: 1000 + version,
      currency: "usd",
      status: version === VERSIONS ? "succeeded" : "pending",
      customer_email: "x@example.com",
      timestamp: 1_790_000_000 + version,
    }),
    partition: 0,
  };
}

describe("DELIVERY_LATEST", () => {
  let pa: RunningPa;

  beforeAll(async () => {
    pa = await startPa(bootstrap, { STREAM_BUFFER_EVENTS: String(BOUND) });
  });
  afterAll(async () => {
    await pa?.stop();
  });

  it.each([
    ["grpc", (url: string) => grpcClient(url)],
    ["connect", (url: string) => connectJsonClient(url)],
  ] as [string, (url: string) => PaymentClient][])(
    "a slow %s client ends with every payment's final state within its queue bound",
    async (_name, clientFor) => {
      const topic = uniqueTopic("latest");
      await createTopics(bootstrap, [topic], 1);
      const records: TestMessage[] = [];
      for (let version = 1; version <= VERSIONS; version++) {
        for (let k = 0; k < PAYMENTS; k++) records.push(update(k, version));
      }
      const final = new Map<string, bigint>();
      let received = 0;
      let represented = 0;
      let maxQueued = 0;
      const sampler = setInterval(() => {
        for (const subscription of pa.app.hub.subscriptionsOf(topic)) {
          maxQueued = Math.max(maxQueued, subscription.peakQueued);
        }
      }, 2);
      const abort = new AbortController();
      const reading = (async () => {
        const stream = clientFor(pa.baseUrl).streamPayments(
          {
            topic,
            existingLimit: 0,
            startPosition: { case: "start", value: StreamStart.EARLIEST },
            delivery: Delivery.LATEST,
          },
          { signal: abort.signal },
        );
        for await (const event of stream) {
          received++;
          represented += 1 + event.foldedUpdates;
          final.set(event.payment?.id ?? "", event.payment?.amountMinor ?? 0n);
          // Far slower than the topic: 2,400 records arrive at once, this reads 500 a second at most.
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })().catch((error: unknown) => error);
      try {
        await produce(bootstrap, topic, records);
        await waitUntil(
          () =>
            final.size === PAYMENTS &&
            [...final.values()].every((amount) => amount === BigInt(1000 + VERSIONS)),
          60_000,
          () => `${final.size} payments seen, ${received} events`,
        );
        await waitUntil(
          () => represented === records.length,
          10_000,
          () => `${represented} of ${records.length} records accounted for`,
        );
      } finally {
        clearInterval(sampler);
        abort.abort();
        await reading;
      }
      expect(represented).toBe(records.length);
      expect(received).toBeLessThan(records.length / 2);
      expect(maxQueued).toBeGreaterThan(0);
      expect(maxQueued).toBeLessThanOrEqual(BOUND);
    },
  );
});
