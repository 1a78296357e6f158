// PostgreSQL stopped for 10 s while payments stream in. pa must not lose or reorder anything and
// must not dead-letter a valid payment: the store's breaker opens, the view pauses while streams go
// on from the log, /readyz says why and how far the view lags, and the view resumes from its first
// unstored record once PostgreSQL is back. The cluster is this test's own (scripts/postgres.sh on
// another port), never the shared one.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, uniqueTopic } from "../../support/kafka.js";
import { openStream, waitUntil } from "../../support/streams.js";
import { expectDeadLetters, expectExactlyOnceInOrder, MixedTraffic, TestProducer } from "./mixed-traffic.js";
import { type LoggedPa, startPaWithLogs } from "./pa-with-logs.js";

const run = promisify(execFile);
const bootstrap = inject("kafkaBootstrap");
const script = fileURLToPath(new URL("../../../scripts/postgres.sh", import.meta.url));
// Not the shared cluster's 55432; unlikely to meet another engineer's throwaway cluster.
const PG_PORT = String(55_400 + Math.floor(Math.random() * 30));
const env = { ...process.env, PG_PORT };
const postgres = (command: "up" | "down") => run("bash", [script, command], { env, timeout: 300_000 });

let url: string;
let pa: LoggedPa | undefined;
beforeAll(async () => {
  url = (await postgres("up")).stdout.trim();
}, 300_000);
afterAll(async () => {
  await pa?.stop();
  await postgres("down");
}, 120_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("PostgreSQL stopped for 10 s mid-stream", () => {
  it("pauses the view (streams go on), loses nothing, dead-letters no valid payment, and resumes", async () => {
    pa = await startPaWithLogs(bootstrap, {
      DATABASE_URL: url,
      BREAKER_HALF_OPEN_AFTER: "2s",
      WRITE_ATTEMPT_TIMEOUT: "3s",
    });
    const running = pa;
    const topic = uniqueTopic("pg-outage");
    await createTopics(bootstrap, [topic]);
    const stream = openStream((signal) =>
      grpcClient(running.baseUrl).streamPayments({ topic, existingLimit: 0 }, { signal }),
    );
    await waitUntil(() => running.app.hub.subscriptionsOf(topic).length === 1);

    const traffic = new MixedTraffic();
    const producer = new TestProducer(bootstrap);
    await producer.connect();
    let producing = true;
    const production = (async () => {
      while (producing) {
        await producer.send(topic, traffic.batch(100));
        await sleep(200);
      }
    })();

    const readyz = async () =>
      (await fetch(`${running.baseUrl}/readyz`)).json() as Promise<{ ready: boolean; reasons: string[] }>;
    await waitUntil(() => stream.events.length >= 200, 30_000);
    await postgres("down");
    const stoppedAt = Date.now();
    let notReady: string[] = [];
    await waitUntil(
      async () => {
        notReady = (await readyz()).reasons;
        return notReady.some((reason) => /circuit breaker open/.test(reason));
      },
      20_000,
      () => `readyz: ${JSON.stringify(notReady)}`,
    );
    expect(notReady.join("\n")).toMatch(/writes to the payment store .* are failing .*circuit breaker open/);
    const health = createClient(Health, createGrpcTransport({ baseUrl: running.baseUrl }));
    expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
    // GetTopics says which topic waits, for which breaker, and why.
    const topicStatus = async () =>
      (await grpcClient(running.baseUrl).getTopics({})).details.find((d) => d.topic === topic);
    await waitUntil(async () => (await topicStatus())?.pausedReason !== "", 20_000);
    const paused = await topicStatus();
    expect(paused?.breakerState).toMatch(/open/);
    expect(paused?.pausedReason).toMatch(/payment store/);
    const deliveredWhenPaused = stream.events.length;
    await sleep(Math.max(0, 10_000 - (Date.now() - stoppedAt)));
    // Streams follow the log, not the store: they go on while the view waits, and both GetTopics
    // and /readyz say how far the view is behind.
    expect(stream.events.length).toBeGreaterThan(deliveredWhenPaused);
    expect(Number((await topicStatus())?.viewLag ?? 0)).toBeGreaterThan(0);
    const lagWhileDown = (await readyz()) as unknown as { viewLag?: Record<string, number> };
    expect(lagWhileDown.viewLag?.[topic] ?? 0).toBeGreaterThan(0);
    await postgres("up");
    await sleep(2_000);
    producing = false;
    await production;
    await producer.disconnect();

    await stream.waitFor(traffic.validIds.size, 90_000);
    // Checked while the stream still holds the topic active (it lingers only briefly after).
    await waitUntil(async () => (await topicStatus())?.breakerState === "closed", 20_000);
    expect(await topicStatus()).toMatchObject({ pausedReason: "" });
    await waitUntil(async () => (await topicStatus())?.viewLag === 0n, 30_000);
    await sleep(500);
    stream.close();
    expectExactlyOnceInOrder(stream.events, traffic.validIds);
    const page = await grpcClient(running.baseUrl).listPayments({ topic, limit: 1 });
    expect(page.totalCount).toBe(traffic.validIds.size);
    await expectDeadLetters(bootstrap, topic, traffic.invalidKeys, traffic.validIds);
    await waitUntil(async () => (await readyz()).ready, 20_000);
    expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);

    const transitions = running.messages.filter((message) => message.startsWith("[BREAKER:store]"));
    expect(transitions[0]).toMatch(/CLOSED -> OPEN after 5 consecutive failures/);
    expect(transitions.at(-1)).toMatch(/HALF-OPEN -> CLOSED/);
    expect(transitions.some((message) => /OPEN -> HALF-OPEN/.test(message))).toBe(true);
    expect(running.messages.some((message) => message.startsWith(`[STORE] Retry 1/3 in`))).toBe(true);
    expect(
      running.messages.some((message) => message.startsWith(`[CONSUMER:${topic}] View paused at offsets`)),
    ).toBe(true);
    expect(
      running.messages.some((message) => message.startsWith(`[CONSUMER:${topic}] View resumed from offsets`)),
    ).toBe(true);
  }, 240_000);
});
