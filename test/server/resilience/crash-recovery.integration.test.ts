// kill -9 twice while pa works through 20,000 payments and 200 poison records, arriving far faster
// than its view (the store following the log) can write them, then a last restart. Payments are
// streamed before they are stored, but offsets are committed only after the view stored them or
// their dead letters were acknowledged, so afterwards GetPayment finds every valid payment, every
// poison record has a dead letter (duplicates allowed) and no valid payment has one, and a client
// that resumes with its last cursor has seen every valid payment exactly once, in partition order.
// pa runs as its own process here, as users run it.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { appendFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type PaymentEvent, StreamStart } from "../../../gen/payment/payment_pb.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, uniqueTopic } from "../../support/kafka.js";
import { isolatedPostgres } from "../../support/postgres-schema.js";
import { waitUntil } from "../../support/streams.js";
import { position, readTopicUntil } from "./kafka-records.js";
import { expectDeadLetters, expectExactlyOnceInOrder, MixedTraffic, TestProducer } from "./mixed-traffic.js";

const bootstrap = inject("kafkaBootstrap");
// A schema of its own: other tests store payments with the same (seeded) ids.
const postgres = isolatedPostgres(inject("postgresUrl"), "crash");
const postgresUrl = postgres.url;
beforeAll(() => postgres.create());
afterAll(() => postgres.drop());
const root = fileURLToPath(new URL("../../..", import.meta.url));
const PAYMENTS = 20_000;
const POISON = 200;
const TOTAL = PAYMENTS + POISON;

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

function spawnPa(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = "";
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      UV_THREADPOOL_SIZE: "16",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // PA_TEST_LOG_DIR keeps each run's whole output, for looking into a failure.
  const file = process.env.PA_TEST_LOG_DIR
    ? join(process.env.PA_TEST_LOG_DIR, `pa-${Date.now()}.log`)
    : undefined;
  const keep = (chunk: Buffer) => {
    if (file) appendFileSync(file, chunk);
    output += chunk;
    // Only the tail matters for a failure message; 20,000 records log a lot.
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  children.push(child);
  return { child, output: () => output };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("pa killed with SIGKILL twice during processing", () => {
  it("stores every valid payment, dead-letters every poison record, and a resuming client sees each once in order", async () => {
    const topic = uniqueTopic("sigkill");
    await createTopics(bootstrap, [topic]);
    const traffic = new MixedTraffic();
    const producer = new TestProducer(bootstrap);
    await producer.connect();
    const poisonEvery = TOTAL / POISON;
    for (let sent = 0; sent < TOTAL; sent += 2_020)
      await producer.send(topic, traffic.batch(2_020, poisonEvery));
    await producer.disconnect();

    const port = 50_000 + Math.floor(Math.random() * 5_000);
    const baseUrl = `http://127.0.0.1:${port}`;
    const env = {
      KAFKA_BROKERS: bootstrap,
      // Pinned: pa processes the topic whether or not anyone streams it.
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: `test-sigkill-${Date.now()}`,
      DATABASE_URL: postgresUrl,
      DATA_DIR: mkdtempSync(join(tmpdir(), "pa-sigkill-")),
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: String(port),
      // The check afterwards looks up all 20,000 payments as fast as pa answers.
      MAX_REQUESTS_PER_SECOND: "1000000",
    };
    const client = grpcClient(baseUrl);
    const ready = async () => (await fetch(`${baseUrl}/readyz`).catch(() => null))?.status === 200;
    const active = async () => ((await client.getTopics({}).catch(() => null))?.topics ?? []).includes(topic);
    const status = async () =>
      (await client.getTopics({}).catch(() => null))?.details.find((detail) => detail.topic === topic);

    // The client: from the earliest record, and after each crash from its last cursor.
    const events: PaymentEvent[] = [];
    let resumes = 0;
    const resumedAt: { cursor: string; afterEvents: number }[] = [];
    let reading = true;
    const reader = (async () => {
      let cursor = "";
      while (reading && events.length < traffic.validIds.size) {
        // Subscribing while pa is still starting the pinned topic's feed makes stream-hub start a
        // second feed for it (reported to the lead); the client waits until GetTopics lists it.
        if (!(await ready()) || !(await active())) {
          await sleep(100);
          continue;
        }
        try {
          const request = cursor
            ? { topic, startPosition: { case: "startCursor" as const, value: cursor } }
            : {
                topic,
                existingLimit: 0,
                startPosition: { case: "start" as const, value: StreamStart.EARLIEST },
              };
          resumedAt.push({ cursor, afterEvents: events.length });
          for await (const event of client.streamPayments(request)) {
            events.push(event);
            cursor = event.cursor;
            if (events.length >= traffic.validIds.size) break;
          }
        } catch {
          resumes++;
          await sleep(100);
        }
      }
    })();

    const killedAt: number[] = [];
    const viewLagAtKill: number[] = [];
    for (let kill = 0; kill < 2; kill++) {
      const { child, output } = spawnPa(env);
      let atKill: Awaited<ReturnType<typeof status>>;
      await waitUntil(
        // Killed mid-way: the view has stored some of what this instance streamed, not all. The
        // view writes what waited for it in one go, so it may be level with the streams between
        // two looks; the kill follows the look that saw it behind.
        async () => {
          atKill = await status();
          const read = Number(atKill?.messagesConsumed ?? 0);
          const lag = Number(atKill?.viewLag ?? 0);
          return read >= 1_500 && read - lag >= 500 && lag > 0;
        },
        90_000,
        () => output().slice(-3_000),
      );
      killedAt.push(Number(atKill?.messagesConsumed ?? 0));
      viewLagAtKill.push(Number(atKill?.viewLag ?? 0));
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    }
    const { child, output } = spawnPa(env);
    const stored = async () =>
      (await client.listPayments({ topic, limit: 1 }).catch(() => null))?.totalCount ?? 0;
    let storedNow = 0;
    let statusNow: Awaited<ReturnType<typeof status>>;
    await waitUntil(
      async () => {
        storedNow = await stored();
        statusNow = await status();
        return storedNow >= traffic.validIds.size;
      },
      180_000,
      () =>
        `stored ${storedNow} of ${traffic.validIds.size}; consumed ${statusNow?.messagesConsumed}, view lag ${statusNow?.viewLag}, commit lag ${statusNow?.commitLag}, paused "${statusNow?.pausedReason}"; pa's log ends: ${output()
          .split("\n")
          .filter((line) => !line.includes("[DLQ:"))
          .slice(-20)
          .join("\n")}`,
    );
    await waitUntil(
      () => events.length >= traffic.validIds.size,
      120_000,
      () => `client has ${events.length} of ${traffic.validIds.size}`,
    ).catch(async (error: unknown) => {
      // Which records the client missed, and where it resumed, say where to look.
      const seen = new Set(events.map((event) => event.payment?.id));
      const source = await readTopicUntil(bootstrap, topic, (records) => records.length >= TOTAL);
      const missing = source.filter((record) => traffic.validIds.has(record.key) && !seen.has(record.key));
      const where = missing.map((record) => position(record.partition, record.offset)).join(", ");
      throw new Error(`${String(error)}; missing ${where}; resumed: ${JSON.stringify(resumedAt)}`);
    });
    reading = false;
    await reader;

    // Each kill landed mid-way: that instance's view had not stored all it had streamed.
    expect(traffic.validIds.size).toBe(PAYMENTS);
    expect(traffic.invalidKeys.size).toBe(POISON);
    for (const lag of viewLagAtKill) expect(lag).toBeGreaterThan(0);
    expect(await stored()).toBe(traffic.validIds.size);
    // Every payment, one by one, as a client looks it up (this run's: the database is shared).
    const ids = [...traffic.validIds];
    const missing: string[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      const found = await Promise.all(
        ids.slice(i, i + 100).map((paymentId) => client.getPayment({ paymentId }).catch(() => undefined)),
      );
      found.forEach((payment, j) => {
        if (payment?.source?.topic !== topic) missing.push(ids[i + j] ?? "");
      });
    }
    expect(missing).toEqual([]);
    expectExactlyOnceInOrder(events, traffic.validIds);
    expect(resumes).toBeGreaterThanOrEqual(1);
    await expectDeadLetters(bootstrap, topic, traffic.invalidKeys, traffic.validIds);
    console.info(
      `SIGKILL test: ${traffic.validIds.size} valid + ${traffic.invalidKeys.size} poison; killed after ${killedAt.join(" and ")} records read, view behind by ${viewLagAtKill.join(" and ")}; client resumed ${resumes} times`,
    );
    child.kill("SIGTERM");
    await once(child, "exit");
  }, 400_000);
});
