// The benchmarks' own StreamPayments client (raw HTTP/2, decoding in worker threads) against a real
// pa: every event in partition order, pa's error status as a ConnectError, an abort as a normal end.
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { StreamClient, type StreamEvent } from "../../../bench/support/stream-client.js";
import { StreamStart } from "../../../gen/payment/payment_pb.js";
import { createPaymentGenerator } from "../../../server/demo/payment-generator.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, produce, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { streamFailure, waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
const RECORDS = 5_000;

describe("the benchmarks' stream client", () => {
  let pa: RunningPa;
  let client: StreamClient;
  const topic = uniqueTopic("bench-stream-client");
  const generator = createPaymentGenerator({ seed: 14 });
  const records = Array.from({ length: RECORDS }, () => generator.valid());

  beforeAll(async () => {
    await createTopics(bootstrap, [topic]);
    await produce(
      bootstrap,
      topic,
      records.map((record, i) => ({ key: record.key, value: record.value, partition: i % 3 })),
    );
    pa = await startPa(bootstrap);
    // Two decoding threads: batches come back from either, so order is restored by the client.
    client = await StreamClient.start(pa.baseUrl, { decodeThreads: 2 });
  });

  afterAll(async () => {
    await client?.close();
    await pa?.stop();
  });

  it("hands on every event decoded, in each partition's order", async () => {
    const events: StreamEvent[] = [];
    const abort = new AbortController();
    const following = client.follow(
      { topic, existingLimit: 0, startPosition: { case: "start", value: StreamStart.EARLIEST } },
      abort.signal,
      (event) => {
        events.push(event);
        if (events.length === RECORDS) abort.abort();
      },
    );
    await following;
    expect(events).toHaveLength(RECORDS);
    for (const partition of [0, 1, 2]) {
      const offsets = events.filter((event) => event.partition === partition).map((event) => event.offset);
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
    expect(new Set(events.map((event) => event.paymentId))).toEqual(new Set(records.map((r) => r.key)));
    const arrivals = events.map((event) => event.arrivalMs);
    expect(arrivals).toEqual([...arrivals].sort((a, b) => a - b));
  });

  it("rejects with pa's code and message, as connect-node's client reports them", async () => {
    const request = { topic, existingLimit: 0, filter: "payment.amount_minor >" };
    const expected = await streamFailure(grpcClient(pa.baseUrl).streamPayments(request));
    expect(expected.code).toBe(Code.InvalidArgument);
    const error = await client
      .follow(request, new AbortController().signal, () => {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect((error as ConnectError).rawMessage).toBe(expected.rawMessage);
  });

  it("ends normally when the benchmark aborts a live stream", async () => {
    const quiet = uniqueTopic("bench-stream-client-quiet");
    await createTopics(bootstrap, [quiet]);
    const abort = new AbortController();
    let events = 0;
    const following = client.follow(
      { topic: quiet, existingLimit: 0, startPosition: { case: "start", value: StreamStart.LATEST } },
      abort.signal,
      () => events++,
    );
    const subscribed = async () =>
      (await grpcClient(pa.baseUrl).getTopics({})).details.some(
        (d) => d.topic === quiet && d.subscribers > 0,
      );
    await waitUntil(subscribed, 10_000, () => `a subscriber on ${quiet}`);
    abort.abort();
    await expect(following).resolves.toBeUndefined();
    expect(events).toBe(0);
  });
});
