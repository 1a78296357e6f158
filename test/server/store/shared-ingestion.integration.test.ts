// Two pa instances on one PostgreSQL with the same KAFKA_GROUP_ID and pinned topic: the group
// splits the processing between them, each still streams the whole topic, both answer the same
// queries, and when one stops the other takes its partitions over without losing a payment.
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { StreamStart } from "../../../gen/payment/payment_pb.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, produce, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { openStream, waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
const baseUrl = inject("postgresUrl");
const running: RunningPa[] = [];
let schema = "";

afterAll(async () => {
  await Promise.all(running.map((pa) => pa.stop().catch(() => undefined)));
  if (!schema) return;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.end());
});

const payments = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => {
    const id = `${prefix}_${i}`;
    return {
      key: id,
      value: JSON.stringify({
        id,
        provider: "stripe",
        amount: 100 + i,
        currency: "usd",
        status: "succeeded",
      }),
    };
  });

describe("two pa instances on one PostgreSQL", () => {
  it("share the ingestion through the consumer group and answer the same queries", async () => {
    const topic = uniqueTopic("shared-ingestion");
    await createTopics(bootstrap, [topic], 4);
    schema = `pa_shared_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`).finally(() => admin.end());
    const env = {
      KAFKA_TOPIC: topic,
      SHARE_PROCESSING: "true",
      KAFKA_GROUP_ID: `test-shared-${randomBytes(4).toString("hex")}`,
      KAFKA_AUTO_OFFSET_RESET: "earliest",
      DATABASE_URL: `${baseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    };
    const first = await startPa(bootstrap, env);
    running.push(first);
    const second = await startPa(bootstrap, env);
    running.push(second);

    // The group splits the 4 partitions: each processed by exactly one instance.
    const owned = () => [first, second].map((pa) => pa.app.hub.processedPartitions(topic));
    await waitUntil(() => owned().every((partitions) => partitions.length === 2), 30_000);
    expect(owned().flat().sort()).toEqual([0, 1, 2, 3]);

    // Each instance still streams every partition.
    const stream = openStream((signal) =>
      grpcClient(second.baseUrl).streamPayments(
        { topic, existingLimit: 0, startPosition: { case: "start", value: StreamStart.EARLIEST } },
        { signal },
      ),
    );
    await produce(bootstrap, topic, payments("shared", 200));
    await waitUntil(() => stream.events.length >= 200, 30_000);
    stream.close();
    expect(new Set(stream.events.map((event) => event.payment?.id)).size).toBe(200);

    // One store, written by both, the same answers from both.
    const total = async (pa: RunningPa) =>
      (await grpcClient(pa.baseUrl).listPayments({ topic, limit: 1 })).totalCount;
    await waitUntil(async () => (await total(first)) === 200, 30_000);
    expect(await total(second)).toBe(200);
    const one = await grpcClient(first.baseUrl).getPayment({ paymentId: "shared_7" });
    expect((await grpcClient(second.baseUrl).getPayment({ paymentId: "shared_7" })).source).toEqual(
      one.source,
    );

    // One leaves: the other takes every partition over and goes on storing.
    await first.stop();
    running.splice(running.indexOf(first), 1);
    await waitUntil(() => second.app.hub.processedPartitions(topic).length === 4, 30_000);
    await produce(bootstrap, topic, payments("after", 100));
    await waitUntil(async () => (await total(second)) === 300, 30_000);
  });
});
