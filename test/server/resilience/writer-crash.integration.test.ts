// The embedded store's writer thread killed twice while payments and poison records stream in:
// the view pauses for it and resumes by itself once a new thread runs (pa is not restarted), and
// every payment ends up stored exactly once, every poison record in the DLQ.
import { afterAll, describe, expect, inject, it } from "vitest";
import { isSqliteStore, type SqliteStore } from "../../../server/store/sqlite-store.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { waitUntil } from "../../support/streams.js";
import { expectDeadLetters, MixedTraffic, TestProducer } from "./mixed-traffic.js";

const bootstrap = inject("kafkaBootstrap");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let pa: RunningPa | undefined;
afterAll(async () => {
  await pa?.stop();
});

describe("a SQLite writer thread that dies mid-stream", () => {
  it("is replaced, the topic resumes by itself, and every payment is stored once", async () => {
    let sqlite: SqliteStore | undefined;
    pa = await startPa(
      bootstrap,
      { BREAKER_HALF_OPEN_AFTER: "1s" },
      {
        viewStore: (store) => {
          if (isSqliteStore(store)) sqlite = store;
          return store;
        },
      },
    );
    const running = pa;
    const topic = uniqueTopic("writer-crash");
    await createTopics(bootstrap, [topic]);
    const client = grpcClient(running.baseUrl);
    // Processed from the start (offset 0) once a subscriber starts the feed.
    const controller = new AbortController();
    const stream = client.streamPayments({ topic, existingLimit: 0 }, { signal: controller.signal });
    const draining = (async () => {
      try {
        for await (const _ of stream);
      } catch {
        // Aborted at the end.
      }
    })();
    await waitUntil(() => running.app.hub.subscriptionsOf(topic).length === 1);

    const traffic = new MixedTraffic();
    const producer = new TestProducer(bootstrap);
    await producer.connect();
    const stored = async () => Number((await client.listPayments({ topic, limit: 1 })).totalCount);
    try {
      for (let round = 0; round < 30; round++) {
        await producer.send(topic, traffic.batch(100));
        // Twice, each while the view is writing this topic's records (or has just written them).
        if (round === 8 || round === 20) {
          expect(sqlite, "the embedded store").toBeDefined();
          await sqlite?.crashWriter();
          // The thread is gone: whatever is stored from here on, a new thread stored. More records
          // arrive, and the view stores them without pa restarting.
          const before = await stored();
          await producer.send(topic, traffic.batch(100));
          await waitUntil(
            async () => (await stored()) > before,
            30_000,
            () => "the view resumed",
          );
        }
        await sleep(50);
      }
    } finally {
      await producer.disconnect();
    }

    let last = 0;
    await waitUntil(
      async () => {
        last = await stored();
        return last >= traffic.validIds.size;
      },
      60_000,
      () => `stored ${last} of ${traffic.validIds.size}`,
    );
    expect(await stored()).toBe(traffic.validIds.size);
    expect(sqlite?.writerRestarts).toBeGreaterThanOrEqual(2);
    const ids = [...traffic.validIds];
    for (let i = 0; i < ids.length; i += 100) {
      const found = await Promise.all(
        ids.slice(i, i + 100).map((paymentId) => client.getPayment({ paymentId }).then((p) => p.id)),
      );
      expect(found).toEqual(ids.slice(i, i + 100));
    }
    await expectDeadLetters(bootstrap, topic, traffic.invalidKeys, traffic.validIds);
    const details = async () => (await client.getTopics({})).details.find((d) => d.topic === topic);
    await waitUntil(async () => (await details())?.viewLag === 0n, 30_000);
    expect((await details())?.pausedReason).toBe("");
    controller.abort();
    await draining;
  }, 180_000);
});
