// Cursors pa cannot resume from are refused with their own code and a message that says what to
// send instead, before anything of the topic is consumed: the topic never shows in GetTopics.

import { KafkaJS } from "@confluentinc/kafka-javascript";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { StreamStart } from "../../../gen/payment/payment_pb.js";
import { createPaymentGenerator } from "../../../server/demo/payment-generator.js";
import { encodeStreamCursor } from "../../../server/streaming/stream-cursor.js";
import { connectJsonClient, grpcClient, type PaymentClient } from "../../support/clients.js";
import { createTopics, produce, type TestMessage, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { collect, streamFailure } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");

/** `count` valid payments, all on partition 0. */
function payments(count: number, seed: number): TestMessage[] {
  const generator = createPaymentGenerator({ seed });
  return Array.from({ length: count }, () => {
    const record = generator.valid();
    return { key: record.key, value: record.value, partition: 0 };
  });
}

/** Deletes partition 0's records below `offset`, as retention would. */
async function deleteRecordsBefore(topic: string, offset: number): Promise<void> {
  const admin = new KafkaJS.Kafka({
    kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.NOTHING },
  }).admin();
  await admin.connect();
  try {
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(offset) }] });
  } finally {
    await admin.disconnect();
  }
}

type StreamRequestInit = Parameters<PaymentClient["streamPayments"]>[0];

const base64url = (text: string) => Buffer.from(text).toString("base64url");

describe("stream cursors pa cannot resume from", () => {
  let pa: RunningPa;
  let clients: [string, PaymentClient][];

  beforeAll(async () => {
    pa = await startPa(bootstrap);
    clients = [
      ["grpc", grpcClient(pa.baseUrl)],
      ["connect", connectJsonClient(pa.baseUrl)],
    ];
  });
  afterAll(async () => {
    await pa?.stop();
  });

  /** A topic nobody streamed yet, with 10 records on partition 0 of 3. */
  async function quietTopic(label: string): Promise<string> {
    const topic = uniqueTopic(label);
    await createTopics(bootstrap, [topic]);
    await produce(bootstrap, topic, payments(10, 7));
    return topic;
  }

  async function expectRefused(request: StreamRequestInit, code: Code, message: RegExp): Promise<void> {
    for (const [name, client] of clients) {
      const error = await streamFailure(client.streamPayments(request));
      expect(error.code, `${name}: ${error.rawMessage}`).toBe(code);
      expect(error.rawMessage, name).toMatch(message);
    }
    // Nothing was consumed: the topic has no feed, so GetTopics does not list it.
    const topics = await grpcClient(pa.baseUrl).getTopics({});
    expect(topics.topics).not.toContain(request.topic);
  }

  const cursor = (value: string) => ({ startPosition: { case: "startCursor" as const, value } });

  it.each([
    ["base64 of null", "bnVsbA"],
    ["garbage", "garbage"],
    ["an empty JSON object", base64url("{}")],
  ])("refuses a malformed cursor (%s) with INVALID_ARGUMENT", async (_, value) => {
    const topic = await quietTopic("malformed");
    await expectRefused(
      { topic, ...cursor(value) },
      Code.InvalidArgument,
      /not a cursor pa issued: pass a PaymentEvent's cursor .*, or start with start \(STREAM_START_LATEST or STREAM_START_EARLIEST\) or start_time instead/,
    );
  });

  it("refuses another topic's cursor, and a cursor with more partitions than the topic, with INVALID_ARGUMENT", async () => {
    const topic = await quietTopic("foreign");
    await expectRefused(
      { topic, ...cursor(encodeStreamCursor("test.some.other.topic", [1, 0, 0])) },
      Code.InvalidArgument,
      /belongs to topic "test.some.other.topic", not "test.foreign.*": resume "test.some.other.topic" with it, or start with start/,
    );
    await expectRefused(
      { topic, ...cursor(encodeStreamCursor(topic, [1, 0, 0, 0, 0])) },
      Code.InvalidArgument,
      /names 5 partitions but topic "test.foreign.*" has 3: .*start with start/,
    );
  });

  it("refuses a cursor past the end of a partition with OUT_OF_RANGE, even with the fallback allowed", async () => {
    const topic = await quietTopic("future");
    for (const allowCursorFallback of [false, true]) {
      await expectRefused(
        { topic, allowCursorFallback, ...cursor(encodeStreamCursor(topic, [11, 0, 0])) },
        Code.OutOfRange,
        /past the end of topic "test.future.*" partition 0 \(offset 11; the partition ends at 10\).*start with start/,
      );
    }
  });

  it("refuses a cursor below what Kafka still holds with OUT_OF_RANGE, and resumes at the oldest record when the request allows the fallback", async () => {
    const topic = await quietTopic("retention");
    await deleteRecordsBefore(topic, 6);
    const below = { topic, existingLimit: 0, ...cursor(encodeStreamCursor(topic, [2, 0, 0])) };
    await expectRefused(
      below,
      Code.OutOfRange,
      /no longer holds topic "test.retention.*" partition 0 from offset 2 \(its oldest record is 6; retention deleted 4 records .*set allow_cursor_fallback .* or start with STREAM_START_EARLIEST/,
    );

    const client = grpcClient(pa.baseUrl);
    const resumed = await collect(
      (signal) => client.streamPayments({ ...below, allowCursorFallback: true }, { signal }),
      4,
    );
    expect(resumed.map((event) => [event.partition, Number(event.offset)])).toEqual([
      [0, 6],
      [0, 7],
      [0, 8],
      [0, 9],
    ]);
    // A cursor Kafka still holds resumes exactly, with or without the fallback.
    const exact = await collect(
      (signal) =>
        client.streamPayments(
          { topic, existingLimit: 0, ...cursor(resumed[1]?.cursor as string) },
          { signal },
        ),
      2,
    );
    expect(exact.map((event) => Number(event.offset))).toEqual([8, 9]);
  });

  it("still starts a topic from its beginning or end when no cursor is given", async () => {
    const topic = await quietTopic("plain");
    const events = await collect(
      (signal) =>
        grpcClient(pa.baseUrl).streamPayments(
          { topic, existingLimit: 0, startPosition: { case: "start", value: StreamStart.EARLIEST } },
          { signal },
        ),
      10,
    );
    expect(events).toHaveLength(10);
  });
});
