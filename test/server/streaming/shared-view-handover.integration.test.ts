// Two pa instances sharing the processing of one topic (SHARE_PROCESSING, one group, one
// PostgreSQL) while payments keep arriving: the second joins (the first hands partitions over in
// the middle of its work), then the first stops (the second takes them over). Each view starts
// from the group's committed offset on every partition it is given, work in flight for a revoked
// partition never carries a commit past what was stored, so every payment is stored, every
// poison record dead-lettered, and at the end the group's committed offsets are the end of every
// partition.
import { randomBytes, randomUUID } from "node:crypto";
import { KafkaJS } from "@confluentinc/kafka-javascript";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createPaymentGenerator } from "../../../server/demo/payment-generator.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, produce, type TestMessage, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { parsePrometheusText, sampleValue } from "../../support/prometheus-text.js";
import { waitUntil } from "../../support/streams.js";
import { readTopicUntil } from "../resilience/kafka-records.js";

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

const PARTITIONS = 6;
const BATCHES = 60;
const BATCH = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function groupPosition(
  groupId: string,
  topic: string,
): Promise<{ committed: number[]; ends: number[] }> {
  const admin = new KafkaJS.Kafka({
    kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.NOTHING },
  }).admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    const byPartition = (list: { partition: number; offset: string }[]) =>
      [...list].sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
    return { committed: byPartition(offsets?.partitions ?? []), ends: byPartition(ends) };
  } finally {
    await admin.disconnect();
  }
}

describe("two pa instances sharing a topic's processing while payments arrive", () => {
  it("store every payment, dead-letter every poison record and commit the end of every partition across a join and a leave", async () => {
    const topic = uniqueTopic("shared-handover");
    await createTopics(bootstrap, [topic], PARTITIONS);
    schema = `pa_handover_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`).finally(() => admin.end());
    const groupId = `test-handover-${randomBytes(4).toString("hex")}`;
    const env = {
      KAFKA_TOPIC: topic,
      SHARE_PROCESSING: "true",
      KAFKA_GROUP_ID: groupId,
      KAFKA_AUTO_OFFSET_RESET: "earliest",
      DATABASE_URL: `${baseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    };
    const first = await startPa(bootstrap, env);
    running.push(first);
    await waitUntil(() => first.app.hub.processedPartitions(topic).length === PARTITIONS, 30_000);

    const generator = createPaymentGenerator({ seed: 20 });
    const validIds = new Set<string>();
    const poisonKeys = new Set<string>();
    let sent = 0;
    const producing = (async () => {
      for (let batch = 0; batch < BATCHES; batch++) {
        const messages: TestMessage[] = [];
        for (let i = 0; i < BATCH; i++) {
          if (i === 50) {
            const key = `poison-${batch}`;
            poisonKeys.add(key);
            messages.push({ key, value: "{not json" });
          } else {
            const record = generator.valid();
            validIds.add(record.key);
            messages.push(record);
          }
        }
        await produce(bootstrap, topic, messages);
        sent += messages.length;
        await sleep(50);
      }
    })();

    // The second joins while the first is busy: partitions are revoked from it mid-work.
    await waitUntil(() => sent >= (BATCHES / 3) * BATCH, 60_000);
    const second = await startPa(bootstrap, env);
    running.push(second);
    await waitUntil(
      () =>
        first.app.hub.processedPartitions(topic).length > 0 &&
        second.app.hub.processedPartitions(topic).length > 0 &&
        first.app.hub.processedPartitions(topic).length + second.app.hub.processedPartitions(topic).length ===
          PARTITIONS,
      60_000,
    );

    // The first leaves while payments still arrive: the second takes every partition over.
    await waitUntil(() => sent >= ((2 * BATCHES) / 3) * BATCH, 60_000);
    await first.stop();
    running.splice(running.indexOf(first), 1);
    await producing;
    await waitUntil(() => second.app.hub.processedPartitions(topic).length === PARTITIONS, 60_000);

    // Every payment stored, once (upserts by id; the rows name where each came from).
    const client = grpcClient(second.baseUrl);
    let stored = 0;
    await waitUntil(
      async () => {
        stored = (await client.listPayments({ topic, limit: 1 })).totalCount;
        return stored === validIds.size;
      },
      120_000,
      () => `the store has ${stored} of ${validIds.size} payments`,
    );
    const db = new pg.Client({ connectionString: baseUrl });
    await db.connect();
    try {
      const rows = await db.query<{ id: string }>(`SELECT id FROM ${schema}.payments WHERE topic = $1`, [
        topic,
      ]);
      expect(new Set(rows.rows.map((row) => row.id))).toEqual(validIds);
    } finally {
      await db.end();
    }

    // Every poison record dead-lettered (at least once: a letter in flight at a hand-over may be
    // sent again by the next owner), no valid payment among the letters.
    const letters = await readTopicUntil(bootstrap, `${topic}.dlq`, (records) => {
      const keys = new Set(records.map((record) => record.key));
      return [...poisonKeys].every((key) => keys.has(key));
    });
    expect(letters.every((letter) => poisonKeys.has(letter.key))).toBe(true);

    // No commit left behind: once the view has drained, the group has committed the end of every
    // partition (a commit cut by a rebalance was retried, or made by the next owner).
    let position = { committed: [] as number[], ends: [] as number[] };
    await waitUntil(
      async () => {
        position = await groupPosition(groupId, topic);
        return (
          position.committed.length === PARTITIONS &&
          position.committed.every((offset, p) => offset === position.ends[p])
        );
      },
      30_000,
      () => `committed ${position.committed.join(",")}, ends ${position.ends.join(",")}`,
    );
    // Visible from outside: the partitions processed here and the commit lag beside the view's.
    const status = (await client.getTopics({})).details.find((s) => s.topic === topic);
    expect(status).toMatchObject({ viewLag: 0n, commitLag: 0n, processedPartitions: [0, 1, 2, 3, 4, 5] });
    const readyz = (await (await fetch(`${second.baseUrl}/readyz`)).json()) as Record<string, unknown>;
    expect(readyz).toMatchObject({
      viewLag: { [topic]: 0 },
      commitLag: { [topic]: 0 },
      processedPartitions: { [topic]: [0, 1, 2, 3, 4, 5] },
    });
    const metrics = parsePrometheusText(await (await fetch(`${second.baseUrl}/metrics`)).text());
    expect(sampleValue(metrics, "pa_processed_partitions", { topic })).toBe(PARTITIONS);
    expect(sampleValue(metrics, "pa_commit_lag_records", { topic })).toBe(0);
  }, 300_000);
});
