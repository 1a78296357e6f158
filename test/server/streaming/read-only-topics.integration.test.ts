// The copy-out case: a topic clients may stream but pa does not process (not in PROCESS_TOPICS),
// holding records that are not payments. Streaming it must write nothing anywhere: no dead-letter
// topic, no stored payment, no offset of pa's consumer group.
import { execFileSync } from "node:child_process";
import kafka, { KafkaJS } from "@confluentinc/kafka-javascript";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { StreamStart } from "../../../gen/payment/payment_pb.js";
import { createPaymentGenerator } from "../../../server/demo/payment-generator.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, produce, type TestMessage, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { openStream, waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");

function admin(): KafkaJS.Admin {
  return new KafkaJS.Kafka({ kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.NOTHING } }).admin();
}

/** The cluster's topics as `kcat -L` lists them. */
function kcatTopics(): string[] {
  const listing = execFileSync("kcat", ["-b", bootstrap, "-L", "-J"], { encoding: "utf8", timeout: 15_000 });
  return (JSON.parse(listing) as { topics: { topic: string }[] }).topics.map((t) => t.topic);
}

/** The offsets a consumer group committed for a topic, by partition (-1: none). */
async function committedOffsets(groupId: string, topic: string): Promise<string[]> {
  const client = admin();
  await client.connect();
  try {
    const [offsets] = await client.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => p.offset);
  } finally {
    await client.disconnect();
  }
}

/** Commits offsets for a group as a consumer outside it would (no group membership needed). */
async function commitForGroup(groupId: string, topic: string, offsets: number[]): Promise<void> {
  const consumer = new kafka.KafkaConsumer({ "bootstrap.servers": bootstrap, "group.id": groupId }, {});
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 10_000 }, (error) => (error ? reject(error) : resolve())),
  );
  try {
    consumer.commitSync(offsets.map((offset, partition) => ({ topic, partition, offset })));
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** A `users` topic: user profiles, a line of text, and some payments among them. */
function usersTopicRecords(seed: number): { records: TestMessage[]; payments: TestMessage[] } {
  const generator = createPaymentGenerator({ seed });
  const payments = Array.from({ length: 6 }, (_, i) => {
    const record = generator.valid();
    return { key: record.key, value: record.value, partition: i % 3 };
  });
  // All on partition 0, in this order, so the last invalid one is known.
  const users: TestMessage[] = [
    {
      key: "u1",
      value: JSON.stringify({ user_id: "u1", email: "ann@example.com", plan: "pro" }),
      partition: 0,
    },
    { key: "u2", value: "not json at all", partition: 0 },
    { key: "u3", value: JSON.stringify({ user_id: "u3", email: "bo@example.com" }), partition: 0 },
  ];
  return { records: [...payments.slice(0, 3), ...users, ...payments.slice(3)], payments };
}

describe("a topic that is allowed but not processed is streamed read-only", () => {
  let pa: RunningPa;
  const topic = uniqueTopic("users");

  beforeAll(async () => {
    await createTopics(bootstrap, [topic]);
    // pa's own defaults: PROCESS_TOPICS unset means the KAFKA_TOPIC topics (none here).
    pa = await startPa(bootstrap, { TOPIC_ALLOWLIST: "test.users.*", PROCESS_TOPICS: "" });
  });
  afterAll(async () => {
    await pa?.stop();
  });

  it("sends its payments, counts its other records, and writes nothing to the cluster, the store or the group", async () => {
    expect(pa.config.streams.processTopics).toEqual([]);
    const before = usersTopicRecords(1);
    await produce(bootstrap, topic, before.records);

    const client = grpcClient(pa.baseUrl);
    const stream = openStream((signal) =>
      client.streamPayments(
        { topic, existingLimit: 0, startPosition: { case: "start", value: StreamStart.EARLIEST } },
        { signal },
      ),
    );
    await stream.waitFor(before.payments.length);
    // And live: records produced while the stream is open.
    const live = usersTopicRecords(2);
    await produce(bootstrap, topic, live.records);
    const expected = [...before.payments, ...live.payments];
    await stream.waitFor(expected.length);
    expect(new Set(stream.events.map((e) => e.payment?.id))).toEqual(new Set(expected.map((m) => m.key)));

    const status = async () => (await client.getTopics({})).details.find((t) => t.topic === topic);
    await waitUntil(
      async () => (await status())?.messagesInvalid === 6n,
      20_000,
      () => "6 invalid records",
    );
    expect(await status()).toMatchObject({
      readOnly: true,
      messagesConsumed: 18n,
      messagesInvalid: 6n,
      messagesDeadLettered: 0n,
      // u3, the last invalid record: a user profile has no payment id. Only the code is shown, so
      // no text of the user record reaches whoever may stream the topic.
      lastInvalidReason: "missing_field",
    });
    stream.close();

    // Long enough for any commit (every 500 ms) and any dead letter to have happened.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const topics = kcatTopics();
    expect(topics).toContain(topic);
    expect(topics.filter((t) => t.startsWith(topic))).toEqual([topic]);

    const listed = await client.listPayments({ topic, limit: 100 });
    expect(listed.totalCount).toBe(0);
    expect(await client.listPayments({ limit: 100 })).toMatchObject({ totalCount: 0 });
    const firstId = expected[0]?.key as string;
    await expect(client.getPayment({ paymentId: firstId })).rejects.toMatchObject({ code: Code.NotFound });

    // The group never committed anything for the topic (the processing case below shows the same
    // query finding a processed topic's offsets).
    const committed = await committedOffsets(pa.config.kafka.groupId, topic);
    expect(committed.filter((offset) => offset !== "-1")).toEqual([]);
  });

  it("starts where its first subscriber asks, never from pa's group's committed offsets, and leaves them as they were", async () => {
    const fresh = uniqueTopic("users");
    await createTopics(bootstrap, [fresh]);
    const { records, payments } = usersTopicRecords(3);
    await produce(bootstrap, fresh, records);
    // pa's group says the topic was processed to its end (as a processing pa would have left it).
    await commitForGroup(pa.config.kafka.groupId, fresh, [5, 2, 2]);
    expect(await committedOffsets(pa.config.kafka.groupId, fresh)).toEqual(["5", "2", "2"]);

    const stream = openStream((signal) =>
      grpcClient(pa.baseUrl).streamPayments(
        { topic: fresh, existingLimit: 0, startPosition: { case: "start", value: StreamStart.EARLIEST } },
        { signal },
      ),
    );
    await stream.waitFor(payments.length);
    // The shared feed itself read the whole topic (one catch-up reader would not count here).
    const status = pa.app.hub.topicStatuses().find((t) => t.topic === fresh);
    expect(status).toMatchObject({ readOnly: true, messagesConsumed: 9, messagesInvalid: 3 });
    stream.close();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await committedOffsets(pa.config.kafka.groupId, fresh)).toEqual(["5", "2", "2"]);
  });

  it("keeps processing what PROCESS_TOPICS names: stored, dead-lettered and committed", async () => {
    const processedTopic = uniqueTopic("processed");
    await createTopics(bootstrap, [processedTopic]);
    const processing = await startPa(bootstrap, {
      TOPIC_ALLOWLIST: "test.processed.*",
      PROCESS_TOPICS: "test.processed.*",
    });
    try {
      const { records, payments } = usersTopicRecords(4);
      await produce(bootstrap, processedTopic, records);
      const client = grpcClient(processing.baseUrl);
      const stream = openStream((signal) =>
        client.streamPayments(
          {
            topic: processedTopic,
            existingLimit: 0,
            startPosition: { case: "start", value: StreamStart.EARLIEST },
          },
          { signal },
        ),
      );
      await stream.waitFor(payments.length);
      stream.close();
      // Streams run ahead of the store: read your stream with the last event's cursor.
      const consistentWith = stream.events.at(-1)?.cursor ?? "";
      expect((await client.listPayments({ topic: processedTopic, consistentWith })).totalCount).toBe(
        payments.length,
      );
      const status = (await client.getTopics({})).details.find((t) => t.topic === processedTopic);
      expect(status).toMatchObject({ readOnly: false, messagesInvalid: 3n });
      await waitUntil(
        async () =>
          (await client.getTopics({})).details.find((t) => t.topic === processedTopic)
            ?.messagesDeadLettered === 3n,
      );
      expect(kcatTopics()).toContain(`${processedTopic}.dlq`);
      await waitUntil(
        async () =>
          (await committedOffsets(processing.config.kafka.groupId, processedTopic)).join() === "5,2,2",
        10_000,
        () => "the group's offsets at the end of the topic",
      );
    } finally {
      await processing.stop();
    }
  });

  it("refuses a topic outside the allow-list before anything is read, naming TOPIC_ALLOWLIST", async () => {
    const other = uniqueTopic("orders");
    await createTopics(bootstrap, [other]);
    const stream = openStream((signal) =>
      grpcClient(pa.baseUrl).streamPayments({ topic: other }, { signal }),
    );
    expect(ConnectError.from(await stream.done)).toMatchObject({
      code: Code.PermissionDenied,
      rawMessage: expect.stringContaining("TOPIC_ALLOWLIST"),
    });
    expect(pa.app.hub.topicStatuses().map((t) => t.topic)).not.toContain(other);
  });
});
