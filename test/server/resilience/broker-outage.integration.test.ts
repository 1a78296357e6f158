// The broker killed and kept down for 10 s while pa works through a backlog. pa keeps running and
// reconnects; dead letters that cannot be produced are retried, then the dead-letter breaker opens
// and the topic pauses (no record is dead-lettered or skipped for it); afterwards a client that
// resumes where its stream ended has every valid payment once, in order. The broker is this test's
// own (scripts/kafka.sh on another port): the shared broker on 9092 is never stopped.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ConnectError } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { type PaymentEvent, StreamStart } from "../../../gen/payment/payment_pb.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, uniqueTopic } from "../../support/kafka.js";
import { isolatedPostgres } from "../../support/postgres-schema.js";
import { waitUntil } from "../../support/streams.js";
import { expectDeadLetters, expectExactlyOnceInOrder, MixedTraffic, TestProducer } from "./mixed-traffic.js";
import { type LoggedPa, startPaWithLogs } from "./pa-with-logs.js";

const run = promisify(execFile);
// A schema of its own: other tests store payments with the same (seeded) ids.
const postgres = isolatedPostgres(inject("postgresUrl"), "outage");
const postgresUrl = postgres.url;
beforeAll(() => postgres.create());
afterAll(() => postgres.drop());
const root = fileURLToPath(new URL("../../..", import.meta.url));
const KAFKA_PORT = "19192";
const bootstrap = `127.0.0.1:${KAFKA_PORT}`;
const kafka = (command: "up" | "down") =>
  run("bash", [`${root}/scripts/kafka.sh`, command], {
    env: { ...process.env, KAFKA_PORT },
    timeout: 300_000,
  });
// An abrupt stop, as when a broker's machine dies: nothing is flushed or handed over.
const killBroker = () => {
  const pid = Number(readFileSync(`${root}/.cache/kafka/broker-${KAFKA_PORT}/kafka.pid`, "utf8"));
  process.kill(pid, "SIGKILL");
};

let pa: LoggedPa | undefined;
beforeAll(async () => {
  await kafka("up");
}, 300_000);
afterEach(async () => {
  await pa?.stop();
  pa = undefined;
}, 60_000);
afterAll(async () => {
  await kafka("down");
}, 120_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Once as a lone instance, once as a member of a processing group (SHARE_PROCESSING), whose session
// expires during the outage.
describe.each([
  { shareProcessing: false, as: "alone" },
  { shareProcessing: true, as: "in a processing group" },
])("the broker down for 10 s mid-stream, pa $as", ({ shareProcessing }) => {
  it("keeps running, pauses instead of losing dead letters, and a resuming client gets everything in order", async () => {
    const topic = uniqueTopic("broker-outage");
    await createTopics(bootstrap, [topic]);
    const traffic = new MixedTraffic();
    const producer = new TestProducer(bootstrap);
    await producer.connect();
    // A backlog that pa reads (and librdkafka pre-fetches) faster than it processes it.
    for (let i = 0; i < 10; i++) await producer.send(topic, traffic.batch(2_000));
    await producer.disconnect();
    const total = traffic.validIds.size + traffic.invalidKeys.size;

    pa = await startPaWithLogs(bootstrap, {
      KAFKA_TOPIC: topic,
      DATABASE_URL: postgresUrl,
      // The first failing batch's 4 attempts open it; PoC defaults otherwise, shorter waits.
      BREAKER_THRESHOLD: "3",
      BREAKER_HALF_OPEN_AFTER: "2s",
      WRITE_ATTEMPT_TIMEOUT: "1s",
      SHARE_PROCESSING: String(shareProcessing),
    });
    const running = pa;
    const client = grpcClient(running.baseUrl);

    // Subscribing while pa is still starting the pinned topic's feed makes stream-hub start a second
    // feed for it (reported to the lead): the client starts once the pinned feed is there.
    await waitUntil(() => running.app.hub.consumedCount(topic) !== undefined, 60_000);
    if (shareProcessing) {
      await waitUntil(
        () => running.messages.some((message) => message.includes(`now processes ${topic}`)),
        60_000,
      );
    }
    // The client reads from the beginning and resumes from its cursor whenever its stream ends.
    const events: PaymentEvent[] = [];
    const endings: string[] = [];
    let reading = true;
    const reader = (async () => {
      let cursor = "";
      while (reading && events.length < traffic.validIds.size) {
        const request = cursor
          ? { topic, startPosition: { case: "startCursor" as const, value: cursor } }
          : {
              topic,
              existingLimit: 0,
              startPosition: { case: "start" as const, value: StreamStart.EARLIEST },
            };
        try {
          for await (const event of client.streamPayments(request)) {
            events.push(event);
            cursor = event.cursor;
            if (events.length >= traffic.validIds.size) break;
          }
        } catch (error) {
          const failure = ConnectError.from(error);
          endings.push(`${failure.code}: ${failure.rawMessage}`);
          cursor = failure.metadata.get("pa-resume-cursor") || cursor;
          await sleep(200);
        }
      }
    })();

    await waitUntil(() => (running.app.hub.consumedCount(topic) ?? 0) >= 2_000, 60_000);
    killBroker();
    const consumedAtStop = running.app.hub.consumedCount(topic) ?? 0;
    const stoppedAt = Date.now();

    let reasons: string[] = [];
    const readyz = async () =>
      (await fetch(`${running.baseUrl}/readyz`)).json() as Promise<{ ready: boolean; reasons: string[] }>;
    await waitUntil(
      async () => {
        reasons = (await readyz()).reasons;
        return reasons.some((reason) => /circuit breaker open/.test(reason));
      },
      30_000,
      // Once in CI the breaker never opened: what pa said about its view, DLQ and group says why.
      () =>
        `readyz: ${JSON.stringify(reasons)}; pa consumed ${consumedAtStop} of ${total} records before the kill, ` +
        `${running.app.hub.consumedCount(topic) ?? 0} now; pa said: ${running.messages
          .filter(
            (message) => /^\[(BREAKER|DLQ|GROUP|CONSUMER)/.test(message) && !/client error/.test(message),
          )
          .slice(-30)
          .join(" | ")}`,
    );
    await sleep(Math.max(0, 10_000 - (Date.now() - stoppedAt)));
    await kafka("up");

    await waitUntil(
      () => events.length >= traffic.validIds.size,
      180_000,
      () => `client has ${events.length} of ${traffic.validIds.size}; stream endings: ${endings.join(" | ")}`,
    );
    reading = false;
    await reader;
    expect(consumedAtStop).toBeLessThan(total);
    expectExactlyOnceInOrder(events, traffic.validIds);
    // The store is a view that follows the log: it may still be catching up with what was streamed.
    let stored = 0;
    await waitUntil(
      async () => {
        stored = (await client.listPayments({ topic, limit: 1 })).totalCount;
        return stored === traffic.validIds.size;
      },
      120_000,
      () => `the store has ${stored} of ${traffic.validIds.size} payments`,
    );
    await expectDeadLetters(bootstrap, topic, traffic.invalidKeys, traffic.validIds);
    await waitUntil(
      async () => (await readyz()).ready,
      60_000,
      () => `readyz: ${JSON.stringify(reasons)}`,
    );

    if (shareProcessing) {
      // The session expired while the broker was down: the partitions were lost, kept being
      // processed here meanwhile (the counts above), and the group gives them back.
      expect(running.messages.some((message) => message.startsWith(`[GROUP] Lost ${topic} partitions`))).toBe(
        true,
      );
      await waitUntil(
        () => running.messages.filter((message) => message.includes(`now processes ${topic}`)).length >= 2,
        60_000,
        () => running.messages.filter((message) => message.startsWith("[GROUP]")).join(" | "),
      );
      expect(running.messages.some((message) => message.includes("went to another instance"))).toBe(false);
    }
    // Every resume cursor pa handed out was one it accepts back (once not so in CI: see TopicFeed.cursorFor).
    expect(running.messages.filter((message) => /a stream position is not an offset/.test(message))).toEqual(
      [],
    );
    const transitions = running.messages.filter((message) => message.startsWith("[BREAKER:dlq]"));
    expect(transitions[0]).toMatch(/CLOSED -> OPEN after 3 consecutive failures/);
    expect(transitions.some((message) => /OPEN -> HALF-OPEN/.test(message))).toBe(true);
    expect(transitions.at(-1)).toMatch(/HALF-OPEN -> CLOSED/);
    expect(running.messages.some((message) => message.startsWith("[DLQ] Retry 1/3 in"))).toBe(true);
    expect(
      running.messages.some((message) => message.startsWith(`[CONSUMER:${topic}] View paused at offsets`)),
    ).toBe(true);
  }, 400_000);
});
