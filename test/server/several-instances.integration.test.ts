// Issue 20's run, scaled down: pa processes A and B (and C) share one 6-partition topic
// (SHARE_PROCESSING, one KAFKA_GROUP_ID) on a PostgreSQL database of each run's own, while 4,000
// payments and 81 poison records arrive at a steady rate and a stream client reads from A and one
// from B. A is SIGKILLed at 20 % of the records (in one run as a third instance joins, so the kill
// lands in a rebalance) and started again at 90 %; A's stream client resumes on B with the last
// cursor it saw. Afterwards: every payment stored exactly once, every poison record dead-lettered
// (counted by stable id: a copy after the kill has the same id), the group's commits at the end of
// every partition, and the failover by cursor without gap or repeat. On failure the messages name
// partitions and offsets, for the streaming core's owners.
import { randomBytes } from "node:crypto";
import { KafkaJS } from "@confluentinc/kafka-javascript";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { type PaymentEvent, StreamStart } from "../../gen/payment/payment_pb.js";
import { readDeadLetters } from "../../server/admin/dead-letter-reader.js";
import { kafkaDeadLetterSource } from "../../server/kafka/dead-letter-source.js";
import { TopicAdmin } from "../../server/kafka/topic-admin.js";
import { freePort, type PaProcess, startPaProcess } from "../cli/pa-process.js";
import { grpcClient } from "../support/clients.js";
import { createTopics, uniqueTopic } from "../support/kafka.js";
import { waitUntil } from "../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
const postgresUrl = inject("postgresUrl");
const PARTITIONS = 6;
const PAYMENTS = 4_000;
const POISON_EVERY = 50;
// 4,000 payments and 81 poison records (every 50th record).
const RECORDS = 4_081;
const PER_TICK = 20;
const TICK_MS = 100;

const processes: PaProcess[] = [];
const databases: string[] = [];

afterAll(async () => {
  await Promise.all(processes.map((pa) => pa.stop().catch(() => undefined)));
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    for (const database of databases) await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}, 60_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The i-th record: a payment, or every POISON_EVERY-th a record that is not JSON. */
function record(prefix: string, i: number): { key: string; value: string; poison: boolean } {
  if (i % POISON_EVERY === POISON_EVERY - 1)
    return { key: `${prefix}_poison_${i}`, value: `not json ${i}`, poison: true };
  const id = `${prefix}_${i}`;
  const value = JSON.stringify({
    id,
    provider: "stripe",
    amount: 100 + i,
    currency: "usd",
    status: "succeeded",
  });
  return { key: id, value, poison: false };
}

/** A stream client that keeps what it received and the cursor of its last event. */
function streamClient(baseUrl: string, topic: string, startCursor?: string) {
  const controller = new AbortController();
  const events: PaymentEvent[] = [];
  const call = grpcClient(baseUrl).streamPayments(
    startCursor
      ? { topic, existingLimit: 0, startPosition: { case: "startCursor", value: startCursor } }
      : { topic, existingLimit: 0, startPosition: { case: "start", value: StreamStart.EARLIEST } },
    { signal: controller.signal },
  );
  const ended = (async () => {
    for await (const event of call) events.push(event);
  })().catch((error: unknown) => error);
  return { events, ended, close: () => controller.abort() };
}

/** Per partition, the offsets in `events` that are not one after the previous valid event's. */
function describeOrder(events: PaymentEvent[]): string[] {
  const problems: string[] = [];
  const last = new Map<number, bigint>();
  for (const event of events) {
    const previous = last.get(event.partition);
    if (previous !== undefined && event.offset <= previous) {
      problems.push(`p${event.partition}: offset ${event.offset} after ${previous}`);
    }
    last.set(event.partition, event.offset);
  }
  return problems;
}

function exactlyOnce(what: string, events: PaymentEvent[], ids: Set<string>): void {
  const seen = new Map<string, number>();
  for (const event of events) seen.set(event.payment?.id ?? "", (seen.get(event.payment?.id ?? "") ?? 0) + 1);
  const repeated = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  const missing = [...ids].filter((id) => !seen.has(id));
  const located = (list: string[]) => list.slice(0, 5).join(", ");
  expect(repeated, `${what}: repeated, e.g. ${located(repeated)}`).toEqual([]);
  expect(missing.length, `${what}: missing, e.g. ${located(missing)}`).toBe(0);
  expect(describeOrder(events), `${what}: out of partition order`).toEqual([]);
}

interface Scenario {
  /** Instances running from the start: A, B and maybe C. */
  instances: 2 | 3;
  /** A third instance joins as A is killed, so the kill lands in the rebalance its join starts. */
  joinAtKill: boolean;
}

describe("pa instances sharing a topic, one (A) killed at 20 % and restarted at 90 %", () => {
  it.each([
    // Several times in a row: a lost range shows up in some runs and not others (issue 20 saw it
    // in 2 of 6), so one passing run proves little.
    ["two instances, run 1", { instances: 2, joinAtKill: false }],
    ["two instances, run 2", { instances: 2, joinAtKill: false }],
    ["two instances, run 3", { instances: 2, joinAtKill: false }],
    ["three instances", { instances: 3, joinAtKill: false }],
    ["two instances, A killed while a third joins (mid-rebalance)", { instances: 2, joinAtKill: true }],
  ] satisfies [string, Scenario][])(
    "%s: every payment stored once, every poison record dead-lettered, commits at the end, streams failed over by cursor",
    async (_name, scenario) => {
      const topic = uniqueTopic("several");
      await createTopics(bootstrap, [topic], PARTITIONS);
      const database = `pa_several_${randomBytes(4).toString("hex")}`;
      databases.push(database);
      const admin = new pg.Client({ connectionString: postgresUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`).finally(() => admin.end());
      const url = new URL(postgresUrl);
      url.pathname = `/${database}`;
      const groupId = `test-several-${randomBytes(4).toString("hex")}`;
      const env = {
        KAFKA_BROKERS: bootstrap,
        KAFKA_TOPIC: topic,
        KAFKA_GROUP_ID: groupId,
        KAFKA_AUTO_OFFSET_RESET: "earliest",
        SHARE_PROCESSING: "true",
        DATABASE_URL: url.toString(),
        UV_THREADPOOL_SIZE: "16",
      };
      const portA = await freePort();
      const portB = await freePort();
      const a = await startPaProcess(portA, env);
      processes.push(a);
      processes.push(await startPaProcess(portB, env));
      if (scenario.instances === 3) processes.push(await startPaProcess(await freePort(), env));
      const bUrl = `http://127.0.0.1:${portB}`;
      const onA = streamClient(`http://127.0.0.1:${portA}`, topic);
      const onB = streamClient(bUrl, topic);

      const producer = new KafkaJS.Kafka({
        kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.NOTHING },
      }).producer({ "linger.ms": 5 } as never);
      await producer.connect();
      const prefix = randomBytes(3).toString("hex");
      const validIds = new Set<string>();
      const poisonKeys = new Set<string>();
      let resumed: ReturnType<typeof streamClient> | undefined;
      let aEventsAtKill = 0;
      let restarted: Promise<void> | undefined;
      let killing: Promise<void> | undefined;
      // A dies; its stream client resumes on B right after the last event it saw.
      const killA = async () => {
        a.child.kill("SIGKILL");
        await new Promise((resolve) => a.child.once("exit", resolve));
        await onA.ended;
        aEventsAtKill = onA.events.length;
        resumed = streamClient(bUrl, topic, onA.events.at(-1)?.cursor);
      };
      try {
        for (let i = 0; i < RECORDS; i += PER_TICK) {
          const batch = Array.from({ length: Math.min(PER_TICK, RECORDS - i) }, (_, j) =>
            record(prefix, i + j),
          );
          for (const r of batch) (r.poison ? poisonKeys : validIds).add(r.key);
          await producer.send({
            topic,
            messages: batch.map(({ key, value }, j) => ({ key, value, partition: (i + j) % PARTITIONS })),
          });
          if (i < 0.2 * RECORDS && i + PER_TICK >= 0.2 * RECORDS) {
            if (scenario.joinAtKill) {
              // Killed as the newcomer is ready, while production goes on: the group is rebalancing
              // for its join (A and B hear of it at their next heartbeat, and cooperative-sticky
              // moves partitions in two rounds).
              killing = startPaProcess(await freePort(), env).then((pa) => {
                processes.push(pa);
                return killA();
              });
            } else {
              await killA();
            }
          }
          if (i < 0.9 * RECORDS && i + PER_TICK >= 0.9 * RECORDS) {
            // Started while production goes on.
            restarted = Promise.resolve(killing)
              .then(() => startPaProcess(portA, env))
              .then((pa) => {
                processes.push(pa);
              });
          }
          await sleep(TICK_MS);
        }
      } finally {
        await producer.disconnect();
      }
      await killing;
      await restarted;
      expect(validIds.size).toBe(PAYMENTS);
      expect(poisonKeys.size).toBe(81);

      // Drained: PostgreSQL holds every payment, once.
      const db = new pg.Client({ connectionString: url.toString() });
      await db.connect();
      try {
        let stored = 0;
        await waitUntil(
          async () => {
            const { rows } = await db.query("SELECT count(*)::int AS n FROM payments WHERE topic = $1", [
              topic,
            ]);
            stored = rows[0].n;
            return stored >= PAYMENTS;
          },
          90_000,
          () => `PostgreSQL holds ${stored} of ${PAYMENTS} payments`,
        );
        const { rows } = await db.query(
          "SELECT id, kafka_partition AS p, kafka_offset AS o FROM payments WHERE topic = $1",
          [topic],
        );
        const storedIds = new Set(rows.map((row: { id: string }) => row.id));
        expect(
          [...validIds].filter((id) => !storedIds.has(id)),
          "payments never stored",
        ).toEqual([]);
        expect(rows.length).toBe(PAYMENTS);
        // The counts are kept per write: a payment written twice as new would count twice.
        const counts = await db.query(
          "SELECT coalesce(sum(n), 0)::int AS n FROM payment_counts WHERE topic = $1",
          [topic],
        );
        expect(counts.rows[0].n, "payment_counts (a payment counted twice?)").toBe(PAYMENTS);
      } finally {
        await db.end();
      }

      // Every poison record dead-lettered, by stable id (a copy after the kill has the same id).
      const settings = { "bootstrap.servers": bootstrap };
      const topicAdmin = new TopicAdmin(settings);
      await topicAdmin.connect();
      try {
        let letters: Awaited<ReturnType<typeof readDeadLetters>> = [];
        await waitUntil(
          async () => {
            letters = await readDeadLetters(topic, {
              open: kafkaDeadLetterSource(settings),
              admin: topicAdmin,
            });
            return new Set(letters.map((letter) => letter.key)).size >= poisonKeys.size;
          },
          60_000,
          () =>
            `${new Set(letters.map((letter) => letter.key)).size} of ${poisonKeys.size} poison records dead-lettered`,
        );
        const ids = new Set(letters.map((letter) => letter.id));
        expect(ids.size).toBe(poisonKeys.size);
        expect(letters.filter((letter) => validIds.has(letter.key)).map((letter) => letter.id)).toEqual([]);
        console.info(`dead letters: ${letters.length} DLQ records for ${ids.size} stable ids`);

        // No commit behind the end once everything is stored.
        const ends = (await topicAdmin.offsets(topic)).map((marks) => marks.high);
        const kafka = new KafkaJS.Kafka({
          kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.NOTHING },
        });
        const groupAdmin = kafka.admin();
        await groupAdmin.connect();
        let committed: number[] = [];
        try {
          await waitUntil(
            async () => {
              const [offsets] = await groupAdmin.fetchOffsets({ groupId, topics: [topic] });
              committed = Array.from({ length: PARTITIONS }, (_, p) =>
                Number(offsets?.partitions.find((x) => x.partition === p)?.offset ?? -1),
              );
              return committed.every((offset, p) => offset === ends[p]);
            },
            30_000,
            () => `committed ${JSON.stringify(committed)}, partition ends ${JSON.stringify(ends)}`,
          );
        } finally {
          await groupAdmin.disconnect();
        }
      } finally {
        await topicAdmin.disconnect();
      }

      // Streams: B's client saw every payment once, in partition order; A's client, across the
      // failover by cursor, the same.
      await waitUntil(
        () => onB.events.length >= PAYMENTS,
        60_000,
        () => `B's client has ${onB.events.length}`,
      );
      expect(resumed, "A's client resumed on B").toBeDefined();
      const failedOver = resumed as ReturnType<typeof streamClient>;
      await waitUntil(
        () => aEventsAtKill + failedOver.events.length >= PAYMENTS,
        60_000,
        () => `A's client has ${aEventsAtKill} + ${failedOver.events.length}`,
      );
      await sleep(500);
      onB.close();
      failedOver.close();
      exactlyOnce("B's stream", onB.events, validIds);
      exactlyOnce("A's stream across the failover", [...onA.events, ...failedOver.events], validIds);
      console.info(
        `A's client: ${aEventsAtKill} events from A, then ${failedOver.events.length} from B by cursor`,
      );
    },
    240_000,
  );
});
