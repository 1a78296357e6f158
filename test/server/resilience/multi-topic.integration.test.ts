// The PoC's multi-topic test (`make multi-topic`): three topics, 100 valid and 10 invalid records
// each, produced with no delay, three stream clients of different protocols. Every valid payment is
// delivered once, every invalid record is dead-lettered at once in the PoC's envelope, and no
// invalid record holds up the valid ones behind it on its partition.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { PaymentEvent } from "../../../gen/payment/payment_pb.js";
import { createPaymentGenerator } from "../../../server/demo/payment-generator.js";
import { connectJsonClient, grpcClient, grpcWebClient, type PaymentClient } from "../../support/clients.js";
import { createTopics, produce, type TestMessage, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { isolatedPostgres } from "../../support/postgres-schema.js";
import { openStream, waitUntil } from "../../support/streams.js";
import { envelopeOf, readTopicUntil } from "./kafka-records.js";
import { startPaWithLogs } from "./pa-with-logs.js";

const bootstrap = inject("kafkaBootstrap");
// A schema of its own: other tests store payments with the same (seeded) ids.
const postgres = isolatedPostgres(inject("postgresUrl"), "multi_topic");
const postgresUrl = postgres.url;
beforeAll(() => postgres.create());
afterAll(() => postgres.drop());

// The Go PoC producer's invalid records, with the code pa gives each.
const POC_INVALID: [string, string][] = [
  ["{invalid json", "invalid_json"],
  ['{"id": ""}', "missing_field"],
  ['{"broken": true, "no_required_fields": 1}', "missing_field"],
  ["not even json", "invalid_json"],
  ['{"id": "test", "amount": "not-a-number"}', "missing_field"],
];

let pa: RunningPa;
beforeAll(async () => {
  pa = await startPa(bootstrap, { DATABASE_URL: postgresUrl });
});
afterAll(async () => {
  await pa?.stop();
});

describe("the PoC's multi-topic test", () => {
  it("delivers 300 payments to three clients and dead-letters 30 invalid records with their envelopes", async () => {
    const topics = [uniqueTopic("multi-a"), uniqueTopic("multi-b"), uniqueTopic("multi-c")];
    await createTopics(bootstrap, topics);
    const clients: PaymentClient[] = [
      grpcClient(pa.baseUrl),
      grpcWebClient(pa.baseUrl),
      connectJsonClient(pa.baseUrl),
    ];
    const streams = topics.map((topic, i) =>
      openStream((signal) =>
        (clients[i] as PaymentClient).streamPayments({ topic, existingLimit: 0 }, { signal }),
      ),
    );
    await waitUntil(() => topics.every((topic) => pa.app.hub.subscriptionsOf(topic).length === 1));

    const invalidByKey = new Map<string, { topic: string; value: string; code: string }>();
    const validIds = new Map<string, Set<string>>();
    const generator = createPaymentGenerator({ seed: 7 });
    await Promise.all(
      topics.map((topic) => {
        const messages: TestMessage[] = [];
        const ids = new Set<string>();
        for (let i = 0; i < 110; i++) {
          // Invalid records spread through the topic, as the PoC producer interleaves them.
          if (i % 11 === 5) {
            const nth = (i - 5) / 11;
            const [value, code] = POC_INVALID[nth % POC_INVALID.length] as [string, string];
            const key = `invalid-${topic}-${nth}`;
            invalidByKey.set(key, { topic, value, code });
            messages.push({ key, value });
          } else {
            const record = generator.valid();
            ids.add(record.key);
            messages.push(record);
          }
        }
        validIds.set(topic, ids);
        return produce(bootstrap, topic, messages);
      }),
    );
    expect(invalidByKey.size).toBe(30);

    await Promise.all(streams.map((stream) => stream.waitFor(100, 60_000)));
    topics.forEach((topic, i) => {
      const events = (streams[i] as { events: PaymentEvent[] }).events;
      expect(events).toHaveLength(100);
      expect(new Set(events.map((event) => event.payment?.id))).toEqual(validIds.get(topic));
      expect(events.every((event) => event.topic === topic)).toBe(true);
    });

    // Streams get each payment as soon as its batch is parsed; the view (which stores payments and
    // dead-letters invalid records, creating the dead-letter topic with its first letter) follows.
    // A reader subscribed before that topic exists would not see it, so it waits for the view.
    await waitUntil(
      () =>
        pa.app.hub
          .topicStatuses()
          .filter((status) => topics.includes(status.topic))
          .every((status) => status.messagesDeadLettered === 10),
      60_000,
    );
    for (const topic of topics) {
      const letters = await readTopicUntil(bootstrap, `${topic}.dlq`, (records) => records.length >= 10);
      expect(letters).toHaveLength(10);
      for (const letter of letters) {
        const envelope = envelopeOf(letter);
        const produced = invalidByKey.get(letter.key);
        expect(produced, `DLQ key ${letter.key}`).toBeDefined();
        expect(envelope).toEqual({
          original_topic: topic,
          partition: letter.partition,
          offset: expect.any(Number),
          key: letter.key,
          value: produced?.value,
          error: produced?.code,
          reason: expect.stringMatching(/\w+/),
          retry_count: 0,
          timestamp: expect.any(Number),
          ...(envelope.redrive_count === undefined ? {} : { redrive_count: 0 }),
        });
        expect(Math.abs(envelope.timestamp - Date.now() / 1000)).toBeLessThan(600);
        expect(letter.headers).toMatchObject({
          "pa-dlq-error": produced?.code,
          "pa-original-topic": topic,
          "pa-original-partition": String(envelope.partition),
          "pa-original-offset": String(envelope.offset),
          "pa-retry-count": "0",
        });
      }
    }
    const statuses = pa.app.hub.topicStatuses().filter((status) => topics.includes(status.topic));
    expect(statuses.map((status) => [status.messagesConsumed, status.messagesDeadLettered])).toEqual([
      [110, 10],
      [110, 10],
      [110, 10],
    ]);
    for (const stream of streams) stream.close();
  }, 120_000);
});

describe("POISON_RETRIES", () => {
  it("restores the PoC's habit: retries an invalid record with backoff, then dead-letters it with its retry count", async () => {
    const topic = uniqueTopic("poison-retries");
    await createTopics(bootstrap, [topic], 1);
    await produce(bootstrap, topic, [
      ...POC_INVALID.map(([value], i) => ({ key: `invalid-${i}`, value })),
      createPaymentGenerator({ seed: 3 }).valid(),
    ]);
    const retrying = await startPaWithLogs(bootstrap, {
      KAFKA_TOPIC: topic,
      DATABASE_URL: postgresUrl,
      POISON_RETRIES: "2",
      RETRY_INITIAL_DELAY: "20ms",
    });
    try {
      // Read once pa created the dead-letter topic: a reader subscribed before would not see it.
      await waitUntil(
        () => retrying.messages.filter((message) => message.startsWith(`[DLQ:${topic}] Sent`)).length === 5,
        30_000,
        () => retrying.messages.join("\n"),
      );
      const letters = await readTopicUntil(bootstrap, `${topic}.dlq`, (records) => records.length >= 5);
      expect(letters.map((letter) => envelopeOf(letter).retry_count)).toEqual([2, 2, 2, 2, 2]);
      expect(letters.map((letter) => letter.headers["pa-retry-count"])).toEqual(["2", "2", "2", "2", "2"]);
      const logged = retrying.messages.filter((message) => message.startsWith(`[CONSUMER:${topic}]`));
      expect(logged).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/Retry 1\/2 in \d+ms: \d invalid records?$/),
          expect.stringMatching(/Retry 2\/2 in \d+ms: \d invalid records?$/),
          expect.stringMatching(/Max retries exceeded, sending to DLQ/),
        ]),
      );
      // The delay is the only effect: nothing failed or paused on the way.
      expect(logged.filter((message) => /View paused at offsets/.test(message))).toEqual([]);
    } finally {
      await retrying.stop();
    }
  });
});
